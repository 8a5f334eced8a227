"""Property tests: every valid instance of a vendored request schema round-trips through the generated model,
and instances broken in one place are rejected before anything could be sent."""

from __future__ import annotations

from typing import Any

import manifest_support
import pytest
from contract_support import api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel

from codegen.pipeline import ir
from kling_sdk.errors import InvalidRequestError

# every operation with a request body of every (provider, model) client: a provider-level one once
SUBMITS = [
    (p, u, op) for p in api().providers for u in p.units for op in u.operations if op.request and op.model == u.model
]
ids = [f"{p.name}.{u.module}.{op.name}" for p, u, op in SUBMITS]
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def effective_schema(unit: ir.Unit, op: ir.Operation) -> dict[str, Any]:
    """The vendored request schema parts as one closed object, with what the manifest adds: constants and the
    constraints of overrides (the model rejects unknown fields, so instances carry only declared ones)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in op.request_schema:
        assert isinstance(part, dict)
        properties.update(part.get("properties", {}))
        required += [r for r in part.get("required", []) if r not in required]
    for name, value in op.constants:
        properties[name] = {"const": value}
        required.append(name) if name not in required else None
    model = next(m for m in unit.models if m.name == op.request)
    for field in model.fields:
        for c in field.constraints:
            target = properties.get(field.wire_name)
            if isinstance(target, dict) and "anyOf" in target:
                target = next((s for s in target["anyOf"] if s.get("type") == "array"), target)
            if isinstance(target, dict):
                target.setdefault(c.keyword, c.value)
    return _closed({"type": "object", "properties": properties, "required": required})


def _closed(schema: Any) -> Any:
    """The schema with every object that declares properties closed, as the models are at every depth."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    found = {k: _closed(v) if k not in ("enum", "const", "default", "examples") else v for k, v in schema.items()}
    if "properties" in found and "additionalProperties" not in found:
        found["additionalProperties"] = False
    return found


def model_class(provider: ir.Provider, unit: ir.Unit, op: ir.Operation) -> type[BaseModel]:
    cls: type[BaseModel] = manifest_support.model_class(provider.name, op.request or "", unit.model)
    return cls


@pytest.mark.parametrize(("provider", "unit", "op"), SUBMITS, ids=ids)
def test_valid_instances_round_trip_through_the_model(provider: ir.Provider, unit: ir.Unit, op: ir.Operation) -> None:
    schema = effective_schema(unit, op)
    cls = model_class(provider, unit, op)

    @PROFILE
    @given(from_schema(schema))
    def check(instance: dict[str, Any]) -> None:
        model = cls.model_validate(instance)
        assert model.to_wire() == instance  # type: ignore[attr-defined]

    check()


def _types(schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for node in [schema, *schema.get("anyOf", [])]:
        kind = node.get("type")
        found |= set(kind) if isinstance(kind, list) else {kind} if kind else set()
    return found


def _broken(schema: dict[str, Any], constants: set[str]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A valid instance with exactly one thing wrong: a bad type, enum value, length, a missing or unknown field.

    Constants (the model id) may be left out: the client fills them in.
    """
    properties = schema["properties"]

    def breakages(instance: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        out = [("unknown field", {**instance, "zz_not_in_the_schema": 1})]
        for name in (n for n in schema["required"] if n not in constants):
            out.append((f"missing {name}", {k: v for k, v in instance.items() if k != name}))
        for name, prop in properties.items():
            kinds = _types(prop)
            if "enum" in prop or "const" in prop:
                values = prop.get("enum") or [prop.get("const")]
                numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                outside = "__not_listed__" if isinstance(values[0], str) else max(numbers, default=6) + 1
                out.append((f"{name} not in enum", {**instance, name: outside}))
            if kinds & {"string"} and not kinds & {"array", "integer", "number", "boolean"}:
                out.append((f"{name} as a list", {**instance, name: [1]}))
            if "maxLength" in prop:
                out.append((f"{name} too long", {**instance, name: "x" * (prop["maxLength"] + 1)}))
            if kinds & {"integer", "number"}:
                out.append((f"{name} as text", {**instance, name: "not a number"}))
            if kinds & {"boolean"}:
                out.append((f"{name} as text", {**instance, name: "maybe"}))
        return out

    return from_schema(schema).flatmap(lambda instance: st.sampled_from(breakages(instance)))


@pytest.mark.parametrize(("provider", "unit", "op"), SUBMITS, ids=ids)
def test_instances_broken_in_one_place_are_rejected(provider: ir.Provider, unit: ir.Unit, op: ir.Operation) -> None:
    schema = effective_schema(unit, op)
    cls = model_class(provider, unit, op)

    model = next(m for m in unit.models if m.name == op.request)
    constants = {f.wire_name for f in model.fields if f.constant}

    @PROFILE
    @given(_broken(schema, constants))
    def check(case: tuple[str, dict[str, Any]]) -> None:
        what, instance = case
        with pytest.raises(InvalidRequestError):
            cls.model_validate(instance)
            pytest.fail(f"accepted although {what}: {instance}")

    check()
