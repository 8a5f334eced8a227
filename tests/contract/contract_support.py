"""Shared by the contract suite: recorded fixtures, the IR of the vendored specs, and schema checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from codegen import ir
from codegen.diagnostics import Diagnostics
from codegen.manifest import load
from codegen.parse import build_api

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Fixture:
    """One recorded exchange file: tests/fixtures/<provider>/<scenario>.json."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.path.stem}"

    @property
    def provider(self) -> str:
        return str(self.data["provider"])

    @property
    def operation(self) -> str:
        return str(self.data["call"]["operation"])


def load_fixtures(root: Path = FIXTURES) -> list[Fixture]:
    """Every fixture under `root`, sorted by name."""
    return [Fixture(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(root.glob("*/*.json"))]


@cache
def api(manifest: Path = ROOT / "providers.toml") -> ir.Api:
    """The IR of the vendored specs (what `codegen generate` compiles)."""
    return build_api(load(manifest), None, Diagnostics())


def operation(provider: str, name: str, manifest: Path = ROOT / "providers.toml") -> ir.Operation:
    """One declared operation of a provider."""
    found = next(p for p in api(manifest).providers if p.name == provider)
    return next(op for op in found.operations if op.name == name)


def closed_request_schema(op: ir.Operation) -> dict[str, Any]:
    """The operation's vendored request schema parts, where a property no part declares is an error."""
    return {"allOf": list(op.request_schema), "unevaluatedProperties": False}


def pointer_of(error: Any) -> str:
    """The JSON pointer a jsonschema error is about (for a missing or unexpected property: that property)."""
    tokens = [str(t) for t in error.absolute_path]
    if error.validator == "required":
        missing = [n for n in error.validator_value if not isinstance(error.instance, dict) or n not in error.instance]
        tokens += missing[:1]
    elif error.validator in ("unevaluatedProperties", "additionalProperties"):
        unexpected = re.findall(r"'([^']+)'", error.message)
        tokens += unexpected[:1]
    return "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens)


def schema_problems(fixture: Fixture, manifest: Path = ROOT / "providers.toml") -> list[str]:
    """Where a fixture's bodies break the vendored schemas: '<fixture>: <request|response> body <pointer>: <why>'."""
    import jsonschema

    op = operation(fixture.provider, fixture.operation, manifest)
    # Pointers where the provider's docs and its own schema disagree, each with the reason in the fixture.
    conflicts = tuple(fixture.data.get("spec_conflicts", {}))
    problems = []
    for n, exchange in enumerate(fixture.data["exchanges"]):
        checks = []
        body = exchange["request"].get("json")
        # extra_body deliberately sends what the schema does not declare
        if body is not None and op.request_schema and "extra_body" not in fixture.data["call"]:
            checks.append(("request", body, closed_request_schema(op)))
        response = exchange["response"]
        if 200 <= response["status"] < 300 and op.response_schema is not None:
            checks.append(("response", response["json"], op.response_schema))
        for side, instance, schema in checks:
            validator = jsonschema.Draft202012Validator(schema)
            for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
                pointer = pointer_of(error)
                if side == "response" and any(pointer == c or pointer.startswith(c + "/") for c in conflicts):
                    continue
                where = f" (exchange {n})" if len(fixture.data["exchanges"]) > 1 else ""
                problems.append(f"{fixture.name}{where}: {side} body {pointer}: {error.message}")
    return problems
