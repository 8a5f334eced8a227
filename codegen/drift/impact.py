"""What candidate specs would change in the SDK: classes, fields, methods, the semver bump, fixtures that break."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen import generate
from codegen.drift.fixtures import load_fixtures, schema_problems
from codegen.pipeline import ir
from codegen.pipeline.diagnostics import Diagnostics, GenerationError
from codegen.pipeline.manifest import Manifest
from codegen.pipeline.parse import build_api

BUMPS = ("none", "patch", "minor", "major")
_ANNOTATION_ONLY = frozenset({"description", "title", "examples"})  # documentation, not API


@dataclass(frozen=True)
class SurfaceChange:
    """One change to the public surface of the generated package."""

    change: str  # class-added, field-removed, method-changed, ...
    symbol: str  # kling_sdk.fal.models.ImageToVideoRequest.duration
    detail: str
    bump: str


@dataclass(frozen=True)
class FixtureBreak:
    """A recorded fixture that matches the vendored schemas but not the candidates."""

    fixture: str
    problems: tuple[str, ...]


@dataclass
class Impact:
    """The consequences of adopting the candidates."""

    surface: list[SurfaceChange] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    fixtures: list[FixtureBreak] = field(default_factory=list)
    fixtures_checked: int = 0
    generation_error: GenerationError | None = None
    version: str | None = None

    @property
    def semver(self) -> str:
        """The bump the SDK's version needs: none, patch, minor or major."""
        if self.generation_error is not None:
            return "major"
        bump = "patch" if self.files else "none"
        for item in self.surface:
            bump = max(bump, item.bump, key=BUMPS.index)
        return bump

    @property
    def next_version(self) -> str | None:
        """The version after the bump (in 0.x a breaking change bumps the minor number)."""
        return next_version(self.version, self.semver) if self.version else None


def assess(
    manifest: Manifest,
    providers: Sequence[str],
    candidates: Mapping[str, bytes],
    fixtures_dir: Path | None,
    base: Mapping[str, bytes] | None = None,
) -> Impact:
    """Render the SDK from the vendored specs (or `base`) and from the candidates, and compare the two."""
    only = None if len(providers) == len(manifest.providers) else frozenset(providers)
    impact = Impact(version=manifest.distribution.version)
    try:
        candidate_files = generate(manifest, only, overlay=candidates, verify=False)
    except GenerationError as exc:
        impact.generation_error = exc
        return impact
    base_files = generate(manifest, only, overlay=base, verify=False)
    impact.files = sorted(
        p for p in base_files.keys() | candidate_files.keys() if base_files.get(p) != candidate_files.get(p)
    )
    impact.surface = compare_surfaces(
        {p: v for p, v in base_files.items() if isinstance(v, str)},
        {p: v for p, v in candidate_files.items() if isinstance(v, str)},
    )
    if fixtures_dir is not None and fixtures_dir.is_dir():
        # The fixtures are checked against the schemas of the IR, which generate() does not hand out: parse again.
        base_api = build_api(manifest, only, Diagnostics(), overlay=base)
        candidate_api = build_api(manifest, only, Diagnostics(), overlay=candidates)
        impact.fixtures, impact.fixtures_checked = broken_fixtures(fixtures_dir, base_api, candidate_api)
    return impact


def broken_fixtures(fixtures_dir: Path, base: ir.Api, candidate: ir.Api) -> tuple[list[FixtureBreak], int]:
    """Fixtures with problems under the candidate schemas that they do not have under the vendored ones."""
    in_scope = {p.name for p in candidate.providers}
    broken, checked = [], 0
    for fixture in load_fixtures(fixtures_dir):
        if fixture.provider not in in_scope:
            continue
        checked += 1
        before = set(schema_problems(fixture, base))
        new = [p for p in schema_problems(fixture, candidate) if p not in before]
        if new:
            broken.append(FixtureBreak(fixture.name, tuple(new)))
    return broken, checked


