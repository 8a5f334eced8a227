"""Generated models accept documented bodies, reject invalid input before any request, and tolerate new responses.

Every case is derived: documented bodies from the recorded submit fixtures, invalid ones from the vendored request
schemas and the manifest's overrides, response tolerance from each provider's status fixtures.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import Recorder, make_client
from manifest_support import (
    at,
    client_class,
    declared_limits,
    discriminators,
    fixture_model,
    fixtures,
    invalid_requests,
    job_field,
    model_class,
    nullable_fields,
    operation,
    plain_schema,
    provider,
    providers,
    put,
    request_properties,
    status_operation,
    submit_body,
    submits,
)

from kling_sdk._runtime.errors import InvalidRequestError

SUBMITS = submits()  # every submit of every (provider, model): `op.model` says whose client sends it
SUBMIT_IDS = [f"{n}-{op.model}-{op.name}" for n, op in SUBMITS]
DOCUMENTED = [f for f in fixtures() if "request" in f.data["call"] and "error" not in f.data["expect"]]


def request_model(name: str, op_name: str, model: str | None = None) -> Any:
    """The generated request model of an operation of a (provider, model), from that model's package."""
    return model_class(name, operation(name, op_name, model).request or "", model)


@pytest.mark.parametrize("fixture", DOCUMENTED, ids=[f.name for f in DOCUMENTED])
def test_documented_examples_round_trip(fixture: Any) -> None:
    cls = request_model(fixture.provider, fixture.operation, fixture_model(fixture))
    wire = fixture.data["exchanges"][0]["request"]["json"]
    assert cls.model_validate(wire).to_wire() == wire
    assert cls.model_validate(fixture.data["call"]["request"]).to_wire() == wire


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "null"
    )


@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=SUBMIT_IDS)
def test_defaults_are_values_of_the_declared_type_never_the_specs_misspelling(name: str, op: Any) -> None:
    # AIMLAPI's spec writes the default of an integer enum as "5": the model must default to 5, never "5".
    unit = op.model
    instance = request_model(name, op.name, unit).model_validate(submit_body(name, op.name, model=unit))
    dumped = instance.model_dump(mode="json", by_alias=True)
    checked = 0
    for field, prop in request_properties(name, op.name, unit).items():
        schema, _ = plain_schema(prop)
        fixed = discriminators(name, op.name, unit)
        if "default" not in prop or field in fixed or not isinstance(schema.get("type"), str):
            continue
        value = dumped[field]
        assert _json_type(value) in (schema["type"], "integer" if schema["type"] == "number" else ""), (field, value)
        if "enum" in schema:
            assert value in schema["enum"], (field, value)
        assert instance.to_wire().get(field, value) == value
        checked += 1
    assert checked or not any("default" in p for p in request_properties(name, op.name, unit).values())


@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=SUBMIT_IDS)
def test_constants_are_always_sent_and_cannot_be_changed(name: str, op: Any) -> None:
    unit = op.model
    fixed = discriminators(name, op.name, unit)
    body = submit_body(name, op.name, model=unit)
    cls = request_model(name, op.name, unit)
    wire = cls.model_validate(body).to_wire()
    assert {**fixed, **body}.items() <= wire.items()
    defaulted = {f for f, prop in request_properties(name, op.name, unit).items() if "default" in prop}
    assert set(wire) - set(fixed) - set(body) <= defaulted, "only what was given, fixed or defaulted is sent"
    for field, value in fixed.items():
        with pytest.raises(InvalidRequestError, match=field):
            cls.model_validate({**body, field: f"{value}-other"})


INVALID = [
    (name, op.model, op.name, *case) for name, op in SUBMITS for case in invalid_requests(name, op.name, op.model)
]


@pytest.mark.parametrize(
    ("name", "model", "op_name", "why", "field", "body"),
    INVALID,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in INVALID],
)
def test_invalid_input_is_rejected_naming_the_field(
    name: str, model: str, op_name: str, why: str, field: str, body: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        request_model(name, op_name, model).model_validate(body)
    assert field in str(info.value), why


def test_every_provider_has_invalid_cases() -> None:
    assert {(c[0], c[1], c[2]) for c in INVALID} == {(n, op.model, op.name) for n, op in SUBMITS}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", providers(lambda p: p.jobs), ids=str)
async def test_invalid_input_sends_nothing(recorder: Recorder, is_async: bool, name: str) -> None:
    unit, op_name, (why, field, body) = next(
        (op.model, op.name, case) for n, op in SUBMITS if n == name for case in invalid_requests(n, op.name, op.model)
    )
    client = make_client(client_class(name, is_async, unit), recorder)
    with pytest.raises(InvalidRequestError, match=field) as info:
        result = getattr(client, op_name)(body)
        if is_async:
            await result
    assert (info.value.field, info.value.provider) == (field, name), why
    assert recorder.requests == []


def _status_documents(name: str) -> list[Any]:
    op = status_operation(name)
    return [f for f in fixtures(name) if f.operation == op.name and "error" not in f.data["expect"]]


def _at(document: Any, pointers: tuple[str, ...]) -> tuple[Any, str] | None:
    """The object holding the first pointer that resolves in `document`, and its last key."""
    for pointer in pointers:
        *parents, last = pointer.strip("/").split("/")
        node = document
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node.get(token) if isinstance(node, dict) else None
        if isinstance(node, dict) and last in node:
            return node, last
    return None


@pytest.mark.parametrize("name", providers(lambda p: p.jobs), ids=str)
def test_responses_tolerate_unknown_status_and_fields(name: str) -> None:
    [first, *_] = _status_documents(name)
    document = copy.deepcopy(first.data["exchanges"][0]["response"]["json"])
    cls = model_class(name, first.data["expect"]["model"])
    extra_before = dict(cls.model_validate(document).model_extra or {})  # what the documented answer adds already
    found = _at(document, job_field(provider(name), "status"))
    assert found is not None, f"{first.name}: no status at the manifest's pointers"
    holder, key = found
    holder[key] = "SOMETHING_UNDOCUMENTED"
    document["zz_new_field"] = 3
    model = cls.model_validate(document)
    dumped = model.model_dump(mode="json", by_alias=True)
    assert _at(dumped, job_field(provider(name), "status")) is not None
    assert json.dumps(dumped).count("SOMETHING_UNDOCUMENTED") == 1
    assert model.model_extra == {**extra_before, "zz_new_field": 3}


@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=SUBMIT_IDS)
def test_nullable_fields_accept_null_and_typed_fields_keep_constraints(name: str, op: Any) -> None:
    unit = op.model
    cls = request_model(name, op.name, unit)
    body = submit_body(name, op.name, model=unit)
    for pointer in nullable_fields(name, op.name, unit):
        assert at(cls.model_validate(put(body, pointer, None)).to_wire(), pointer) is None, pointer
    by_wire = {f.alias or key: f for key, f in cls.model_fields.items()}
    for field, prop in request_properties(name, op.name, unit).items():
        schema, _ = plain_schema(prop)
        description = prop.get("description") or schema.get("description")
        if description:
            assert by_wire[field].description == description.strip(), field
        limits = declared_limits(name, op.name, field, unit)
        for keyword, attribute in (("maxLength", "max_length"), ("maximum", "le"), ("minimum", "ge")):
            if keyword in limits:
                assert any(getattr(m, attribute, None) == limits[keyword] for m in by_wire[field].metadata), field
