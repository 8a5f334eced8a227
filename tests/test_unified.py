"""One neutral request, each provider's documented wire body; what a provider cannot take is refused first."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder, make_client

from kling_sdk._runtime.errors import InvalidRequestError
from kling_sdk.unified import TASKS, capabilities, to_wire

ROOT = Path(__file__).resolve().parents[1]
BODIES = json.loads((ROOT / "tests" / "unified" / "wire_bodies.json").read_text())
CASES = [(name, provider) for name, bodies in BODIES["bodies"].items() for provider in bodies]


def _request(name: str) -> Any:
    spec = BODIES["requests"][name]
    return TASKS[spec["task"]](**spec["arguments"])


def _client(provider: str, recorder: Recorder) -> Any:
    module = importlib.import_module(f"kling_sdk.{provider}")
    submit = next((ROOT / "tests" / "fixtures" / provider).glob("submit_*.json"))
    recorder.body = json.loads(submit.read_text())["exchanges"][0]["response"]["json"]
    [client_class] = [v for k, v in vars(module).items() if k.endswith("Client") and not k.startswith("Async")]
    return make_client(client_class, recorder)


@pytest.mark.parametrize(("name", "provider"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_one_neutral_request_is_each_providers_documented_wire_body(name: str, provider: str) -> None:
    recorder = Recorder()
    operation, body = to_wire(_request(name), provider)
    with _client(provider, recorder) as client:
        getattr(client, operation)(body)
    assert len(recorder.requests) == 1
    assert json.loads(recorder.last.content) == BODIES["bodies"][name][provider]


def test_duration_is_an_int_on_oxen_and_aimlapi_and_a_string_on_sunra_and_fal() -> None:
    request = _request("image")
    types = {p: type(to_wire(request, p)[1]["duration"]) for p in ("oxen", "aimlapi", "sunra", "fal")}
    assert types == {"oxen": int, "aimlapi": int, "sunra": str, "fal": str}


def test_generate_audio_is_sent_explicitly_where_defaults_differ() -> None:
    # Oxen's own default is false, everyone else's true: the neutral default goes on the wire everywhere.
    assert to_wire(_request("text"), "oxen")[1]["generate_audio"] is True
    assert to_wire(TASKS["text-to-video"](prompt="x", generate_audio=False), "fal")[1]["generate_audio"] is False


@pytest.mark.parametrize(
    ("provider", "arguments", "field"),
    [
        ("oxen", {"voice_ids": ["v1"]}, "voice_ids"),
        ("aimlapi", {"end_image": "https://example.com/end.png"}, "end_image"),
        ("oxen", {"end_image": "https://example.com/end.png"}, "end_image"),
    ],
)
def test_an_unsupported_parameter_is_refused_naming_provider_and_parameter(
    provider: str, arguments: dict[str, Any], field: str
) -> None:
    recorder = Recorder()
    request = TASKS["image-to-video"](prompt="p", start_image="https://example.com/a.png", **arguments)
    with _client(provider, recorder), pytest.raises(InvalidRequestError) as caught:
        to_wire(request, provider)
    assert (caught.value.provider, caught.value.field) == (provider, field)
    assert provider in str(caught.value) and field in str(caught.value) and "sunra" in str(caught.value)
    assert recorder.requests == []


def test_a_task_the_provider_does_not_serve_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_wire(_request("text"), "sunra")
    assert caught.value.field == "task" and "sunra does not serve text-to-video" in str(caught.value)


def test_a_parameter_left_unset_is_not_an_error_and_none_is_not_sent() -> None:
    body = to_wire(TASKS["image-to-video"](prompt="p", start_image="s", voice_ids=None), "oxen")[1]
    assert "voice_ids" not in body and "negative_prompt" not in body


def test_capabilities_say_which_provider_takes_what() -> None:
    found = capabilities()
    assert sorted(found) == ["aimlapi", "fal", "oxen", "sunra"]
    assert "text-to-video" not in found["sunra"]
    assert "voice_ids" in found["fal"]["image-to-video"] and "voice_ids" not in found["oxen"]["image-to-video"]
    assert "end_image" not in found["aimlapi"]["image-to-video"]


def test_the_neutral_models_validate_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="duration"):
        TASKS["text-to-video"](prompt="p", duration=7)
    with pytest.raises(ValueError, match="cfg_scale"):
        TASKS["text-to-video"](prompt="p", cfg_scale=3)