def compare_surfaces(base: Mapping[str, str], candidate: Mapping[str, str]) -> list[SurfaceChange]:
    """Public classes, fields and functions added, removed or changed between two renders of the package."""
    before, after = _surface(base), _surface(candidate)
    changes: list[SurfaceChange] = []
    for symbol in sorted(before.keys() | after.keys()):
        old, new = before.get(symbol), after.get(symbol)
        if old is None:
            assert new is not None
            # A new required field of a request model breaks every caller that builds one.
            required_input = new.kind == "field" and new.default is None and "RequestModel" in new.owner_bases
            changes.append(
                SurfaceChange(f"{new.kind}-added", symbol, new.display, "major" if required_input else "minor")
            )
        elif new is None:
            changes.append(SurfaceChange(f"{old.kind}-removed", symbol, old.display, "major"))
        elif old != new:
            changes.append(
                SurfaceChange(f"{old.kind}-changed", symbol, f"{old.display} → {new.display}", _bump(old, new))
            )
    return changes


def next_version(version: str, bump: str) -> str:
    """Apply a semver bump; below 1.0 a breaking change bumps the minor number and anything else the patch."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match or bump == "none":
        return version
    major, minor, patch = (int(g) for g in match.groups())
    if major == 0:
        return f"0.{minor + 1}.0" if bump == "major" else f"0.{minor}.{patch + 1}"
    if bump == "major":
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0" if bump == "minor" else f"{major}.{minor}.{patch + 1}"


# --------------------------------------------------------------------------------------------- internals
@dataclass(frozen=True)
class _Symbol:
    kind: str  # class, field, method, function
    display: str
    type: str = ""  # fields: the annotation without Field(...) metadata
    constraints: str = ""
    default: str | None = None
    owner_bases: tuple[str, ...] = ()


def _bump(old: _Symbol, new: _Symbol) -> str:
    if old.kind != "field" or old.type != new.type:
        return "major"
    if old.default is not None and new.default is None:
        return "major"  # the field became required
    return "minor"  # constraints or default: same signature, different validation or behaviour


def _surface(files: Mapping[str, str]) -> dict[str, _Symbol]:
    found: dict[str, _Symbol] = {}
    for path, text in files.items():
        if not path.endswith(".py") or any(part.startswith("_") and part != "__init__.py" for part in path.split("/")):
            continue
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = ", ".join(ast.unparse(b) for b in node.bases)
                found[f"{module}.{node.name}"] = _Symbol("class", f"class {node.name}({bases})")
                owner_bases = tuple(ast.unparse(b) for b in node.bases)
                for member in node.body:
                    _member(found, f"{module}.{node.name}", owner_bases, member)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                found[f"{module}.{node.name}"] = _Symbol("function", _signature(node))
    return found


def _member(found: dict[str, _Symbol], owner: str, owner_bases: tuple[str, ...], node: ast.stmt) -> None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and not node.target.id.startswith("_"):
        type_text, constraints = _split_annotation(node.annotation)
        default = ast.unparse(node.value) if node.value is not None else None
        display = type_text + (f" ({constraints})" if constraints else "") + (f" = {default}" if default else "")
        found[f"{owner}.{node.target.id}"] = _Symbol("field", display, type_text, constraints, default, owner_bases)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
        found[f"{owner}.{node.name}"] = _Symbol("method", _signature(node))


def _split_annotation(annotation: ast.expr) -> tuple[str, str]:
    """(type, Field constraints) of `Annotated[T, Field(...)]`, descriptions left out."""
    if (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Annotated"
        and isinstance(annotation.slice, ast.Tuple)
    ):
        first, *metadata = annotation.slice.elts
        parts = []
        for item in metadata:
            if isinstance(item, ast.Call):
                item.keywords = [k for k in item.keywords if k.arg not in _ANNOTATION_ONLY]
            if not (isinstance(item, ast.Call) and not item.args and not item.keywords):
                parts.append(ast.unparse(item))
        return ast.unparse(first), ", ".join(parts)
    return ast.unparse(annotation), ""


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"
