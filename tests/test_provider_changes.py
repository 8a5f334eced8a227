"""A provider is data: added or removed in a copy of the repository, the whole test suite passes with no .py edited.

Two temporary copies of the repository, each changed only the way the README's "Adding a provider" and "Removing
a provider" say:

- added: one more provider speaking fal's protocol ("falmirror"): fal's manifest tables under a new name, class
  name, key variable and base URL; fal's vendored specs copied; lock entries written by `codegen lock`; fal's
  fixtures copied with the new name and base URL;
- removed: Sunra: its manifest tables, vendored specs and fixtures deleted; `codegen lock` prunes its entries.

Then `codegen generate`, `codegen lock` and `codegen check` run there, and the copy's whole test suite (this module
left out) runs against the copy's own generated package and generator, both copies at once.

Which code a copy runs: the editable install of the checkout puts two plain paths on sys.path through
`_editable_impl_kling_codegen.pth` (the checkout and its generated/), after PYTHONPATH. So PYTHONPATH=<copy>/generated:
<copy> makes the copy's `kling_sdk` and `codegen` win, for the suite and every process it starts; a probe checks it
before the suite runs (module files under the copy, the copy's provider list, a marker file only the copy's codegen
package has), so an import hook that beat PYTHONPATH would fail here instead of testing the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT
from manifest_support import FIXTURES, MANIFEST, job_field, operations, provider, providers, stream_kind, tasks
from repo_copy import copy_repository, renamed_provider, without_provider

pytestmark = pytest.mark.copies
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
SUITE_TIMEOUT = 1500  # seconds; both copies run at once


def _template() -> str:
    """The provider whose protocol the added one speaks: the richest (tasks, result operations, a status stream,
    a pending status) — fal today."""
    return max(
        providers(),
        key=lambda n: (len(tasks(n)), len(operations(n, "result")), stream_kind(provider(n)) == "status"),
    )


def _removed() -> str:
    """The provider removed: the one with facts nobody else has (uploads, no text-to-video) — Sunra today — so that
    tests about those facts must skip, not fail; else the last provider."""
    only = providers(lambda p: p.files.mode == "upload" or job_field(p, "failure_false"))
    return only[0] if only else providers()[-1]


@dataclass
class Copy:
    """A changed copy of the repository and the test suite running in it."""

    root: Path
    env: dict[str, str]
    expected_providers: list[str]
    added: list[str]
    removed: list[str]
    process: subprocess.Popen[str] | None = None
    log: Path | None = None

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KLING_")) and k != "PYTHONPATH"}
    env["PYTHONPATH"] = f"{root / 'generated'}{os.pathsep}{root}"
    return env


def _with_added(target: Path) -> Copy:
    name = _template()
    decl = provider(name)
    new = f"{name}mirror"
    base_url = f"https://queue.{new}.example"
    root = copy_repository(ROOT, target, leave_out=(THIS,))
    manifest = root / "providers.toml"
    tables = renamed_provider(
        manifest.read_text(), name, new,
        {
            f'title = "{decl.title}"': f'title = "{decl.title} mirror"',
            f'class_name = "{decl.class_name}"': f'class_name = "{decl.class_name}Mirror"',
            f'env = "{decl.auth.env}"': f'env = "{new.upper()}_KEY"',
            f'base_url = "{decl.base_url}"': f'base_url = "{base_url}"',
            f"specs/{name}/": f"specs/{new}/",
        },
    )  # fmt: skip
    manifest.write_text(manifest.read_text().rstrip("\n") + "\n\n" + tables)
    shutil.copytree(root / "specs" / name, root / "specs" / new)
    for path in sorted((FIXTURES / name).rglob("*.json")):  # the recorded fixtures, for the mirror's host
        data = json.loads(path.read_text(encoding="utf-8"))
        if "provider" in data:
            data["provider"] = new
        text = json.dumps(data, indent=2, ensure_ascii=False).replace(decl.base_url, base_url) + "\n"
        out = root / "tests" / "fixtures" / new / path.relative_to(FIXTURES / name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return Copy(root, _environment(root), [*providers(), new], [new], [])


def _with_removed(target: Path) -> Copy:
    name = _removed()
    root = copy_repository(ROOT, target, leave_out=(THIS,))
    manifest = root / "providers.toml"
    manifest.write_text(without_provider(manifest.read_text(), name))
    for source in provider(name).specs:
        (root / source.path).unlink()
    for folder in {(root / s.path).parent for s in provider(name).specs}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    shutil.rmtree(root / "tests" / "fixtures" / name)
    return Copy(root, _environment(root), [p for p in providers() if p != name], [], [name])


def _prepare(copy: Copy) -> None:
    """What a user runs after the edit, then the proof that the copy runs its own code and edited no .py file."""
    for step in (["-m", "codegen", "generate", "-q"], ["-m", "codegen", "lock"], ["-m", "codegen", "check", "-q"]):
        done = copy.run(*step)
        assert done.returncode == 0, f"{' '.join(step)} in {copy.root}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    edited = [
        path.relative_to(copy.root).as_posix()
        for path in copy.root.rglob("*.py")
        if "generated" not in path.relative_to(copy.root).parts
        and (
            not (ROOT / path.relative_to(copy.root)).exists()
            or (ROOT / path.relative_to(copy.root)).read_bytes() != path.read_bytes()
        )
    ]
    assert edited == [], f"a .py file was edited in the copy: {edited}"
    marker = uuid.uuid4().hex
    (copy.root / "codegen" / ".copy-marker").write_text(marker)
    probe = (
        "import importlib.util, json, pathlib, codegen, kling_sdk\n"
        "print(json.dumps({'kling_sdk': kling_sdk.__file__, 'codegen': codegen.__file__,\n"
        "  'marker': (pathlib.Path(codegen.__file__).parent / '.copy-marker').read_text(),\n"
        "  'providers': list(kling_sdk.PROVIDERS),\n"
        f"  'importable': {{n: importlib.util.find_spec('{MANIFEST.package}.' + n) is not None for n in {copy.added + copy.removed!r}}}}}))\n"
    )
    seen = json.loads(copy.run("-c", probe).stdout)
    assert Path(seen["kling_sdk"]).is_relative_to(copy.root) and Path(seen["codegen"]).is_relative_to(copy.root), seen
    assert seen["marker"] == marker and seen["providers"] == copy.expected_providers, seen
    assert seen["importable"] == {**dict.fromkeys(copy.added, True), **dict.fromkeys(copy.removed, False)}, seen


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Copy]]:
    """Both copies prepared, their test suites started at once; stopped if still running at the end."""
    base = tmp_path_factory.mktemp("copies")
    made = {"added": _with_added(base / "added"), "removed": _with_removed(base / "removed")}
    for label, copy in made.items():
        _prepare(copy)
        copy.log = base / f"{label}.log"
        with copy.log.open("w") as log:
            copy.process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=copy.root, env=copy.env, stdout=log, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
    yield made
    for copy in made.values():
        if copy.process is not None and copy.process.poll() is None:
            copy.process.kill()
            copy.process.wait(30)


def _suite_passes(copy: Copy) -> None:
    assert copy.process is not None and copy.log is not None
    try:
        code = copy.process.wait(SUITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        copy.process.kill()
        pytest.fail(f"the suite in {copy.root} did not finish in {SUITE_TIMEOUT} s")
    output = copy.log.read_text()
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    assert code == 0, f"the suite failed in {copy.root}:\n{output[-6000:]}"
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary


def test_another_provider_speaking_a_known_protocol_needs_no_python(copies: dict[str, Copy]) -> None:
    _suite_passes(copies["added"])


def test_removing_a_provider_needs_no_python(copies: dict[str, Copy]) -> None:
    _suite_passes(copies["removed"])
