"""Shared by the contract suite: recorded fixtures, the IR of the vendored specs, and schema checks."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from codegen.drift import fixtures
from codegen.drift.fixtures import Fixture, closed_request_schema, pointer_of
from codegen.pipeline import ir
from codegen.pipeline.diagnostics import Diagnostics
from codegen.pipeline.manifest import load
from codegen.pipeline.parse import build_api

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
REDACTED = "<redacted>"
__all__ = ["Fixture", "closed_request_schema", "pointer_of"]


def load_fixtures(root: Path = FIXTURES) -> list[Fixture]:
    """Every fixture under `root`, sorted by name."""
    return fixtures.load_fixtures(root)


@cache
def api(manifest: Path = ROOT / "providers.toml") -> ir.Api:
    """The IR of the vendored specs (what `codegen generate` compiles)."""
    return build_api(load(manifest), None, Diagnostics())


def operation(provider: str, name: str, manifest: Path = ROOT / "providers.toml") -> ir.Operation:
    """One declared operation of a provider."""
    found = fixtures.find_operation(api(manifest), provider, name)
    assert found is not None, f"{provider}.{name} is not declared"
    return found


def schema_problems(fixture: Fixture, manifest: Path = ROOT / "providers.toml") -> list[str]:
    """Where a fixture's bodies break the vendored schemas: '<fixture>: <request|response> body <pointer>: <why>'."""
    return fixtures.schema_problems(fixture, api(manifest))
