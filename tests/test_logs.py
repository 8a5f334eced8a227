"""Where a provider sends logs only when asked (`[jobs] logs_query`), status checks and status streams ask for
them, so `JobStatus.logs` and the progress callback carry them."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest
from conftest import call
from test_http_client import AsyncWire, Wire, submit_call

from kling_sdk._runtime.jobs import Progress
from kling_sdk.testing import load_protocols

PROVIDERS = list(load_protocols()["providers"])
QUERIES = {p: dict(importlib.import_module(f"kling_sdk.{p}").PROVIDER.jobs.logs_query) for p in PROVIDERS}
ASKING = [p for p, query in QUERIES.items() if query]
STATUS_STREAMS = [p for p in ASKING if (load_protocols()["providers"][p]["stream"] or {}).get("kind") == "status"]
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


class _Closer:
    """Closes a caller's http_client with the test's other clients (`fresh_fake` calls `close()`)."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient) -> None:
        self.http = http

    def close(self) -> Any:
        return self.http.aclose() if isinstance(self.http, httpx.AsyncClient) else self.http.close()


def wired_client(fake: Any, provider: str, is_async: bool) -> tuple[Any, Wire | AsyncWire]:
    """A client of the fake whose own http_client keeps every request it sends."""
    wire: Wire | AsyncWire = AsyncWire() if is_async else Wire()
    http = httpx.AsyncClient(transport=wire) if is_async else httpx.Client(transport=wire)  # type: ignore[arg-type]
    client = fake.client(provider, is_async=is_async, http_client=http)
    fake.opened.append(_Closer(http))
    return client, wire


def asked_for_logs(request: Any, provider: str) -> bool:
    return all(request.url.params.get(name) == value for name, value in QUERIES[provider].items())


def test_the_providers_that_need_a_query_for_logs_are_known() -> None:
    assert ASKING  # else the tests below would test nothing


@both
@pytest.mark.parametrize("provider", ASKING)
async def test_status_asks_for_logs_and_they_fill_job_status(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, wire = wired_client(fresh_fake, provider, is_async)
    method, body = submit_call(provider)
    job = await call(client, method, body)
    fresh_fake.app.clock.sleep(30)  # running on the fake's virtual clock
    status = await call(client, "status", job)
    assert status.state == "running"
    assert status.logs and all(isinstance(line, str) and line for line in status.logs)
    status_requests = [r for r in wire.sent if r.method == "GET"]
    assert status_requests and all(asked_for_logs(r, provider) for r in status_requests)


@both
@pytest.mark.parametrize("provider", ASKING)
async def test_polling_asks_for_logs_and_progress_carries_them(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, wire = wired_client(fresh_fake, provider, is_async)
    method, body = submit_call(provider)
    job = await call(client, method, body)
    seen: list[Progress] = []
    await call(client, "wait", job, stream=False, on_progress=seen.append)
    assert any(p.logs for p in seen if p.state == "running")
    polls = [r for r in wire.sent if r.method == "GET"]
    assert len(polls) > 1 and all(asked_for_logs(r, provider) for r in polls)


@both
@pytest.mark.parametrize("provider", STATUS_STREAMS)
async def test_the_status_stream_asks_for_logs_and_progress_carries_them(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    client, wire = wired_client(fresh_fake, provider, is_async)
    method, body = submit_call(provider)
    job = await call(client, method, body)
    seen: list[Progress] = []
    await call(client, "wait", job, on_progress=seen.append)
    streams = [r for r in wire.sent if r.headers.get("accept") == "text/event-stream"]
    assert streams and all(asked_for_logs(r, provider) for r in streams)
    assert any(p.logs for p in seen if p.source == "stream" and p.state == "running")


@pytest.mark.parametrize("provider", ASKING)
def test_the_fake_leaves_logs_out_unless_asked(fresh_fake: Any, provider: str) -> None:
    client = fresh_fake.client(provider)
    method, body = submit_call(provider)
    job = getattr(client, method)(body)
    fresh_fake.app.clock.sleep(30)
    status_op = client._provider.jobs.status_op
    unasked = client._call(status_op, job.id)
    asked = client._call(status_op, job.id, None, QUERIES[provider])
    pointers = load_protocols()["providers"][provider]["logs"]
    assert pointers and all(_at(unasked.document, p) is None for p in pointers)
    assert all(_at(asked.document, p) for p in pointers)


def _at(document: Any, pointer: str) -> Any:
    for token in pointer.strip("/").split("/"):
        document = document.get(token) if isinstance(document, dict) else None
    return document
