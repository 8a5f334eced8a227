"""`result()` by id on a job that failed, was cancelled or is not finished raises the typed error, never a bare
4xx: from the result endpoint's failure answer where the manifest declares it (`errors.job_failed`), else from
the job's status."""

from __future__ import annotations

import importlib
import json
from typing import Any

import httpx
import pytest
from conftest import API_KEY, ROOT, call
from test_http_client import submit_call

from codegen.drift.fixtures import load_fixtures
from kling_sdk._runtime import errors
from kling_sdk._runtime.errors import (
    APIStatusError,
    GenerationFailedError,
    JobCancelledError,
    JobNotFinishedError,
)
from kling_sdk.testing import Fault, load_protocols

PROTOCOLS = load_protocols()["providers"]
PROVIDERS = list(PROTOCOLS)
CONFIGS = {p: importlib.import_module(f"kling_sdk.{p}").PROVIDER for p in PROVIDERS}
DECLARED = {p for p, config in CONFIGS.items() if config.errors.job_failed is not None}
WITH_RESULT = [p for p, proto in PROTOCOLS.items() if any(r["kind"] == "result" for r in proto["routes"])]
CANCELLING = [p for p, proto in PROTOCOLS.items() if any(r["kind"] == "cancel" for r in proto["routes"])]
DONE = 200  # seconds on the fake's virtual clock after which every job has ended
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers = pytest.mark.parametrize("provider", PROVIDERS)


async def submitted(fake: Any, provider: str, is_async: bool, **fault: Any) -> tuple[Any, str]:
    client = fake.client(provider, is_async=is_async)
    if fault:
        fake.app.inject(provider, "submit", Fault(**fault))
    method, body = submit_call(provider)
    job = await call(client, method, body)
    return client, job.id


def status_checks(fake: Any, provider: str) -> int:
    return fake.app.count(provider, "status")


@both
@providers
async def test_a_failed_job_read_by_id_raises_its_failure(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, job_id = await submitted(fresh_fake, provider, is_async, fail_generation=True)
    fresh_fake.app.clock.sleep(DONE)
    final = await call(client, "wait", job_id, raise_on_failure=False)
    assert final.state == "failed" and final.failure is not None
    checks = status_checks(fresh_fake, provider)
    with pytest.raises(GenerationFailedError) as info:
        await call(client, "result", job_id)  # by id alone, as from another process
    error = info.value
    assert type(error) is GenerationFailedError
    assert (error.message, error.code, error.retryable) == (
        final.failure.message, final.failure.code, final.failure.retryable,
    )  # fmt: skip
    assert error.job_id == job_id and error.provider == provider
    if provider in DECLARED:  # the result endpoint's answer said it all
        assert status_checks(fresh_fake, provider) == checks


@both
@providers
async def test_an_unfinished_job_read_by_id_says_so(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, job_id = await submitted(fresh_fake, provider, is_async)
    fresh_fake.app.clock.sleep(30)  # queued 10 s, then running
    with pytest.raises(JobNotFinishedError) as info:
        await call(client, "result", job_id)
    assert info.value.state == "running" and info.value.job_id == job_id
    assert f"{provider}:{job_id}" == info.value.job_ref and "not finished" in str(info.value)


@both
@pytest.mark.parametrize("provider", CANCELLING)
async def test_a_cancelled_job_read_by_id_raises_a_generation_failure(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    client, job_id = await submitted(fresh_fake, provider, is_async)
    await call(client, "cancel", job_id)
    fresh_fake.app.clock.sleep(DONE)
    with pytest.raises(GenerationFailedError) as info:
        await call(client, "result", job_id)
    if provider not in DECLARED:  # read from the status, which says "cancelled"
        assert isinstance(info.value, JobCancelledError)


@both
@pytest.mark.parametrize("provider", WITH_RESULT)
async def test_a_refusal_of_a_finished_jobs_result_stands(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, job_id = await submitted(fresh_fake, provider, is_async)
    fresh_fake.app.clock.sleep(DONE)
    fresh_fake.app.inject(provider, "result", Fault(status=409))
    with pytest.raises(APIStatusError) as info:
        await call(client, "result", job_id)
    assert info.value.status_code == 409  # the job succeeded: nothing else to say


@both
@pytest.mark.parametrize("provider", WITH_RESULT)
async def test_a_finished_job_is_still_one_request(fresh_fake: Any, provider: str, is_async: bool) -> None:
    client, job_id = await submitted(fresh_fake, provider, is_async)
    fresh_fake.app.clock.sleep(DONE)
    result = await call(client, "result", job_id)
    assert result.url and status_checks(fresh_fake, provider) == 0


RECORDED = [f for f in load_fixtures(ROOT / "tests" / "fixtures") if "expect_result" in f.data]


def test_recorded_failure_answers_exist_where_declared() -> None:
    assert {f.provider for f in RECORDED} == DECLARED


@both
@pytest.mark.parametrize("fixture", RECORDED, ids=[f.name for f in RECORDED])
async def test_the_recorded_failure_answer_is_the_jobs_failure(fixture: Any, is_async: bool) -> None:
    answers = iter(fixture.data["exchanges"])
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        response = next(answers)["response"]
        return httpx.Response(
            response["status"], content=json.dumps(response["json"]).encode(), headers=response["headers"]
        )

    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=transport) if is_async else httpx.Client(transport=transport)
    info = PROTOCOLS[fixture.provider]["client"]
    cls = getattr(importlib.import_module(info["module"]), info["async" if is_async else "sync"])
    client = cls(api_key=API_KEY, http_client=http, max_retries=0)
    job_id = next(iter(fixture.data["call"]["arguments"].values()))
    expect = fixture.data["expect_result"]
    with pytest.raises(GenerationFailedError) as raised:
        await call(client, "result", job_id)
    assert type(raised.value) is getattr(errors, expect["error"])
    assert (raised.value.code, raised.value.retryable, raised.value.message) == (
        expect["code"], expect["retryable"], expect["message"],
    )  # fmt: skip
    assert [str(r.url) for r in sent] == [e["request"]["url"] for e in fixture.data["exchanges"]]
    await call(client, "close")
    await (http.aclose() if is_async else _sync_close(http))


async def _sync_close(http: httpx.Client) -> None:
    http.close()
