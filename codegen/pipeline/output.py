"""Write the rendered files into the output tree, or compare them with it (the golden-record check)."""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from codegen.pipeline.manifest import Manifest
from codegen.pipeline.render import header_hash, header_inputs

_IGNORED_PARTS = ("__pycache__",)
_IGNORED_SUFFIXES = (".pyc", ".pyo")


@dataclass
class TreeDiff:
    """How an output tree differs from what the inputs produce."""

    stale: dict[str, str] = field(default_factory=dict)  # inputs changed since generation: path -> diff
    hand_edited: dict[str, str] = field(default_factory=dict)  # same inputs, different text: path -> diff
    made_from: dict[str, str] = field(default_factory=dict)  # hand-edited path -> the inputs its header names
    missing: list[str] = field(default_factory=list)
    orphan: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when the tree equals what the inputs produce."""
        return not (self.stale or self.hand_edited or self.missing or self.orphan)

    def report(self) -> str:
        """A readable listing with unified diffs."""
        lines = []
        for label, paths in (("stale", self.stale), ("hand-edited", self.hand_edited)):
            for path, diff in paths.items():
                made_from = self.made_from.get(path)
                lines.append(f"{label}: {path}" + (f" (made from {made_from})" if made_from else ""))
                lines.append(diff)
        lines += [f"missing: {path}" for path in self.missing]
        lines += [f"orphan: {path}" for path in self.orphan]
        return "\n".join(lines)


def existing_files(output: Path, scopes: list[str]) -> set[str]:
    """Generated-tree files under the given scope directories, relative to `output`."""
    found: set[str] = set()
    for scope in scopes:
        base = output / scope
        if base.is_file():
            found.add(scope)
            continue
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if (
                path.is_file()
                and not any(p in path.parts for p in _IGNORED_PARTS)
                and path.suffix not in _IGNORED_SUFFIXES
            ):
                found.add(path.relative_to(output).as_posix())
    return found


def empty_dirs(output: Path, scopes: list[str]) -> list[str]:
    """Folders under the scope directories that hold nothing but caches, deepest first (relative to `output`).

    A removed provider's files are deleted, but its folder would stay, and an empty folder still imports as a
    namespace package: it is an orphan too.
    """
    found = []
    for scope in scopes:
        base = output / scope
        if not base.is_dir():
            continue
        for folder in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if any(p in folder.relative_to(output).parts for p in _IGNORED_PARTS):
                continue
            if not existing_files(output, [folder.relative_to(output).as_posix()]):
                found.append(folder.relative_to(output).as_posix())
    return found


def compare(files: dict[str, str | bytes], output: Path, scopes: list[str]) -> TreeDiff:
    """Compare rendered files with the tree on disk."""
    diff = TreeDiff()
    on_disk = existing_files(output, scopes)
    for path in sorted(files):
        target = output / path
        if path not in on_disk:
            diff.missing.append(path)
            continue
        expected = files[path]
        if isinstance(expected, bytes):
            if target.read_bytes() != expected:
                diff.stale[path] = (
                    f"binary file differs ({target.stat().st_size} bytes on disk, {len(expected)} generated)"
                )
            continue
        current = target.read_text(encoding="utf-8")
        if current == expected:
            continue
        text = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"{path} (on disk)",
                f"{path} (generated)",
                n=2,
            )
        )
        if header_hash(current) is not None and header_hash(current) == header_hash(expected):
            diff.hand_edited[path] = text
            if (inputs := header_inputs(expected)) is not None:
                diff.made_from[path] = inputs
        else:
            diff.stale[path] = text
    diff.orphan = sorted(on_disk - set(files)) + [f"{folder}/" for folder in empty_dirs(output, scopes)]
    return diff


def write(files: dict[str, str | bytes], output: Path, scopes: list[str]) -> list[str]:
    """Bring the tree to `files`: replace changed files atomically, delete orphans; returns what changed."""
    changed = []
    for path in sorted(files):
        target = output / path
        content = files[path]
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        if target.exists() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        changed.append(path)
    for path in sorted(existing_files(output, scopes) - set(files)):
        (output / path).unlink()
        changed.append(path)
    for folder in empty_dirs(output, scopes):  # deepest first: a removed provider's folder goes with its files
        shutil.rmtree(output / folder)
        changed.append(f"{folder}/")
    return changed


def owned_scopes(manifest: Manifest, providers: Collection[str] | None = None) -> list[str]:
    """What a generation owns in the output tree: the package and its pyproject.toml, or the providers' folders."""
    if not providers:
        return [manifest.package, "pyproject.toml"]
    return provider_scopes(manifest, providers)


def provider_scopes(manifest: Manifest, providers: Collection[str]) -> list[str]:
    """The package folders of the given providers."""
    return [f"{manifest.package}/{p.name}" for p in manifest.providers if p.name in providers]
