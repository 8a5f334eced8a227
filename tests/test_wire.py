"""Every operation of every provider sends exactly the request its docs show (sync and async)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from conftest import API_KEY, Recorder, call, make_client

OXEN_I2V = {
    "model": "kling-video-v2-6-pro-image-to-video",
    "prompt": "A man making it to the summit on top of a mountain. The man raises his arms in victory and exhales a sigh of relief.",
    "input_image": "https://hub.oxen.ai/api/repos/ox/Oxen-AI-Assets/file/main/images/man-hiking.png",
    "negative_prompt": "blur, distort, and low quality",
    "duration": 5,
    "generate_audio": False,
}
OXEN_T2V = {
    "model": "kling-video-v2-6-pro-text-to-video",
    "prompt": "A close up of a blonde woman surfer in a wet suit, with a wave behind her, paddling to get momentum before standing up, on her stomach, looking back over her shoulder at the wave coming in.",
    "negative_prompt": "blur, distort, and low quality",
    "aspect_ratio": "16:9",
    "duration": 5,
    "generate_audio": False,
    "cfg_scale": 0.5,
}
AIML_I2V = {
    "model": "klingai/video-v2-6-pro-image-to-video",
    "prompt": "Mona Lisa puts on glasses with her hands.",
    "image_url": "https://raw.githubusercontent.com/aimlapi/api-docs/main/reference-files/mona_lisa_extended.jpg",
}
AIML_T2V = {
    "model": "klingai/video-v2-6-pro-text-to-video",
    "prompt": "A racoon reading a newspaper",
    "aspect_ratio": "9:16",
    "duration": 10,
}
AIML_ID = "27f25c85-e9db-44e9-909a-0c3ceb35cdd9:klingai/video-v2-6-pro-image-to-video"
SUNRA_I2V = {  # the seed's curl body, nulls included
    "prompt": "",
    "start_image_url": "",
    "end_image_url": None,
    "negative_prompt": "blur, distort, and low quality",
    "duration": "5",
    "generate_audio": True,
    "voice_ids": None,
}
SUNRA_ID = "pd_vXW7VwPN2MbTwT8bzpWrYU5Y"
FAL_I2V = {
    "prompt": "A woman on a beach at sunset",
    "start_image_url": "https://example.com/start.png",
    "duration": "10",
    "voice_ids": ["v1"],
}
FAL_T2V = {"prompt": "A surfer paddling", "aspect_ratio": "1:1", "cfg_scale": 0.3, "generate_audio": False}
FAL_ID = "6d5fbbbd-411c-4c7a-9249-e297304c87d4"

OXEN_GEN = {
    "generation_id": "bb8f5eb7-361e-4e13-ab73-67457bc8057e", "model_name": "kling-video-v2-6-pro-image-to-video",
    "prompt": "x", "media_type": "video", "status": "succeeded", "result_url": "https://hub.oxen.ai/api/repos/x/video.mp4",
    "error_message": None, "enqueued_at": 1775091431, "started_at": 1775091432, "completed_at": 1775091590,
}  # fmt: skip
SUNRA_STATUS = {"status": "IN_QUEUE", "request_id": SUNRA_ID, "queue_position": 0,
                "response_url": f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}",
                "status_url": f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}/status",
                "cancel_url": f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}/cancel"}  # fmt: skip
FAL_STATUS = {"status": "IN_QUEUE", "request_id": FAL_ID, "queue_position": 0,
              "response_url": f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}",
              "status_url": f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}/status",
              "cancel_url": f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}/cancel"}  # fmt: skip
VIDEO = {
    "url": "https://v3.fal.media/files/out.mp4",
    "content_type": "video/mp4",
    "file_name": "out.mp4",
    "file_size": 1234,
}

# provider, method, args, kwargs, expected method, expected URL, expected JSON body, auth, answer, answer model
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], str, str, Any, str, Any, str]] = [
    ("oxen", "submit_image_to_video", (OXEN_I2V,), {}, "POST", "https://hub.oxen.ai/api/ai/queue", OXEN_I2V, "Bearer",
     {"generations": [{"generation_id": OXEN_GEN["generation_id"], "status": "queued"}]}, "EnqueueResponse"),
    ("oxen", "submit_text_to_video", (OXEN_T2V,), {}, "POST", "https://hub.oxen.ai/api/ai/queue", OXEN_T2V, "Bearer",
     {"generations": [{"generation_id": OXEN_GEN["generation_id"], "status": "queued"}]}, "EnqueueResponse"),
    ("oxen", "get_generation", (OXEN_GEN["generation_id"],), {}, "GET",
     f"https://hub.oxen.ai/api/ai/queue/{OXEN_GEN['generation_id']}", None, "Bearer", OXEN_GEN, "QueueGeneration"),
    ("oxen", "cancel_generation", (OXEN_GEN["generation_id"],), {}, "DELETE",
     f"https://hub.oxen.ai/api/ai/queue/{OXEN_GEN['generation_id']}", None, "Bearer",
     {"status": "success", "generation_id": OXEN_GEN["generation_id"]}, "CancelResponse"),
    ("oxen", "list_generations", (), {"status": "succeeded", "media_type": "video"}, "GET",
     "https://hub.oxen.ai/api/ai/queue?status=succeeded&media_type=video", None, "Bearer", {"count": 1, "generations": [OXEN_GEN]}, "QueueList"),
    ("aimlapi", "submit_image_to_video", (AIML_I2V,), {}, "POST", "https://api.aimlapi.com/v2/video/generations", AIML_I2V, "Bearer",
     {"id": AIML_ID, "status": "queued"}, "Generation"),
    ("aimlapi", "submit_text_to_video", (AIML_T2V,), {}, "POST", "https://api.aimlapi.com/v2/video/generations", AIML_T2V, "Bearer",
     {"id": AIML_ID, "status": "queued", "meta": {"usage": {"credits_used": 120000}}}, "Generation"),
    ("aimlapi", "get_generation", (), {"generation_id": AIML_ID}, "GET",
     "https://api.aimlapi.com/v2/video/generations?generation_id=27f25c85-e9db-44e9-909a-0c3ceb35cdd9%3Aklingai%2Fvideo-v2-6-pro-image-to-video",
     None, "Bearer", {"id": AIML_ID, "status": "completed", "video": {"url": "https://cdn.aimlapi.com/flamingo/files/b/0a84eaeb/out.mp4"}}, "Generation"),
    ("sunra", "submit_image_to_video", (SUNRA_I2V,), {}, "POST", "https://api.sunra.ai/v1/queue/kling/kling-v2.6-pro/image-to-video",
     SUNRA_I2V, "Key", SUNRA_STATUS, "QueueStatus"),
    ("sunra", "get_status", (SUNRA_ID,), {"logs": 1}, "GET", f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}/status?logs=1", None, "Key",
     {"status": "COMPLETED", "request_id": SUNRA_ID, "success": False, "error": {"code": "unsafe_content", "message": "blocked"}}, "QueueStatus"),
    ("sunra", "get_result", (SUNRA_ID,), {}, "GET", f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}", None, "Key", {"video": VIDEO}, "VideoOutput"),
    ("sunra", "cancel_request", (SUNRA_ID,), {}, "PUT", f"https://api.sunra.ai/v1/queue/requests/{SUNRA_ID}/cancel", None, "Key", None, "CancelResponse"),
    ("fal", "submit_image_to_video", (FAL_I2V,), {}, "POST", "https://queue.fal.run/fal-ai/kling-video/v2.6/pro/image-to-video", FAL_I2V, "Key",
     FAL_STATUS, "QueueStatus"),
    ("fal", "submit_text_to_video", (FAL_T2V,), {}, "POST", "https://queue.fal.run/fal-ai/kling-video/v2.6/pro/text-to-video", FAL_T2V, "Key",
     FAL_STATUS, "QueueStatus"),
    ("fal", "get_status", (FAL_ID,), {"logs": 1}, "GET", f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}/status?logs=1", None, "Key",
     {"status": "IN_PROGRESS", "request_id": FAL_ID, "logs": [{"message": "step 1", "level": "INFO", "source": "USER", "timestamp": "2026-01-01T00:00:00Z"}]},
     "QueueStatus"),
    ("fal", "get_image_to_video_result", (FAL_ID,), {}, "GET", f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}", None, "Key",
     {"video": {"url": VIDEO["url"]}}, "ImageToVideoOutput"),
    ("fal", "get_text_to_video_result", (FAL_ID,), {}, "GET", f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}", None, "Key",
     {"video": VIDEO}, "TextToVideoOutput"),
    ("fal", "cancel_request", (FAL_ID,), {}, "PUT", f"https://queue.fal.run/fal-ai/kling-video/requests/{FAL_ID}/cancel", None, "Key",
     {"success": True}, "CancelResponse"),
]  # fmt: skip

CLIENT_CLASSES = {"oxen": "Oxen", "aimlapi": "Aimlapi", "sunra": "Sunra", "fal": "Fal"}


def client_class(provider: str, is_async: bool) -> type:
    module = importlib.import_module(f"kling_sdk.{provider}")
    return getattr(module, ("Async" if is_async else "") + CLIENT_CLASSES[provider] + "Client")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("provider", "method", "args", "kwargs", "http_method", "url", "body", "scheme", "answer", "answer_model"),
    CASES,
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
async def test_request_matches_docs(
    recorder: Recorder, is_async: bool, provider: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
    http_method: str, url: str, body: Any, scheme: str, answer: Any, answer_model: str,
) -> None:  # fmt: skip
    recorder.body = answer
    client = make_client(client_class(provider, is_async), recorder)
    result = await call(client, method, *args, **kwargs)

    sent = recorder.last
    assert sent.method == http_method
    assert str(sent.url) == url
    assert sent.headers["authorization"] == f"{scheme} {API_KEY}"
    assert recorder.last_json() == body
    if body is not None:
        assert sent.headers["content-type"] == "application/json"
    assert len(recorder.requests) == 1
    if method.startswith("submit_"):
        # A submit hands back a job handle; the provider's typed answer rides along.
        assert result.id in (OXEN_GEN["generation_id"], AIML_ID, SUNRA_ID, FAL_ID)
        assert (result.provider, result.operation) == (provider, method)
        result = result.response
    assert type(result).__name__ == answer_model
    assert type(result).__module__ == f"kling_sdk.{provider}.models"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_extra_body_reaches_the_wire(recorder: Recorder, is_async: bool) -> None:
    recorder.body = FAL_STATUS
    client = make_client(client_class("fal", is_async), recorder)
    await call(
        client,
        "submit_text_to_video",
        {"prompt": "p"},
        extra_body={"seed": 42},
        extra_headers={"X-Fal-Queue-Priority": "low"},
    )
    assert recorder.last_json() == {"prompt": "p", "seed": 42}
    assert recorder.last.headers["x-fal-queue-priority"] == "low"


def test_base_url_override_from_argument_and_environment(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder.body = SUNRA_STATUS
    client = make_client(client_class("sunra", False), recorder, base_url="http://127.0.0.1:9/sunra/")
    client.get_status(SUNRA_ID)
    assert str(recorder.last.url) == f"http://127.0.0.1:9/sunra/queue/requests/{SUNRA_ID}/status"
    monkeypatch.setenv("SUNRA_BASE_URL", "http://127.0.0.1:9/env")
    make_client(client_class("sunra", False), recorder).get_status(SUNRA_ID)
    assert str(recorder.last.url) == f"http://127.0.0.1:9/env/queue/requests/{SUNRA_ID}/status"


@pytest.mark.parametrize(
    ("provider", "env"),
    [("oxen", "OXEN_API_KEY"), ("aimlapi", "AIMLAPI_KEY"), ("sunra", "SUNRA_KEY"), ("fal", "FAL_KEY")],
)
def test_api_key_from_environment_never_in_repr(
    provider: str, env: str, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    from kling_sdk._runtime.errors import MissingApiKeyError

    cls = client_class(provider, False)
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(MissingApiKeyError, match=env):
        cls()
    monkeypatch.setenv(env, "env-secret-key-123")
    client = cls()
    assert "env-secret-key-123" not in repr(client)
    assert client._headers(False, None)["Authorization"].endswith("env-secret-key-123")
    client.close()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_context_managers_close_the_pool(is_async: bool) -> None:
    cls = client_class("oxen", is_async)
    if is_async:
        async with cls(api_key=API_KEY) as client:
            pool = client._client
        assert pool.is_closed
    else:
        with cls(api_key=API_KEY) as client:
            pool = client._client
        assert pool.is_closed
