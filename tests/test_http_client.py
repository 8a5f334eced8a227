"""The caller's `http_client=` is used as configured: its headers, params, cookies and httpx's defaults reach the
provider, our User-Agent stays unless it sets one, and nothing of it (nor the key) goes to another host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.errors import APIStatusError
from kling_sdk.testing import load_protocols
from kling_sdk.unified import ImageToVideo, to_wire

PROVIDERS = list(load_protocols()["providers"])
with httpx.Client() as _plain:
    HTTPX_DEFAULTS = _plain.headers  # what httpx itself sends (Accept-Encoding, ...)
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


class Wire(httpx.HTTPTransport):
    """A real transport that keeps every request as it leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


class AsyncWire(httpx.AsyncHTTPTransport):
    """The async twin of `Wire`."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await super().handle_async_request(request)


def submit_call(provider: str) -> tuple[str, dict[str, Any]]:
    """The provider's image-to-video submit method and body, from the neutral mapping."""
    return to_wire(ImageToVideo(prompt="a hiker", start_image="https://example.com/hiker.png"), provider)


def user_client(is_async: bool, transport: httpx.BaseTransport | httpx.AsyncBaseTransport, **options: Any) -> Any:
    cls = httpx.AsyncClient if is_async else httpx.Client
    return cls(transport=transport, **options)  # type: ignore[arg-type]


@both
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_headers_params_and_httpx_defaults_of_the_users_client_reach_the_wire(
    fresh_fake: Any, provider: str, is_async: bool, tmp_path: Path
) -> None:
    wire = AsyncWire() if is_async else Wire()
    http = user_client(is_async, wire, headers={"X-Trace": "trace-7"}, params={"tenant": "acme"})
    client = fresh_fake.client(provider, is_async=is_async, http_client=http)
    method, body = submit_call(provider)
    job = await call(client, method, body)
    await call(client, "status", job)
    fresh_fake.app.clock.sleep(200)  # the job is done on the fake's virtual clock
    result = await call(client, "result", job)
    await call(client, "download", result, tmp_path / "v.mp4")
    await (http.aclose() if is_async else _as_coroutine(http.close))

    assert len(wire.sent) >= 4
    for request in wire.sent:  # every request: the fake serves files from the provider's own origin
        where = f"{request.method} {request.url.path}"
        assert request.headers["x-trace"] == "trace-7", where
        assert request.url.params["tenant"] == "acme", where
        assert request.headers["user-agent"].startswith("kling-sdk/"), where
        expected_encoding = "identity" if "/_files/" in request.url.path else HTTPX_DEFAULTS["accept-encoding"]
        assert request.headers["accept-encoding"] == expected_encoding, where
        assert API_KEY in request.headers.get("authorization", ""), where


@both
async def test_a_user_agent_set_on_the_users_client_is_kept(recorder: Any, is_async: bool) -> None:
    provider = PROVIDERS[0]
    recorder.body = {}
    http = user_client(is_async, httpx.MockTransport(recorder.handler), headers={"User-Agent": "acme-render/2.1"})
    client = _client(provider, is_async, http)
    await call(client, "status", "job-1")
    assert recorder.last.headers["user-agent"] == "acme-render/2.1"
    await call(client, "close")


@both
async def test_nothing_of_the_users_client_nor_the_key_goes_to_another_host(
    recorder: Any, is_async: bool, tmp_path: Path
) -> None:
    provider = PROVIDERS[0]
    video = b"\x00\x00\x00\x18ftypmp42" * 10
    recorder.body = None

    def answer(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        return httpx.Response(200, content=video, headers={"content-length": str(len(video))})

    http = user_client(
        is_async, httpx.MockTransport(answer), headers={"X-Trace": "trace-7"}, params={"tenant": "acme"},
        auth=("user", "proxy-password"), cookies={"session": "s-1"},
    )  # fmt: skip
    client = _client(provider, is_async, http)
    await call(client, "download", "https://cdn.example.net/files/v.mp4?sig=abc", tmp_path / "v.mp4")
    sent = recorder.last
    assert sent.url.host == "cdn.example.net" and dict(sent.url.params) == {"sig": "abc"}
    for name in ("x-trace", "authorization", "cookie"):
        assert name not in sent.headers, name
    assert (tmp_path / "v.mp4").read_bytes() == video
    await call(client, "close")


@both
async def test_a_redirect_is_never_followed_by_the_users_client(recorder: Any, is_async: bool) -> None:
    provider = PROVIDERS[0]
    recorder.status = 302
    recorder.headers = {"location": "https://elsewhere.example/collect"}
    http = user_client(is_async, httpx.MockTransport(recorder.handler), follow_redirects=True)
    client = _client(provider, is_async, http)
    with pytest.raises(APIStatusError) as info:
        await call(client, "status", "job-1")
    assert info.value.status_code == 302
    assert [r.url.host for r in recorder.requests] == [httpx.URL(client.base_url).host]
    await call(client, "close")


async def _as_coroutine(function: Any) -> None:
    function()


def _client(provider: str, is_async: bool, http: Any) -> Any:
    info = load_protocols()["providers"][provider]["client"]
    module = __import__(info["module"], fromlist=["_"])
    return getattr(module, info["async" if is_async else "sync"])(api_key=API_KEY, http_client=http, max_retries=0)
