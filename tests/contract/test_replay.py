"""Replay: each recorded fixture drives the generated client; the request it builds must equal the recorded one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call
from contract_support import REDACTED, Fixture, load_fixtures
from manifest_support import client_class, model_class

from kling_sdk._runtime import errors
from kling_sdk._runtime.jobs import Job

FIXTURES = load_fixtures()
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def replay_client(fixture: Fixture, is_async: bool) -> tuple[Any, list[httpx.Request]]:
    """A generated client whose transport answers with the fixture's responses, in order, keeping the requests."""
    answers = iter(fixture.data["exchanges"])
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        exchange = next(answers, None)
        if exchange is None:
            raise AssertionError(f"{fixture.name}: the client sent more requests than were recorded: {request.url}")
        response = exchange["response"]
        content = json.dumps(response["json"]).encode() if response["json"] is not None else b""
        return httpx.Response(response["status"], content=content, headers=response["headers"])

    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=transport) if is_async else httpx.Client(transport=transport)
    base_url = fixture.data.get("base_url")  # set when recorded somewhere else than the provider (the fake)
    client = client_class(fixture.provider, is_async, fixture.model)(
        api_key=API_KEY, base_url=base_url, http_client=http, max_retries=0
    )
    return client, sent


async def invoke(client: Any, fixture: Fixture) -> Any:
    """Call the fixture's operation the way a user would."""
    spec = fixture.data["call"]
    if "request" in spec:
        return await call(client, spec["operation"], spec["request"], extra_body=spec.get("extra_body"))
    return await call(client, spec["operation"], **spec["arguments"])


def assert_same_request(fixture: Fixture, n: int, sent: httpx.Request, recorded: dict[str, Any]) -> None:
    where = f"{fixture.name} exchange {n}"
    assert sent.method == recorded["method"], f"{where}: method"
    assert str(sent.url) == recorded["url"], f"{where}: URL {sent.url} != {recorded['url']}"
    for name, value in recorded["headers"].items():
        assert sent.headers.get(name) == value.replace(REDACTED, API_KEY), f"{where}: header {name}"
    body = json.loads(sent.content) if sent.content else None
    assert body == recorded["json"], f"{where}: body {json.dumps(body)} != {json.dumps(recorded['json'])}"


@both
@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
async def test_replay_builds_the_recorded_request_and_parses_the_recorded_response(
    fixture: Fixture, is_async: bool
) -> None:
    await replay(fixture, is_async)


async def replay(fixture: Fixture, is_async: bool) -> None:
    """Drive the client with the fixture; assert the requests it built and what it made of the answers."""
    client, sent = replay_client(fixture, is_async)
    expect = fixture.data.get("expect", {})
    try:
        if "error" in expect:
            with pytest.raises(errors.APIStatusError) as raised:
                await invoke(client, fixture)
            error = raised.value
            assert type(error).__name__ == expect["error"], f"{fixture.name}: {error!r}"
            assert expect["message"] in error.message, f"{fixture.name}: {error.message!r}"
            assert error.code == expect.get("code", error.code)
            assert error.request_id == expect.get("request_id", error.request_id)
            assert error.status_code == fixture.data["exchanges"][-1]["response"]["status"]
        else:
            result = await invoke(client, fixture)
            model = result.response if isinstance(result, Job) else result
            if isinstance(result, Job):  # a submit hands back a job handle; the provider's typed answer rides along
                assert (result.provider, result.operation) == (fixture.provider, fixture.operation), fixture.name
                assert result.id == expect["job_id"], f"{fixture.name}: job id {result.id!r}"
            recorded = fixture.data["exchanges"][-1]["response"]["json"]
            assert type(model).__name__ == expect["model"], f"{fixture.name}: parsed into {type(model).__name__}"
            assert type(model) is model_class(fixture.provider, expect["model"], fixture.model), (
                f"{fixture.name}: not the SDK's class"
            )
            dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
            assert dumped == (recorded if recorded is not None else {}), fixture.name  # None: an empty answer
    finally:
        closed = client.close()
        if hasattr(closed, "__await__"):
            await closed
    assert len(sent) == len(fixture.data["exchanges"]), f"{fixture.name}: {len(sent)} requests sent"
    for n, (request, exchange) in enumerate(zip(sent, fixture.data["exchanges"], strict=True)):
        assert_same_request(fixture, n, request, exchange["request"])
