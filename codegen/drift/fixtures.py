"""Recorded fixtures (tests/fixtures/<provider>/<scenario>.json) and where their bodies break an operation's schemas."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.pipeline import ir
from codegen.pipeline.diagnostics import Location
from codegen.pipeline.specs import read_regular


@dataclass(frozen=True)
class Fixture:
    """One recorded exchange file: <fixtures>/<provider>/<scenario>.json."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """`<provider>/<scenario>`."""
        return f"{self.provider}/{self.path.stem}"

    @property
    def provider(self) -> str:
        """The provider the exchanges were recorded against."""
        return str(self.data["provider"])

    @property
    def operation(self) -> str:
        """The SDK operation the fixture calls."""
        return str(self.data["call"]["operation"])

    @property
    def model(self) -> str | None:
        """The neutral model whose client made the call (None: the provider's default model)."""
        model = self.data.get("model")
        return str(model) if model is not None else None


def load_fixtures(root: Path) -> list[Fixture]:
    """Every fixture under `root`, sorted by name."""
    return [Fixture(p, json.loads(read_regular(p, Location(str(p))))) for p in sorted(root.glob("*/*.json"))]


def validator(schema: Any) -> Any:
    """A JSON Schema 2020-12 validator that resolves no reference: its registry is empty and retrieves nothing."""
    import jsonschema
    from referencing import Registry

    return jsonschema.Draft202012Validator(schema, registry=Registry())


def find_operation(api: ir.Api, provider: str, name: str, model: str | None = None) -> ir.Operation | None:
    """One declared operation of a provider's client for a model (default: the provider's default model)."""
    for found in api.providers:
        if found.name == provider:
            unit = next((u for u in found.units if u.model == (model or found.default_model)), None)
            return next((op for op in unit.operations if op.name == name), None) if unit else None
    return None


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


def _undeclared(op: ir.Operation, body: Any) -> list[Any]:
    """Errors for the properties no request part declares at all."""
    declared: set[str] = set()
    for part in op.request_schema:
        properties = part.get("properties") if isinstance(part, dict) else None
        declared |= set(properties) if isinstance(properties, dict) else set()
    schema = {"properties": {name: True for name in declared}, "additionalProperties": False}
    return list(validator(schema).iter_errors(body)) if isinstance(body, dict) else []


def schema_problems(fixture: Fixture, api: ir.Api) -> list[str]:
    """Where a fixture's bodies break the schemas of `api`: '<fixture>: <request|response> body <pointer>: <why>'."""
    op = find_operation(api, fixture.provider, fixture.operation, fixture.model)
    if op is None:
        return [f"{fixture.name}: operation {fixture.operation!r} is not declared"]
    # Pointers where the provider's docs and its own schema disagree, each with the reason in the fixture.
    conflicts = tuple(fixture.data.get("spec_conflicts", {}))
    problems = []
    for n, exchange in enumerate(fixture.data["exchanges"]):
        checks: list[tuple[str, Any, Any]] = []
        body = exchange["request"].get("json")
        # extra_body deliberately sends what the schema does not declare
        if body is not None and op.request_schema and "extra_body" not in fixture.data["call"]:
            checks.append(("request", body, closed_request_schema(op)))
        response = exchange["response"]
        if 200 <= response["status"] < 300 and op.response_schema is not None:
            checks.append(("response", response["json"], op.response_schema))
        for side, instance, schema in checks:
            errors = sorted(validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
            if side == "request" and any(e.validator != "unevaluatedProperties" for e in errors):
                # A failing part drops its annotations, so every property it declares also reads as unexpected.
                errors = [e for e in errors if e.validator != "unevaluatedProperties"] + _undeclared(op, instance)
            for error in errors:
                pointer = pointer_of(error)
                if side == "response" and any(pointer == c or pointer.startswith(c + "/") for c in conflicts):
                    continue
                where = f" (exchange {n})" if len(fixture.data["exchanges"]) > 1 else ""
                problems.append(f"{fixture.name}{where}: {side} body {pointer}: {error.message}")
    return problems
