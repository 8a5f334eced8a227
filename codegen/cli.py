"""Command line: `codegen generate | check | lock | list | fetch | drift | rules`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from codegen import generate
from codegen.drift.report import FAIL_ON, FORMATS
from codegen.pipeline import lock, output
from codegen.pipeline.diagnostics import (
    Diagnostics,
    GenerationError,
    KnownDefect,
    Location,
    acknowledge,
    internal_error,
)
from codegen.pipeline.manifest import Manifest, load
from codegen.pipeline.parse import build_api

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
        verbosity = cmd.add_mutually_exclusive_group()
        verbosity.add_argument("-q", "--quiet", action="store_true", help="print new warnings only")
        verbosity.add_argument(
            "-v", "--verbose", action="store_true", help="also list the known spec defects, each with its reason"
        )
    locking = sub.add_parser("lock", help="write or refresh specs/lock.json entries for the vendored files")
    locking.add_argument("--provider", action="append", help="only this provider (repeatable)")
    locking.add_argument(
        "--origin", choices=lock.ORIGINS, default="transcribed",
        help="origin of new entries: transcribed from the spec's or docs URL (default), or fetched",
    )  # fmt: skip
    locking.add_argument("--manifest", type=Path, default=Path("providers.toml"))
    locking.add_argument("-q", "--quiet", action="store_true", help="print nothing when all is well")
    listing = sub.add_parser("list", help="list providers, operations and models")
    listing.add_argument("--manifest", type=Path, default=Path("providers.toml"))
    fetch = sub.add_parser("fetch", help="fetch the providers' documents from their source URLs and vendor them")
    fetch.add_argument("--provider", action="append", help="only this provider (repeatable)")
    fetch.add_argument(
        "--dry-run", action="store_true", help="fetch and validate, report what would change, write nothing"
    )
    fetch.add_argument("--manifest", type=Path, default=Path("providers.toml"))
    fetch.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    drift = sub.add_parser("drift", help="compare the vendored specs with candidates: what changed, what it breaks")
    drift.add_argument("--provider", action="append", help="only this provider (repeatable)")
    source = drift.add_mutually_exclusive_group(required=True)
    source.add_argument("--against", type=Path, metavar="DIR", help="candidates in a directory laid out like specs/")
    source.add_argument("--live", action="store_true", help="fetch the candidates from the providers' source URLs")
    drift.add_argument("--base", type=Path, metavar="DIR", help="compare DIR (laid out like specs/) instead of specs/")
    drift.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    drift.add_argument(
        "--fail-on", choices=FAIL_ON, default="breaking", help="lowest severity that exits 1 (default: breaking)"
    )
    drift.add_argument("--fixtures", type=Path, help="recorded fixtures to re-validate (default: tests/fixtures)")
    drift.add_argument("--no-impact", action="store_true", help="skip regenerating and re-validating fixtures")
    drift.add_argument("--output", type=Path, help="write the report to this file instead of stdout")
    drift.add_argument("--manifest", type=Path, default=Path("providers.toml"))
    sub.add_parser("rules", help="list every drift rule with its severity (Markdown table)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok; 1 out of date, drift at --fail-on, or a failed fetch; 2 bad input)."""
    args = _parser().parse_args(argv)
    if args.command == "rules":
        return _rules()
    diagnostics = Diagnostics()
    manifest: Manifest | None = None
    try:
        manifest = load(args.manifest)
        if args.command == "list":
            return _list(manifest, diagnostics)
        if args.command == "lock":
            return _lock(manifest, args)
        if args.command == "fetch":
            return _fetch(manifest, args)
        if args.command == "drift":
            return _drift(manifest, args)
        return _generate_or_check(manifest, args, diagnostics)
    except GenerationError as exc:
        _print_diagnostics(diagnostics, _known_defects(manifest, args), stale=False)
        print(f"error: {exc}", file=sys.stderr)
        if args.command not in ("drift", "list"):
            print("nothing was written", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug or an input nobody foresaw: a location and exit 2, never a traceback
        _print_diagnostics(diagnostics, _known_defects(manifest, args), stale=False)
        print(f"error: {internal_error(exc)}", file=sys.stderr)
        if args.command not in ("drift", "list"):
            print("nothing was written", file=sys.stderr)
        return EXIT_ERROR


def _generate_or_check(manifest: Manifest, args: argparse.Namespace, diagnostics: Diagnostics) -> int:
    started = time.perf_counter()
    files = generate(manifest, args.provider, diagnostics=diagnostics)
    # Lock warnings are about the vendored inputs, not what they produce: the command says them, generate() does not.
    _warn_edited_specs(manifest, list(lock.named_files(manifest, args.provider)), diagnostics)
    scopes = output.owned_scopes(manifest, args.provider)
    out_dir = args.output or manifest.output
    _print_diagnostics(diagnostics, _known_defects(manifest, args), quiet=args.quiet, verbose=args.verbose)
    elapsed = time.perf_counter() - started
    unlocked = lock.out_of_step(manifest, args.provider)
    if args.command == "check":
        diff = output.compare(files, out_dir, scopes)
        if not diff.clean:
            print(diff.report())
            for line in _next_steps(diff, out_dir):
                print(f"codegen check: {line}", file=sys.stderr)
        for path, why in unlocked:
            print(f"lock: {path}: {why}")
        if unlocked:
            print(
                f"codegen check: {_lock_name(manifest)} is out of step with specs/; run `codegen lock`", file=sys.stderr
            )
        if not diff.clean or unlocked:
            return EXIT_DRIFT
        if not args.quiet:
            print(f"codegen check: {len(files)} files up to date ({elapsed:.2f}s)")
        return EXIT_OK
    for path, why in unlocked:  # generation does not depend on the lock: said, not refused
        print(f"warning: {_lock_name(manifest)}#/files/{path}: {why}; run `codegen lock`", file=sys.stderr)
    changed = output.write(files, out_dir, scopes)
    if not args.quiet:
        for path in changed:
            print(f"wrote {out_dir / path}" if path in files else f"deleted {out_dir / path}")
        print(f"codegen generate: {len(files)} files, {len(changed)} changed ({elapsed:.2f}s)")
    return EXIT_OK


def _next_steps(diff: output.TreeDiff, out_dir: Path) -> list[str]:
    """What to do about a tree that is not what the inputs produce: a hand edit is lost by regenerating."""
    steps = []
    if diff.hand_edited:
        count = len(diff.hand_edited)
        steps.append(
            f"{count} file{'s' if count != 1 else ''} in {out_dir} edited by hand: the next `codegen generate`"
            " overwrites them and the edit is lost. To keep an edit, make it in the inputs each file is made from"
            " (templates/, providers.toml, specs/: named beside it above) and run `codegen generate`;"
            " to drop it, just run `codegen generate`"
        )
    if diff.stale or diff.missing or diff.orphan:
        steps.append(f"{out_dir} is out of date with its inputs; run `codegen generate`")
    return steps


def _lock_name(manifest: Manifest) -> str:
    return (
        manifest.lock.relative_to(manifest.root).as_posix()
        if manifest.lock.is_relative_to(manifest.root)
        else str(manifest.lock)
    )


def _warn_edited_specs(manifest: Manifest, paths: list[str], diagnostics: Diagnostics) -> None:
    """Warn where a vendored file differs from the copy its lock entry records (a local edit, or a new copy)."""
    if not manifest.lock.exists():
        diagnostics.warn(
            Location(_lock_name(manifest)),
            "no lock file: the provenance of the vendored specs is not recorded",
            rule="lock-missing",
        )
        return
    for path, entry in lock.stale_digests(manifest, paths):
        diagnostics.warn(
            Location(path),
            f"differs from the copy recorded in the lock ({entry.get('origin', 'unknown origin')}, "
            f"{entry.get('date', 'no date')}): edited locally since it was vendored; `codegen lock` records it",
            rule="spec-edited",
        )


def _lock(manifest: Manifest, args: argparse.Namespace) -> int:
    update = lock.refresh(manifest, args.provider, args.origin)
    if update.changed:
        lock.write(manifest, update)
    if not args.quiet:
        for label, paths in (("added", update.added), ("updated", update.updated), ("pruned", update.pruned)):
            for path in paths:
                print(f"{label:<8}{path}")
        counts = f"{len(update.added)} added, {len(update.updated)} updated, {len(update.pruned)} pruned"
        print(f"codegen lock: {len(update.document['files'])} entries in {_lock_name(manifest)} ({counts})")
    return EXIT_OK


def _fetch(manifest: Manifest, args: argparse.Namespace) -> int:
    from codegen.drift.changes import selected
    from codegen.drift.fetch import LOOPBACK_ENV, fetch_all, write_fetched

    names = [p.name for p in selected(manifest, args.provider)]
    outcome = fetch_all(manifest, names, allow_loopback_http=os.environ.get(LOOPBACK_ENV) == "1")
    if not args.dry_run:
        write_fetched(manifest, outcome)
    current = {item.source.path: item for item in outcome.fetched}
    for item in outcome.fetched:
        for warning in item.warnings:
            print(warning, file=sys.stderr)
    for exc in outcome.failed:
        print(f"error: {exc}", file=sys.stderr)
    if not args.quiet:
        for source, why in outcome.skipped:
            print(f"skipped   {source.path}: {why}")
        for path, item in current.items():
            vendored = manifest.root / path
            same = item.not_modified or (vendored.exists() and vendored.read_bytes() == item.body)
            if path in outcome.held_back:
                print(f"held back {path}: another document of {item.provider} failed; nothing of it was written")
            elif args.dry_run and not same:
                print(f"would update {path}: sha256 {item.sha256[:12]}, {len(item.body)} bytes from {item.url}")
            elif args.dry_run or path in outcome.unchanged:
                print(f"unchanged {path}" + (" (304 Not Modified)" if item.not_modified else ""))
            else:
                print(f"updated   {path}: sha256 {item.sha256[:12]}, {len(item.body)} bytes; lock updated")
    if outcome.failed:
        print(
            f"codegen fetch: {len(outcome.failed)} document(s) failed; their provider's files are unchanged",
            file=sys.stderr,
        )
        return EXIT_DRIFT
    return EXIT_OK


def _drift(manifest: Manifest, args: argparse.Namespace) -> int:
    from codegen.drift.changes import candidates_from_dir, compare, generation_failure, selected
    from codegen.drift.impact import assess
    from codegen.drift.report import DriftReport, render

    providers = selected(manifest, args.provider)
    if args.live:
        candidates, label = _live_candidates(manifest, [p.name for p in providers]), "live"
    else:
        candidates, label = candidates_from_dir(manifest, providers, args.against), str(args.against)
    base = candidates_from_dir(manifest, providers, args.base) if args.base else None
    comparison = compare(manifest, providers, candidates, base)
    if not comparison.compared:
        raise GenerationError(None, f"no vendored document of {', '.join(p.name for p in providers)} has a candidate")
    impact = None
    if not args.no_impact:
        fixtures = args.fixtures or manifest.root / "tests" / "fixtures"
        impact = assess(manifest, [p.name for p in providers], candidates, fixtures, base)
        if impact.generation_error is not None:
            comparison.changes.insert(0, generation_failure(impact.generation_error))
    report = DriftReport(label, comparison, impact, args.fail_on)
    text = render(report, args.format)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
        counts = report.counts
        print(
            f"codegen drift: {counts['breaking']} breaking, {counts['warning']} warning, {counts['info']} info;"
            f" report written to {args.output}",
            file=sys.stderr,
        )
    else:
        print(text)
    return report.exit_code


def _rules() -> int:
    from codegen.drift.compare import DIRECTIONS, RULES

    print("| change | as a request | as a response | elsewhere |")
    print("|---|---|---|---|")
    for kind, levels in RULES.items():
        cells = [str(levels.get(direction, "")) for direction in DIRECTIONS]
        print(f"| `{kind}` | " + " | ".join(cells) + " |")
    return EXIT_OK


def _live_candidates(manifest: Manifest, providers: list[str]) -> dict[str, bytes]:
    from codegen.drift.fetch import LOOPBACK_ENV, fetch_all

    outcome = fetch_all(manifest, providers, allow_loopback_http=os.environ.get(LOOPBACK_ENV) == "1")
    if outcome.failed:
        for exc in outcome.failed:
            print(f"error: {exc}", file=sys.stderr)
        raise GenerationError(None, f"{len(outcome.failed)} document(s) could not be fetched; drift not checked")
    current = {}
    for item in outcome.fetched:
        current[item.source.path] = (manifest.root / item.source.path).read_bytes() if item.not_modified else item.body
    return current


def _list(manifest: Manifest, diagnostics: Diagnostics) -> int:
    api = build_api(manifest, None, diagnostics)
    for provider in api.providers:
        auth = f"{provider.auth.header}: {provider.auth.scheme} ${provider.auth.env}"
        print(f"{provider.name}: {provider.title}  {provider.base_url}  auth {auth}")
        print(f"  clients: {provider.class_name}Client, Async{provider.class_name}Client")
        for unit in provider.units:
            default = " (default)" if unit.model == provider.default_model else ""
            module = f"{manifest.package}.{provider.name}.{unit.module}"
            print(f"  model {unit.model}{default}: {unit.title} as {unit.model_id!r}, {module}")
            for op in unit.operations:
                body = f"({op.request})" if op.request else "()"
                print(f"    {op.kind:<7} {op.name}{body} -> {op.response or 'dict'}   {op.method} {op.path}")
            for adapter in unit.adapters:
                print(f"    neutral {adapter.task}: {', '.join(f'{f.param} -> {f.pointer}' for f in adapter.fields)}")
            print(f"    models: {', '.join(m.name for m in unit.models)}")
    _print_diagnostics(diagnostics, _known_defects(manifest, None), quiet=True)
    return EXIT_OK


def _known_defects(manifest: Manifest | None, args: argparse.Namespace | None) -> list[KnownDefect]:
    """The acknowledgements of the providers this run covers."""
    selected = getattr(args, "provider", None)
    if manifest is None:
        return []
    return [d for p in manifest.providers if not selected or p.name in selected for d in p.known_defects]


def _print_diagnostics(
    diagnostics: Diagnostics,
    defects: list[KnownDefect],
    *,
    quiet: bool = False,
    verbose: bool = False,
    stale: bool = True,
) -> None:
    """Print new defects in full, known ones as one line, and acknowledgements that match nothing.

    New warnings always, new notes unless quiet; the known ones each with its reason when verbose. A stale
    acknowledgement is reported so that it does not outlive its defect.
    """
    sorted_out = acknowledge(diagnostics.items, defects)
    new = [item for item in sorted_out.new if item.level == "warning" or not quiet]
    for item in new:
        print(f"{item} [{item.rule}]", file=sys.stderr)
    for defect in sorted_out.stale if stale else ():
        print(
            f"warning: {defect.where}: acknowledges {defect.rule} at {defect.pointer!r}, which no longer occurs: "
            "remove the entry (stale)",
            file=sys.stderr,
        )
    if verbose:
        for item in sorted_out.known:
            print(f"{item} [{item.rule}; known: {item.known}]", file=sys.stderr)
    elif sorted_out.known and not quiet:
        count = len(sorted_out.known)
        print(f"{count} known spec defect{'s' if count != 1 else ''} handled; -v lists them", file=sys.stderr)
    if any(item.level == "warning" for item in new) and not quiet:
        print(
            "new spec defects are listed in full: fix the spec, or once handled acknowledge each under"
            " [[providers.<name>.known_defects]] in the manifest (rule, pointer, reason)",
            file=sys.stderr,
        )
