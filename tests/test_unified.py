"""One neutral request, each provider's documented wire body; what a provider cannot take is refused first.

The neutral requests are tests/unified/requests.json; each provider's documented body for them is
tests/fixtures/<provider>/unified/<request>.json. What each provider maps, and so what it must refuse, comes from
the manifest's [providers.<name>.unified] tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Recorder, make_client
from manifest_support import (
    MANIFEST,
    all_tasks,
    at,
    client_class,
    fixture_for,
    has_mapping,
    leaf_properties,
    neutral_base,
    neutral_sample,
    neutral_value,
    plain_schema,
    provider_data,
    providers,
    submit_for,
    tasks,
    unified_fields,
    units,
)

from kling_sdk._runtime.errors import InvalidRequestError
from kling_sdk.unified import TASKS, Kling, WireField, capabilities, to_wire, value_problem

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = json.loads((ROOT / "tests" / "unified" / "requests.json").read_text())["requests"]
MAPPED = providers(has_mapping)
CASES = [(data["request"], name, data["body"]) for name in MAPPED for data in provider_data(name, "unified")]
NEUTRAL = {task.task: task for task in MANIFEST.unified}  # task id -> its neutral parameters


def _request(name: str) -> Any:
    spec = REQUESTS[name]
    return TASKS[spec["task"]](**spec["arguments"])


def _client(provider: str, task: str, recorder: Recorder, model: str | None = None) -> Any:
    op = submit_for(provider, task, model)
    assert op is not None
    found = fixture_for(provider, op.name, "submit_", model=model)
    recorder.body = found.data["exchanges"][0]["response"]["json"]
    return make_client(client_class(provider, model=model), recorder)


_sample = neutral_value
_base = neutral_base


@pytest.mark.parametrize(("request_name", "provider", "body"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_one_neutral_request_is_each_providers_documented_wire_body(
    request_name: str, provider: str, body: dict[str, Any]
) -> None:
    recorder = Recorder()
    request = _request(request_name)
    operation, wire = to_wire(request, provider)
    with _client(provider, request.task, recorder) as client:
        getattr(client, operation)(wire)
    assert len(recorder.requests) == 1
    assert json.loads(recorder.last.content) == body


@pytest.mark.parametrize("provider", MAPPED)
def test_every_mapped_task_has_a_documented_wire_body(provider: str) -> None:
    covered = {REQUESTS[data["request"]]["task"] for data in provider_data(provider, "unified")}
    assert covered == {task for task in tasks(provider) if unified_fields(provider, task)}


# every (provider, model, task) with a neutral mapping: each model's request names that model
MAPPINGS = [(p, m, task) for p, m in units(has_mapping) for task in all_tasks() if unified_fields(p, task, m)]
MAPPING_IDS = [f"{p}-{m}-{t}" for p, m, t in MAPPINGS]


def _present(body: dict[str, Any], pointer: str) -> bool:
    try:
        at(body, pointer)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize(("provider", "model", "task"), MAPPINGS, ids=MAPPING_IDS)
def test_each_neutral_value_goes_on_the_wire_in_the_type_the_spec_declares(
    provider: str, model: str, task: str
) -> None:
    # duration is an int on some providers and a string enum on others: the spec of each says which
    fields = unified_fields(provider, task, model)
    op = submit_for(provider, task, model)
    assert op is not None
    leaves = leaf_properties(provider, op.name, model)
    values = {p: neutral_sample(provider, task, p, model) for p in fields}
    request = TASKS[task](**{**_base(task), **values, "model": model})
    _, body = to_wire(request, provider)
    python = {"integer": int, "number": (int, float), "string": str, "boolean": bool, "array": list}
    for param, wire in fields.items():
        schema, _ = plain_schema(leaves[wire][0])
        sent = at(body, wire)
        if isinstance(schema.get("type"), str):
            assert isinstance(sent, python[schema["type"]]), (param, wire, sent)
        if "enum" in schema:
            assert sent in schema["enum"], (param, wire)
        if not isinstance(values[param], list):
            assert sent == values[param] or sent == str(values[param]), (param, wire, sent)


@pytest.mark.parametrize(("provider", "model", "task"), MAPPINGS, ids=MAPPING_IDS)
def test_neutral_defaults_are_sent_explicitly_where_defaults_differ(provider: str, model: str, task: str) -> None:
    # Oxen's own generate_audio default is false, everyone else's true: the neutral default goes on the wire.
    fields = unified_fields(provider, task, model)
    _, body = to_wire(TASKS[task](**_base(task), model=model), provider)
    for declared in NEUTRAL[task].params:
        if declared.name in fields and declared.default is not None:
            sent = json.loads(json.dumps(at(body, fields[declared.name])))
            assert sent in (declared.default, str(declared.default))
    if "generate_audio" in fields:
        off = to_wire(TASKS[task](**_base(task), model=model, generate_audio=False), provider)[1]
        assert at(off, fields["generate_audio"]) is False


UNSUPPORTED = [
    (p, m, task, param)
    for p, m, task in MAPPINGS
    for param in (declared.name for declared in NEUTRAL[task].params)
    if param not in unified_fields(p, task, m)
]


@pytest.mark.parametrize(
    ("provider", "model", "task", "param"),
    UNSUPPORTED or [pytest.param(None, None, None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}-{t}-{n}" for p, m, t, n in UNSUPPORTED] or None,
)  # fmt: skip
def test_an_unsupported_parameter_is_refused_naming_provider_parameter_and_who_takes_it(
    provider: str, model: str, task: str, param: str
) -> None:
    recorder = Recorder()
    request = TASKS[task](**_base(task), model=model, **{param: _sample(task, param)})
    http = httpx.Client(transport=httpx.MockTransport(recorder.handler))
    with (
        Kling(provider, api_keys={provider: "k"}, http_client=http) as kling,
        pytest.raises(InvalidRequestError) as caught,
    ):
        kling.submit(request)  # refused by the neutral layer, before the client sends anything
    assert (caught.value.provider, caught.value.field) == (provider, param)
    assert provider in str(caught.value) and param in str(caught.value)
    for other in MAPPED:
        if param in unified_fields(other, task, model):
            assert other in str(caught.value), f"{other} takes {param} for {model} and is not named"
    assert recorder.requests == []


NOT_SERVED = [(p, m, task) for p, m in units(has_mapping) for task in all_tasks() if not unified_fields(p, task, m)]


@pytest.mark.parametrize(
    ("provider", "model", "task"), NOT_SERVED or [pytest.param(None, None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}-{t}" for p, m, t in NOT_SERVED] or None,
)  # fmt: skip
def test_a_task_the_provider_does_not_serve_is_refused(provider: str, model: str, task: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_wire(TASKS[task](**_base(task), model=model), provider)
    assert caught.value.field == "task" and f"{provider} does not serve {task}" in str(caught.value)


@pytest.mark.parametrize(("provider", "model", "task"), MAPPINGS, ids=MAPPING_IDS)
def test_a_parameter_left_unset_is_not_an_error_and_none_is_not_sent(provider: str, model: str, task: str) -> None:
    fields = unified_fields(provider, task, model)
    optional = [p.name for p in NEUTRAL[task].params if not p.required and p.default is None and p.name in fields]
    body = to_wire(TASKS[task](**_base(task), model=model, **dict.fromkeys(optional)), provider)[1]
    assert not [name for name in optional if _present(body, fields[name])]


def test_capabilities_say_which_model_each_provider_serves_and_what_it_takes() -> None:
    found = capabilities()
    served = {m for p, m, _ in MAPPINGS}
    assert set(found) == served
    for model in served:
        assert set(found[model]) == {p for p, m, _ in MAPPINGS if m == model}
        for provider, by_task in found[model].items():
            assert set(by_task) == {t for p, m, t in MAPPINGS if (p, m) == (provider, model)}
            for task, params in by_task.items():
                assert set(params) == set(unified_fields(provider, task, model))


NEUTRAL_LIMITS = [
    (task, declared.name, value)
    for task, spec in NEUTRAL.items()
    for declared in spec.params
    for value in (
        ([max(declared.enum) + 1] if declared.enum and isinstance(declared.enum[0], int) else [])
        + ([declared.maximum + 1] if declared.maximum is not None else [])
        + ([declared.minimum - 1] if declared.minimum is not None else [])
    )
]


@pytest.mark.parametrize(("task", "param", "value"), NEUTRAL_LIMITS, ids=[f"{t}-{p}-{v}" for t, p, v in NEUTRAL_LIMITS])
def test_the_neutral_models_validate_before_anything_is_sent(task: str, param: str, value: Any) -> None:
    with pytest.raises(ValueError, match=param):
        TASKS[task](**_base(task), **{param: value})


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (WireField("duration", "/duration", "int", allowed=(5, 10)), 5, None),
        (WireField("duration", "/duration", "int", allowed=(5, 10)), 7, "takes one of 5, 10"),
        (WireField("duration", "/duration", "int", minimum=3, maximum=15), 15, None),
        (WireField("duration", "/duration", "int", minimum=3, maximum=15), 2, "takes at least 3 and at most 15"),
        (WireField("duration", "/duration", "int", minimum=3, maximum=15), 16, "takes at most 15 and at least 3"),
        (WireField("cfg_scale", "/cfg_scale", "float", maximum=1), True, None),  # a bool is no number here
        (WireField("prompt", "/prompt", "str", max_length=3), "abcd", "takes at most 3 characters"),
        (WireField("voice_ids", "/voice_ids", "list", max_items=2), ["a", "b", "c"], "takes at most 2 items"),
    ],
)
def test_value_problem_says_what_a_wire_field_allows(field: WireField, value: object, problem: str | None) -> None:
    assert value_problem(field, value) == problem
