"""What every generated client does on the wire beyond the recorded exchanges, sync and async.

The exact request of every declared operation (method, URL, query, headers, body) and the typed answer are pinned by
the recorded fixtures (tests/contract/test_replay.py); here: extra body fields and headers, base URL overrides, keys
from the environment, and the pooled connection being closed. Providers and operations come from the manifest.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import API_KEY, Recorder, call, make_client
from manifest_support import (
    base_url_env,
    client_class,
    fixture_for,
    provider,
    providers,
    status_operation,
    submits,
)

__all__ = ["client_class"]  # imported from here by older test modules

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
SUBMITS = submits()
WITH_JOBS = providers(lambda p: p.jobs)


@both
@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=[f"{n}-{op.model}-{op.name}" for n, op in SUBMITS])
async def test_extra_body_and_headers_reach_the_wire(recorder: Recorder, is_async: bool, name: str, op: Any) -> None:
    recorded = fixture_for(name, op.name, "submit_", op.model).data
    recorder.body = recorded["exchanges"][0]["response"]["json"]
    client = make_client(client_class(name, is_async, op.model), recorder)
    await call(
        client, op.name, recorded["call"]["request"],
        extra_body={"seed": 42}, extra_headers={"X-Queue-Priority": "low"},
    )  # fmt: skip
    assert recorder.last_json() == {**recorded["exchanges"][0]["request"]["json"], "seed": 42}
    assert recorder.last.headers["x-queue-priority"] == "low"
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("name", WITH_JOBS)
def test_base_url_override_from_argument_and_environment(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    recorded = fixture_for(name, status_operation(name).name, "status_").data
    exchange = recorded["exchanges"][0]
    recorder.body = exchange["response"]["json"]
    recorder.status = exchange["response"]["status"]
    recorded_at = recorded.get("base_url") or provider(name).base_url  # a fixture recorded elsewhere names it
    relative = exchange["request"]["url"].removeprefix(recorded_at)
    assert relative != exchange["request"]["url"], "the fixture was recorded against its base URL"
    arguments = recorded["call"]["arguments"]
    client = make_client(client_class(name), recorder, base_url=f"http://127.0.0.1:9/{name}/")
    getattr(client, status_operation(name).name)(**arguments)
    assert str(recorder.last.url) == f"http://127.0.0.1:9/{name}{relative}"
    monkeypatch.setenv(base_url_env(name), "http://127.0.0.1:9/env")
    getattr(make_client(client_class(name), recorder), status_operation(name).name)(**arguments)
    assert str(recorder.last.url) == f"http://127.0.0.1:9/env{relative}"


@pytest.mark.parametrize("name", providers())
def test_api_key_from_environment_never_in_repr(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kling_sdk._runtime.errors import MissingApiKeyError

    cls = client_class(name)
    auth = provider(name).auth
    monkeypatch.delenv(auth.env, raising=False)
    with pytest.raises(MissingApiKeyError, match=auth.env):
        cls()
    monkeypatch.setenv(auth.env, "env-secret-key-123")
    client = cls()
    assert "env-secret-key-123" not in repr(client)
    assert client._headers(False, None)[auth.header] == f"{auth.scheme} env-secret-key-123"
    client.close()


@both
@pytest.mark.parametrize("name", providers())
async def test_context_managers_close_the_pool(is_async: bool, name: str) -> None:
    cls = client_class(name, is_async)
    if is_async:
        async with cls(api_key=API_KEY) as client:
            pool = client._client
        assert pool.is_closed
    else:
        with cls(api_key=API_KEY) as client:
            pool = client._client
        assert pool.is_closed
