"""Job ids survive every path: `run_<task>(on_submitted=...)`, and every error raised after a submit was accepted
carries `job_id` and `job_ref`, in the per-provider clients and in `Kling` / `AsyncKling`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.errors import APIError, DownloadError, KlingError, NotFoundError, ServerError
from kling_sdk._runtime.jobs import Job, PollPolicy
from kling_sdk.testing import FakeServer, load_protocols
from kling_sdk.unified import AsyncKling, ImageToVideo, Kling, job_ref, to_wire

PROTOCOLS = load_protocols()["providers"]
PROVIDERS = list(PROTOCOLS)
WITH_RESULT = [p for p, proto in PROTOCOLS.items() if any(r["kind"] == "result" for r in proto["routes"])]
REQUEST = ImageToVideo(prompt="a hiker", start_image="https://example.com/hiker.png")
FAST = PollPolicy(initial=1.0, cap=2.0)

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
pytestmark = pytest.mark.usefixtures("fresh_fake")


def _run(provider: str) -> tuple[str, dict[str, Any]]:
    operation, body = to_wire(REQUEST, provider)
    return operation.replace("submit_", "run_", 1), body


def _assert_carries(error: KlingError, provider: str, seen: list[Job[Any]]) -> None:
    assert len(seen) == 1, "on_submitted was not called exactly once"
    assert error.job_id == seen[0].id and error.job_ref == f"{provider}:{seen[0].id}" == job_ref(seen[0])
    assert seen[0].id in str(error)


@both
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_run_calls_on_submitted_and_a_404_while_following_carries_the_job(
    fake: FakeServer, provider: str, is_async: bool
) -> None:
    client = fake.client(provider, is_async=is_async)
    fake.app.inject(provider, "status", status=404, times=None)
    method, body = _run(provider)
    seen: list[Job[Any]] = []
    with pytest.raises(NotFoundError) as info:
        await call(client, method, body, on_submitted=seen.append, stream=False, poll=FAST)
    _assert_carries(info.value, provider, seen)


@both
@pytest.mark.parametrize("provider", WITH_RESULT)
async def test_a_server_error_fetching_the_result_of_a_paid_job_carries_the_job(
    fake: FakeServer, provider: str, is_async: bool
) -> None:
    client = fake.client(provider, is_async=is_async, max_retries=0)
    fake.app.inject(provider, "result", status=500, times=None)
    method, body = _run(provider)
    seen: list[Job[Any]] = []
    with pytest.raises(ServerError) as info:
        await call(client, method, body, on_submitted=seen.append, stream=False, poll=FAST)
    _assert_carries(info.value, provider, seen)
    assert fake.app.jobs[(provider, seen[0].id)].state(fake.app.now()) == "succeeded"  # a paid, finished job


@both
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_kling_run_errors_after_acceptance_carry_the_job(fake: FakeServer, provider: str, is_async: bool) -> None:
    cls = AsyncKling if is_async else Kling
    kling = cls(provider, api_keys={provider: API_KEY}, base_url=fake.base_url(provider), max_retries=0)
    kling.client(provider)._clock = fake.app.clock  # the module's fake runs on virtual time
    fake.app.inject(provider, "status", status=404, times=None)
    seen: list[Job[Any]] = []
    try:
        with pytest.raises(APIError) as info:
            await call(kling, "run", REQUEST, on_submitted=seen.append, stream=False, poll=FAST)
    finally:
        await call(kling, "close")
    _assert_carries(info.value, provider, seen)


@both
async def test_a_failed_download_carries_the_job(fake: FakeServer, is_async: bool, tmp_path: Path) -> None:
    provider = PROVIDERS[0]
    client = fake.client(provider, is_async=is_async, max_retries=0)
    method, body = _run(provider)
    seen: list[Job[Any]] = []
    result = await call(client, method, body, on_submitted=seen.append, poll=FAST)
    fake.app.inject(provider, "download", drop=True, times=None)
    with pytest.raises(DownloadError) as info:
        await call(client, "download", result, tmp_path / "v.mp4", max_resumes=1)
    _assert_carries(info.value, provider, seen)
