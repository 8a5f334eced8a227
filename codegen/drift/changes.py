"""Pair each vendored document with its candidate and collect the semantic changes between them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from codegen.drift.compare import (
    SEVERITIES,
    Change,
    Direction,
    Labeller,
    SchemaRoot,
    compare_json_document,
    compare_openapi,
)
from codegen.drift.fetch import schema_pointers
from codegen.pipeline.diagnostics import GenerationError, Location, reading
from codegen.pipeline.manifest import Manifest, ProviderDecl, SpecSource
from codegen.pipeline.specs import load_document, read_regular


@dataclass
class Comparison:
    """Every change found, which documents were compared, and which were not (with the reason)."""

    changes: list[Change] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def selected(manifest: Manifest, providers: Sequence[str] | None) -> list[ProviderDecl]:
    """The providers named (all when none are), each checked to exist."""
    for name in providers or ():
        manifest.provider(name)
    return [p for p in manifest.providers if not providers or p.name in providers]


def candidates_from_dir(manifest: Manifest, providers: Sequence[ProviderDecl], directory: Path) -> dict[str, bytes]:
    """Candidate bytes by vendored path, read from a directory laid out like the vendored `specs/`."""
    if not directory.is_dir():
        raise GenerationError(Location(str(directory)), "candidate directory not found")
    found: dict[str, bytes] = {}
    for decl in providers:
        for source in decl.specs:
            path = directory / _relative_to_specs(manifest, source)
            if path.is_file():
                found[source.path] = read_regular(path, Location(str(path)))
    return found


def compare(
    manifest: Manifest,
    providers: Sequence[ProviderDecl],
    candidates: Mapping[str, bytes],
    base: Mapping[str, bytes] | None = None,
) -> Comparison:
    """Compare every vendored document (or `base` copy) of `providers` that has a candidate; errors name the file."""
    result = Comparison()
    merged: dict[tuple[str, str, str, str, Direction, str], set[str]] = {}
    for decl in providers:
        for source in decl.specs:
            if source.path not in candidates:
                result.skipped.append((source.path, "no candidate"))
                continue
            if base is not None and source.path not in base:
                result.skipped.append((source.path, "not in the base directory"))
                continue
            raw = (
                base[source.path]
                if base is not None
                else read_regular(manifest.root / source.path, Location(source.path))
            )
            with reading(Location(source.path)):
                _compare_one(manifest, decl, source, raw, candidates[source.path], base is None, merged)
            result.compared.append(source.path)
    for (provider, path, pointer, kind, direction, message), operations in merged.items():
        result.changes.append(Change(provider, path, pointer, kind, direction, message, tuple(sorted(operations))))
    result.changes.sort(key=sort_key)
    return result


def _compare_one(
    manifest: Manifest,
    decl: ProviderDecl,
    source: SpecSource,
    raw: bytes,
    candidate: bytes,
    vendored: bool,
    merged: dict[tuple[str, str, str, str, Direction, str], set[str]],
) -> None:
    """Compare one document with its candidate, adding each change to `merged`."""
    old = _load(manifest, source, raw, "vendored" if vendored else "base")
    cand = _load(manifest, source, candidate, "candidate")

    def emit(pointer: str, kind: str, direction: Direction, message: str, operations: tuple[str, ...]) -> None:
        merged.setdefault((decl.name, source.path, pointer, kind, direction, message), set()).update(operations)

    try:
        if source.format == "openapi":
            compare_openapi(old, cand, emit, _labeller(decl, source))
        else:
            compare_json_document(old, cand, _roots(decl, source), emit)
    except GenerationError as exc:  # the comparison knows the pointer, not the file
        if exc.location is None or exc.location.file:
            raise
        raise GenerationError(Location(source.path, exc.location.pointer), exc.message) from None


def sort_key(change: Change) -> tuple[int, str, str, str, str]:
    """Breaking first, then by provider, document, pointer and rule."""
    return SEVERITIES.index(change.severity), change.provider, change.document, change.pointer, change.rule


def generation_failure(error: GenerationError) -> Change:
    """A candidate the generator cannot compile: reported as a breaking change at the error's location."""
    where = error.location
    document = where.file if where is not None else ""
    provider = PurePosixPath(document).parts[1] if document.startswith("specs/") else ""
    pointer = where.pointer if where is not None and where.pointer else ""
    return Change(
        provider, document, pointer, "generation-failed", "none", f"the SDK cannot be generated: {error.message}"
    )


# --------------------------------------------------------------------------------------------- internals
def _relative_to_specs(manifest: Manifest, source: SpecSource) -> PurePosixPath:
    path = PurePosixPath(source.path)
    specs_dir = PurePosixPath(manifest.lock.relative_to(manifest.root).as_posix()).parent
    try:
        return path.relative_to(specs_dir)
    except ValueError:
        return path


def _load(manifest: Manifest, source: SpecSource, raw: bytes, which: str) -> Any:
    """The parsed document (the generator's own checks: JSON, OpenAPI version); errors say which copy."""
    try:
        data = load_document(source, manifest.root, raw).data
    except GenerationError as exc:
        raise GenerationError(exc.location, f"{which} copy: {exc.message}") from None
    if source.format == "openapi" and not isinstance(data.get("paths"), dict):
        raise GenerationError(Location(source.path, "/paths"), f"{which} copy: no `paths` object")
    return data


def _labeller(decl: ProviderDecl, source: SpecSource) -> Labeller:
    names: dict[tuple[str, str], list[str]] = {}
    for op in decl.operations:
        if op.spec == source.id:
            names.setdefault((op.method.upper(), op.path), []).append(f"{decl.name}.{op.name}")

    def label(method: str, path: str) -> tuple[str, ...]:
        return tuple(names.get((method, path), ()))

    return label


def _roots(decl: ProviderDecl, source: SpecSource) -> tuple[SchemaRoot, ...]:
    groups = schema_pointers(decl, source) or (("",),)
    roots = []
    for pointers in groups:
        refs = {f"{source.id}#{pointer}" for pointer in pointers}
        users = tuple(f"{decl.name}.{op.name}" for op in decl.operations if refs & set(op.body_refs))
        roots.append(SchemaRoot(pointers[0], "request", users, alternatives=pointers))
    return tuple(roots)
