"""Command line: `codegen generate | check | list`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from codegen import output
from codegen.diagnostics import Diagnostics, GenerationError
from codegen.manifest import Manifest, load
from codegen.parse import build_api
from codegen.render import render_files
from codegen.specs import check_lock

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codegen", description="Generate the Kling SDK from vendored provider specs.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("generate", "regenerate the SDK from providers.toml, specs/ and templates/"),
        ("check", "exit 1 if the generated tree differs from what the inputs produce"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--provider", action="append", help="only this provider (repeatable)")
        cmd.add_argument(
            "--manifest", type=Path, default=Path("providers.toml"), help="manifest (default: providers.toml)"
        )
        cmd.add_argument("--output", type=Path, help="output directory (default: the manifest's generator.output)")
        cmd.add_argument("-q", "--quiet", action="store_true", help="print warnings only")
    listing = sub.add_parser("list", help="list providers, operations and models")
    listing.add_argument("--manifest", type=Path, default=Path("providers.toml"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 drift found, 2 invalid input)."""
    args = _parser().parse_args(argv)
    diagnostics = Diagnostics()
    try:
        manifest = load(args.manifest)
        if args.command == "list":
            return _list(manifest, diagnostics)
        return _generate_or_check(manifest, args, diagnostics)
    except GenerationError as exc:
        _print_diagnostics(diagnostics)
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return EXIT_ERROR


def render(
    manifest: Manifest, providers: Sequence[str] | None, diagnostics: Diagnostics
) -> tuple[dict[str, str | bytes], list[str]]:
    """Render the files for the selected providers; returns (files, scope directories they own)."""
    only = frozenset(providers) if providers else None
    for name in only or ():
        manifest.provider(name)
    api = build_api(manifest, only, diagnostics)
    check_lock(manifest.lock, manifest.root, [f for p in api.providers for f in p.spec_files], diagnostics)
    files = render_files(api, manifest.templates, shared=only is None)
    scopes = [manifest.package] if only is None else [f"{manifest.package}/{p.name}" for p in api.providers]
    return files, scopes


def _generate_or_check(manifest: Manifest, args: argparse.Namespace, diagnostics: Diagnostics) -> int:
    started = time.perf_counter()
    files, scopes = render(manifest, args.provider, diagnostics)
    out_dir = args.output or manifest.output
    _print_diagnostics(diagnostics, quiet=args.quiet)
    elapsed = time.perf_counter() - started
    if args.command == "check":
        diff = output.compare(files, out_dir, scopes)
        if not diff.clean:
            print(diff.report())
            print(f"codegen check: {out_dir} is out of date; run `codegen generate`", file=sys.stderr)
            return EXIT_DRIFT
        if not args.quiet:
            print(f"codegen check: {len(files)} files up to date ({elapsed:.2f}s)")
        return EXIT_OK
    changed = output.write(files, out_dir, scopes)
    if not args.quiet:
        for path in changed:
            print(f"wrote {out_dir / path}" if path in files else f"deleted {out_dir / path}")
        print(f"codegen generate: {len(files)} files, {len(changed)} changed ({elapsed:.2f}s)")
    return EXIT_OK


def _list(manifest: Manifest, diagnostics: Diagnostics) -> int:
    api = build_api(manifest, None, diagnostics)
    for provider in api.providers:
        auth = f"{provider.auth.header}: {provider.auth.scheme} ${provider.auth.env}"
        print(f"{provider.name}: {provider.title}  {provider.base_url}  auth {auth}")
        print(f"  clients: {provider.class_name}Client, Async{provider.class_name}Client")
        for op in provider.operations:
            body = f"({op.request})" if op.request else "()"
            print(f"  {op.kind:<7} {op.name}{body} -> {op.response or 'dict'}   {op.method} {op.path}")
        print(f"  models: {', '.join(m.name for m in provider.models)}")
    _print_diagnostics(diagnostics, quiet=True)
    return EXIT_OK


def _print_diagnostics(diagnostics: Diagnostics, quiet: bool = False) -> None:
    for item in diagnostics.items:
        if item.level == "warning" or not quiet:
            print(item, file=sys.stderr)
