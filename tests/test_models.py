"""Generated models accept documented bodies, reject invalid input before any request, and tolerate new responses."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from conftest import Recorder, make_client
from pydantic import ValidationError
from test_wire import AIML_I2V, FAL_I2V, OXEN_I2V, OXEN_T2V, SUNRA_I2V, client_class

from kling_sdk._runtime.errors import InvalidRequestError


def models(provider: str) -> Any:
    return importlib.import_module(f"kling_sdk.{provider}.models")


@pytest.mark.parametrize(
    ("provider", "model", "body"),
    [
        ("oxen", "ImageToVideoRequest", OXEN_I2V),
        ("oxen", "TextToVideoRequest", OXEN_T2V),
        ("aimlapi", "ImageToVideoRequest", AIML_I2V),
        ("sunra", "ImageToVideoRequest", SUNRA_I2V),
        ("fal", "ImageToVideoRequest", FAL_I2V),
    ],
)
def test_documented_examples_round_trip(provider: str, model: str, body: dict[str, Any]) -> None:
    request = getattr(models(provider), model).model_validate(body)
    assert request.to_wire() == body


def test_aimlapi_duration_default_is_the_integer_5_never_the_string() -> None:
    request = models("aimlapi").ImageToVideoRequest(prompt="p", image_url="https://x/y.png")
    assert request.duration == 5
    assert isinstance(request.duration, int)
    wire = request.to_wire()
    assert wire.get("duration", 5) == 5
    assert '"5"' not in json.dumps(wire)
    assert '"5"' not in json.dumps(request.model_dump(mode="json"))


def test_constants_are_always_sent_and_cannot_be_changed() -> None:
    m = models("oxen")
    assert m.ImageToVideoRequest(prompt="p").to_wire() == {
        "model": "kling-video-v2-6-pro-image-to-video",
        "prompt": "p",
    }
    with pytest.raises(ValidationError, match="model"):
        m.ImageToVideoRequest(prompt="p", model="another-model")


INVALID = [
    ("aimlapi", "ImageToVideoRequest", {"prompt": "x" * 2501, "image_url": "u"}, "prompt"),
    ("sunra", "ImageToVideoRequest", {"prompt": "x" * 2501, "start_image_url": "u"}, "prompt"),
    ("fal", "TextToVideoRequest", {"prompt": "x" * 2501}, "prompt"),
    ("aimlapi", "ImageToVideoRequest", {"prompt": "p", "image_url": "u", "duration": 7}, "duration"),
    ("oxen", "ImageToVideoRequest", {"prompt": "p", "duration": 7}, "duration"),
    ("sunra", "ImageToVideoRequest", {"prompt": "p", "start_image_url": "u", "duration": "7"}, "duration"),
    ("fal", "ImageToVideoRequest", {"prompt": "p", "start_image_url": "u", "duration": 5}, "duration"),
    ("oxen", "TextToVideoRequest", {"prompt": "p", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ("aimlapi", "TextToVideoRequest", {"prompt": "p", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ("fal", "TextToVideoRequest", {"prompt": "p", "aspect_ratio": "21:9"}, "aspect_ratio"),
    ("fal", "TextToVideoRequest", {"prompt": "p", "cfg_scale": 1.5}, "cfg_scale"),
    ("oxen", "TextToVideoRequest", {"prompt": "p", "cfg_scale": 11}, "cfg_scale"),
    ("sunra", "ImageToVideoRequest", {"prompt": "p"}, "start_image_url"),
    ("aimlapi", "ImageToVideoRequest", {"prompt": "p", "image_url": "u", "tail_image_url": "u"}, "tail_image_url"),
    ("fal", "ImageToVideoRequest", {"prompt": "p", "start_image_url": "u", "negative_prompt": None}, "negative_prompt"),
    ("oxen", "ImageToVideoRequest", {"prompt": "p", "num_generations": 5}, "num_generations"),
]


@pytest.mark.parametrize(
    ("provider", "model", "body", "field"), INVALID, ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(INVALID)]
)
def test_invalid_input_is_rejected_naming_the_field(
    provider: str, model: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        getattr(models(provider), model).model_validate(body)
    assert field in str(info.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_invalid_input_sends_nothing(recorder: Recorder, is_async: bool) -> None:
    client = make_client(client_class("aimlapi", is_async), recorder)
    with pytest.raises(InvalidRequestError, match="duration") as info:
        result = client.submit_image_to_video({"prompt": "p", "image_url": "u", "duration": 7})
        if is_async:
            await result
    assert info.value.field == "duration" and info.value.provider == "aimlapi"
    assert recorder.requests == []


def test_responses_tolerate_unknown_status_and_fields() -> None:
    generation = models("aimlapi").Generation.model_validate(
        {
            "id": "1:m",
            "status": "paused",
            "usd_spent": 0.19,
            "error": {"detail": [{"loc": ["body", "image_url"], "msg": "no face"}]},
        }
    )
    assert generation.status == "paused"
    assert generation.model_extra == {"usd_spent": 0.19}
    status = models("fal").QueueStatus.model_validate({"status": "CANCELLATION_REQUESTED", "request_id": "r", "new": 1})
    assert status.status == "CANCELLATION_REQUESTED"
    oxen = models("oxen").QueueGeneration.model_validate(
        {"generation_id": "g", "model_name": "m", "status": "archived", "seed": 3}
    )
    assert oxen.model_extra == {"seed": 3}


def test_nullable_fields_accept_null_and_typed_fields_keep_constraints() -> None:
    sunra = models("sunra").ImageToVideoRequest
    request = sunra(prompt="p", start_image_url="u", voice_ids=None, end_image_url=None, negative_prompt=None)
    assert request.to_wire()["negative_prompt"] is None
    fields = sunra.model_fields
    assert fields["prompt"].description.startswith("Text prompt")
    assert any(getattr(m, "max_length", None) == 2500 for m in fields["prompt"].metadata)
