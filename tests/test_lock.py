"""`codegen lock` writes the lock entries of the vendored files; `codegen check` fails when the lock is out of step;
`codegen generate` removes a removed provider's package folder with its files."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from manifest_support import MANIFEST, generated_file, provider, providers, sdk_module, spec_sources
from repo_copy import without_provider

from codegen.cli import main

TODAY = datetime.now(UTC).date().isoformat()


def _lock(workspace: Path) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = json.loads((workspace / "specs" / "lock.json").read_text())["files"]
    return files


def _save_lock(workspace: Path, files: dict[str, dict[str, str]]) -> None:
    path = workspace / "specs" / "lock.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "files": files}, indent=2) + "\n")


def _run(workspace: Path, *args: str) -> int:
    return main([*args, "--manifest", str(workspace / "providers.toml"), "-q"])


def test_the_committed_lock_is_in_step_and_lock_changes_nothing(workspace: Path) -> None:
    before = (workspace / "specs" / "lock.json").read_bytes()
    assert set(_lock(workspace)) == {source.path for _, source in spec_sources()}
    assert _run(workspace, "lock") == 0
    assert (workspace / "specs" / "lock.json").read_bytes() == before


@pytest.mark.parametrize("origin", ["transcribed", "fetched"])
def test_a_file_without_an_entry_fails_check_and_lock_adds_it(
    workspace: Path, origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, source = spec_sources()[-1]
    files = _lock(workspace)
    del files[source.path]
    _save_lock(workspace, files)
    assert _run(workspace, "check") == 1
    assert f"lock: {source.path}: vendored file has no lock entry" in capsys.readouterr().out

    assert main(["lock", "--manifest", str(workspace / "providers.toml"), "--origin", origin]) == 0
    assert f"added   {source.path}" in capsys.readouterr().out
    entry = _lock(workspace)[source.path]
    url = source.url or provider(name).docs_url
    assert entry["provider"] == name and entry["url"] == url and entry["date"] == TODAY
    assert entry["sha256"] == hashlib.sha256((workspace / source.path).read_bytes()).hexdigest()
    expected = f"transcribed from {url}" if origin == "transcribed" else "fetched"
    assert entry["origin"] == (
        expected if origin == "transcribed" or not source.extract else f"fetched, extracted {source.extract}"
    )
    assert _run(workspace, "check") == 0


def test_an_edited_file_gets_its_new_digest_and_keeps_its_provenance(workspace: Path) -> None:
    _, source = spec_sources()[0]
    before = _lock(workspace)[source.path]
    path = workspace / source.path
    path.write_text(json.dumps({**json.loads(path.read_text()), "x-edited": True}, indent=2))
    assert _run(workspace, "lock") == 0
    after = _lock(workspace)[source.path]
    assert after["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() != before["sha256"]
    assert after["date"] == TODAY
    assert {k: v for k, v in after.items() if k not in ("sha256", "date")} == {
        k: v for k, v in before.items() if k not in ("sha256", "date")
    }  # origin, url and note kept


def test_entries_of_files_no_longer_named_fail_check_and_are_pruned(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    removed = providers()[-1]
    kept = providers()[0]
    (workspace / "providers.toml").write_text(without_provider((workspace / "providers.toml").read_text(), removed))
    assert _run(workspace, "generate") == 0
    assert _run(workspace, "check") == 1
    gone = [s.path for name, s in spec_sources() if name == removed]
    out = capsys.readouterr().out
    assert all(f"lock: {path}: lock entry of a file the manifest does not name" in out for path in gone)

    assert _run(workspace, "lock", "--provider", kept) == 0  # another provider's entries are not touched
    assert set(gone) <= set(_lock(workspace))
    assert main(["lock", "--manifest", str(workspace / "providers.toml")]) == 0
    out = capsys.readouterr().out
    assert all(f"pruned  {path}" in out for path in gone)
    assert not set(gone) & set(_lock(workspace))
    assert _run(workspace, "check") == 0


def test_a_named_file_that_is_not_vendored_is_an_error_naming_the_manifest_key(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, source = spec_sources()[0]
    (workspace / source.path).unlink()
    assert _run(workspace, "lock") == 2
    err = capsys.readouterr().err
    assert f"providers/{name}/specs/{source.id}" in err and f"{source.path} is named but not vendored" in err


def test_removing_a_provider_removes_its_package_folder(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    removed = providers()[len(providers()) // 2]
    folder = Path(generated_file(sdk_module(removed).__name__)).parent
    out_dir = workspace / "generated"
    (out_dir / folder / "__pycache__").mkdir(exist_ok=True)
    (out_dir / folder / "__pycache__" / "client.cpython-311.pyc").write_bytes(b"cache")
    (workspace / "providers.toml").write_text(without_provider((workspace / "providers.toml").read_text(), removed))
    assert main(["generate", "--manifest", str(workspace / "providers.toml")]) == 0
    assert f"deleted {out_dir / folder}/" in capsys.readouterr().out
    assert not (out_dir / folder).exists()  # no namespace package left behind
    assert _run(workspace, "check") == 1  # the lock still names the removed provider's files
    assert _run(workspace, "lock") == 0 and _run(workspace, "check") == 0


def test_an_empty_package_folder_left_behind_is_an_orphan(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stray = workspace / "generated" / MANIFEST.package / "gone_provider"
    (stray / "__pycache__").mkdir(parents=True)
    assert _run(workspace, "check") == 1
    assert f"orphan: {MANIFEST.package}/gone_provider/" in capsys.readouterr().out
    assert _run(workspace, "generate") == 0 and not stray.exists()


def test_generate_says_the_lock_is_out_of_step_but_does_not_refuse(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, source = spec_sources()[0]
    files = _lock(workspace)
    files["specs/nobody/gone.json"] = {**files.pop(source.path), "provider": "nobody"}
    _save_lock(workspace, files)
    assert _run(workspace, "generate") == 0
    err = capsys.readouterr().err
    assert re.search(rf"warning: specs/lock.json#/files/{re.escape(source.path)}: vendored file has no lock entry", err)
    assert (
        "warning: specs/lock.json#/files/specs/nobody/gone.json: lock entry of a file the manifest does not name" in err
    )
