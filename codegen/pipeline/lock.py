"""specs/lock.json: where each vendored document came from (url, sha256, date, origin); refreshed by `codegen lock`.

`codegen lock` writes an entry for every file the manifest names: a new entry says `transcribed from <url>` (the
spec's source URL, else the provider's docs_url) or, with `--origin fetched`, `fetched`; an existing entry keeps its
origin, url and note and only gets the new sha256 and date when the file changed. Entries of files the manifest no
longer names are pruned. `codegen check` fails on an entry without a vendored file and on a file without an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codegen.pipeline.diagnostics import GenerationError, Location
from codegen.pipeline.manifest import Manifest, ProviderDecl, SpecSource
from codegen.pipeline.specs import read_regular

ORIGINS = ("transcribed", "fetched")
LOCK_VERSION = 1


@dataclass
class LockUpdate:
    """The lock document `codegen lock` would write, and what changed in it."""

    document: dict[str, Any]
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the lock file would change."""
        return bool(self.added or self.updated or self.pruned)


def read_document(lock_path: Path) -> dict[str, Any]:
    """The whole lock document ({"version": 1, "files": {}} when there is none yet)."""
    if not lock_path.exists():
        return {"version": LOCK_VERSION, "files": {}}
    try:
        data = json.loads(read_regular(lock_path, Location(lock_path.name)))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenerationError(Location(lock_path.name), f"invalid lock file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        raise GenerationError(Location(lock_path.name), "invalid lock file: expected an object with `files`")
    return data


def read_entries(lock_path: Path) -> dict[str, dict[str, Any]]:
    """The lock's entries by vendored path ({} when there is no lock)."""
    files: dict[str, dict[str, Any]] = read_document(lock_path).get("files", {})
    return files


def named_files(
    manifest: Manifest, providers: Sequence[str] | None = None
) -> dict[str, tuple[ProviderDecl, SpecSource]]:
    """Every vendored file the manifest names (of the selected providers), with its provider and declaration."""
    for name in providers or ():
        manifest.provider(name)
    return {
        source.path: (decl, source)
        for decl in manifest.providers
        if not providers or decl.name in providers
        for source in decl.specs
    }


def new_entry(decl: ProviderDecl, source: SpecSource, sha256: str, date: str, origin: str) -> dict[str, Any]:
    """The entry of a file the lock does not know yet."""
    url = source.url or decl.docs_url
    if origin == "fetched":
        how = "fetched" if source.extract is None else f"fetched, extracted {source.extract}"
    else:
        how = f"transcribed from {url}" if url else "transcribed (the manifest names no source or docs URL)"
    entry: dict[str, Any] = {"provider": decl.name}
    if url:
        entry["url"] = url
    entry.update({"sha256": sha256, "date": date, "origin": how})
    return entry


def refresh(
    manifest: Manifest, providers: Sequence[str] | None, origin: str = "transcribed", today: str | None = None
) -> LockUpdate:
    """The lock refreshed for the selected providers' files, without entries of files no longer named; unwritten.

    Entries of files the manifest no longer names are pruned: those of the selected providers, or all of them when
    none is selected.
    """
    if origin not in ORIGINS:
        raise GenerationError(None, f"--origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    date = today or datetime.now(UTC).date().isoformat()
    document = read_document(manifest.lock)
    entries: dict[str, Any] = dict(document.get("files", {}))
    update = LockUpdate({**document, "version": document.get("version", LOCK_VERSION), "files": entries})
    every = named_files(manifest)
    for path, (decl, source) in named_files(manifest, providers).items():
        vendored = manifest.root / path
        if not vendored.is_file():
            raise GenerationError(
                Location("providers.toml").child("providers", decl.name, "specs", source.id),
                f"{path} is named but not vendored: add the file, or remove it from the manifest",
            )
        sha256 = hashlib.sha256(read_regular(vendored, Location(path))).hexdigest()
        entry = entries.get(path)
        if entry is None:
            entries[path] = new_entry(decl, source, sha256, date, origin)
            update.added.append(path)
        elif entry.get("sha256") != sha256 or entry.get("provider") != decl.name:
            entries[path] = {**entry, "provider": decl.name, "sha256": sha256, "date": date}
            update.updated.append(path)
        else:
            update.unchanged.append(path)
    for path, entry in list(entries.items()):
        mine = not providers or entry.get("provider") in providers
        if mine and path not in every:
            del entries[path]
            update.pruned.append(path)
    return update


def write(manifest: Manifest, update: LockUpdate) -> None:
    """Write the lock atomically (a temporary sibling renamed into place)."""
    text = json.dumps(update.document, indent=2, ensure_ascii=False) + "\n"
    manifest.lock.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=manifest.lock.parent, prefix=f".{manifest.lock.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, manifest.lock.stat().st_mode & 0o777 if manifest.lock.exists() else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(name, manifest.lock)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def out_of_step(manifest: Manifest, providers: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(path, why) for each lock entry without a vendored file, and each named file without an entry.

    Only the selected providers' files and entries count when some are selected; `codegen lock` brings them in step.
    """
    entries = read_entries(manifest.lock)
    every = named_files(manifest)
    found = [
        (path, "vendored file has no lock entry (url, sha256, date, origin)")
        for path in named_files(manifest, providers)
        if path not in entries
    ]
    for path, entry in entries.items():
        if providers and entry.get("provider") not in providers:
            continue
        if path not in every:
            found.append((path, "lock entry of a file the manifest does not name"))
        elif not (manifest.root / path).is_file():
            found.append((path, "lock entry of a file that is not vendored"))
    return found


def stale_digests(manifest: Manifest, paths: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(path, entry) for each vendored file that differs from the copy its lock entry records."""
    entries = read_entries(manifest.lock)
    found = []
    for path in paths:
        entry = entries.get(path)
        vendored = manifest.root / path
        if entry is not None and vendored.is_file():
            if entry.get("sha256") != hashlib.sha256(read_regular(vendored, Location(path))).hexdigest():
                found.append((path, entry))
    return found
