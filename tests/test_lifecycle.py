"""Each provider's job lifecycle, sync and async from one parametrisation, against the in-process fake."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call
from fake_provider import PROVIDERS, VIDEO, FakeProvider, Fault, VirtualClock
from test_wire import client_class

from kling_sdk._runtime.errors import (
    APIConnectionError,
    DownloadError,
    GenerationFailedError,
    JobCancelledError,
    JobDeadlineExceededError,
    NotFoundError,
    RateLimitError,
    SubmitOutcomeUnknownError,
    UnsupportedOperationError,
)
from kling_sdk._runtime.jobs import Progress

I2V = {
    "oxen": {"prompt": "a hiker", "input_image": "https://example.com/hiker.png"},
    "aimlapi": {"prompt": "a hiker", "image_url": "https://example.com/hiker.png"},
    "sunra": {"prompt": "a hiker", "start_image_url": "https://example.com/hiker.png"},
    "fal": {"prompt": "a hiker", "start_image_url": "https://example.com/hiker.png"},
}
CAN_CANCEL = {"oxen": True, "aimlapi": False, "sunra": True, "fal": True}
FAILURE = {  # what each provider's failure looks like once normalised: (message fragment, code)
    "oxen": ("Insufficient credits", None),
    "aimlapi": ("Could not detect face", "face_detection_error"),
    "sunra": ("flagged", "unsafe_content"),
    "fal": ("Internal error", "runner_disconnected"),
}

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers = pytest.mark.parametrize("provider", PROVIDERS)


@dataclass
class Env:
    fake: FakeProvider
    client: Any
    clock: VirtualClock
    provider: str
    is_async: bool

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await call(self.client, method, *args, **kwargs)


def make_env(provider: str, is_async: bool, **fake_options: Any) -> Env:
    clock = VirtualClock()
    fake = FakeProvider(provider, clock, is_async=is_async, **fake_options)
    http = (httpx.AsyncClient if is_async else httpx.Client)(transport=fake.transport())
    client = client_class(provider, is_async)(api_key=API_KEY, http_client=http)
    client._clock = clock
    return Env(fake, client, clock, provider, is_async)


@both
@providers
async def test_full_lifecycle_to_a_file_on_disk(provider: str, is_async: bool, tmp_path: Path) -> None:
    env = make_env(provider, is_async)
    seen: list[Progress] = []
    result = await env("run_image_to_video", I2V[provider], on_progress=seen.append)

    assert [job.body for job in env.fake.jobs.values()] == [
        {**I2V[provider], **({"model": "kling-video-v2-6-pro-image-to-video"} if provider == "oxen" else {}),
         **({"model": "klingai/video-v2-6-pro-image-to-video"} if provider == "aimlapi" else {})}
    ]  # fmt: skip
    assert env.fake.calls["submit"] == 1
    job_id = next(iter(env.fake.jobs))
    assert result.job_id == job_id and result.provider == provider
    assert result.url.endswith(".mp4")
    if provider in ("sunra", "fal"):
        assert (result.file_size, result.content_type, result.file_name) == (len(VIDEO), "video/mp4", "output.mp4")
    states = [p.state for p in seen]
    assert states[0] == "queued" and states[-1] == "succeeded"
    if provider != "oxen":  # Oxen's stream only announces the end
        assert "running" in states
    assert all(a <= b for a, b in zip([p.elapsed for p in seen], [p.elapsed for p in seen][1:], strict=False))

    path = await env("download", result, tmp_path / "out.mp4")
    assert path.read_bytes() == VIDEO
    assert not (tmp_path / "out.mp4.part").exists()
    sent = env.fake.requests[-1]
    # The key goes to the provider's own host only (Oxen serves results there), never to a CDN.
    assert ("authorization" in sent.headers) == (provider == "oxen")


@both
@providers
async def test_polling_backs_off_and_notices_completion_quickly(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async, queued=30.0, running=90.0)
    job = await env("submit_image_to_video", I2V[provider])
    status = await env("wait", job, stream=False)
    assert status.state == "succeeded"
    polls = env.fake.calls["status"]
    assert polls <= 45, polls  # a fixed 0.1 s poll would have made 1200 requests
    notice = env.clock.now() - env.fake.completed_at[job.id]
    assert notice <= max(1.0, 0.1 * 120), notice
    assert min(env.clock.slept) >= 1.0  # never hammers the status endpoint


@both
@providers
async def test_failure_signalling_is_normalised(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async, outcome="failed")
    with pytest.raises(GenerationFailedError) as info:
        await env("run_image_to_video", I2V[provider])
    message, code = FAILURE[provider]
    assert message in info.value.message
    assert info.value.code == code
    assert info.value.job_id == next(iter(env.fake.jobs))
    assert info.value.provider == provider
    if provider == "sunra":
        assert info.value.retryable is False
    assert env.fake.calls["submit"] == 1


@both
@providers
async def test_failure_can_be_returned_instead_of_raised(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async, outcome="failed")
    job = await env("submit_image_to_video", I2V[provider])
    status = await env("wait", job, raise_on_failure=False, stream=False)
    assert status.state == "failed" and status.failure is not None
    assert (
        status.raw_status == {"oxen": "failed", "aimlapi": "error", "sunra": "COMPLETED", "fal": "COMPLETED"}[provider]
    )


@both
@providers
async def test_unknown_status_is_kept_logged_and_polled_on(
    provider: str, is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env(provider, is_async, unknown_status="PAUSED_FOR_MAINTENANCE")
    seen: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="kling_sdk"):
        result = await env("run_image_to_video", I2V[provider], on_progress=seen.append, stream=False)
    assert result.url.endswith(".mp4")
    unknown = [p for p in seen if p.state == "unknown"]
    assert unknown and unknown[0].raw_status == "PAUSED_FOR_MAINTENANCE"
    warnings = [r for r in caplog.records if "PAUSED_FOR_MAINTENANCE" in r.getMessage()]
    assert len(warnings) == 1  # once per value, not once per poll


@both
@providers
async def test_deadline_without_cancel_leaves_the_job_running(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    with pytest.raises(JobDeadlineExceededError) as info:
        await env("run_image_to_video", I2V[provider], deadline=30.0)
    assert info.value.job_id == next(iter(env.fake.jobs))
    assert info.value.cancelled is False
    assert env.fake.calls["cancel"] == 0
    assert 30.0 <= info.value.elapsed <= 31.0


@both
@providers
async def test_deadline_with_cancel(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    with pytest.raises(JobDeadlineExceededError) as info:
        await env("run_image_to_video", I2V[provider], deadline=30.0, cancel_on_deadline=True)
    assert info.value.cancelled is CAN_CANCEL[provider]
    assert env.fake.calls["cancel"] == (1 if CAN_CANCEL[provider] else 0)
    job = next(iter(env.fake.jobs.values()))
    assert (job.cancelled_at is not None) is CAN_CANCEL[provider]


@both
@providers
async def test_cancel(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    job = await env("submit_image_to_video", I2V[provider])
    if not CAN_CANCEL[provider]:
        with pytest.raises(UnsupportedOperationError, match="no cancel endpoint"):
            await env("cancel", job)
        return
    await env("cancel", job)
    status = await env("wait", job, raise_on_failure=False, stream=False)
    # Oxen and Sunra report a cancelled status; fal reports COMPLETED with error_type request_cancelled.
    assert status.state == "cancelled"
    with pytest.raises(JobCancelledError):
        await env("wait", job.id, stream=False)


STREAMING = ("oxen", "sunra", "fal")


@both
@pytest.mark.parametrize("provider", STREAMING)
async def test_event_stream_notices_completion_with_few_requests(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async, queued=30.0, running=570.0)
    seen: list[Progress] = []
    await env("run_image_to_video", I2V[provider], on_progress=seen.append)
    assert env.fake.calls["stream"] == 1
    assert env.fake.calls["status"] <= 3 + 600 // 30  # Oxen checks now and then for cancellation only
    assert "stream" in {p.source for p in seen}
    job_id = next(iter(env.fake.jobs))
    assert env.clock.now() - env.fake.completed_at[job_id] <= 16.0


async def test_oxen_subscribes_before_it_enqueues() -> None:
    env = make_env("oxen", False)
    env.client.run_image_to_video(I2V["oxen"])
    routes = [r.url.path for r in env.fake.requests]
    assert routes.index("/api/events") < routes.index("/api/ai/queue")


@both
async def test_oxen_cancelled_job_without_an_event_is_noticed(is_async: bool) -> None:
    env = make_env("oxen", is_async)
    job = await env("submit_image_to_video", I2V["oxen"])
    env.fake.jobs[job.id].cancelled_at = env.clock.now() + 20  # cancelled elsewhere; Oxen sends no event for it
    with pytest.raises(JobCancelledError):
        await env("wait", job, deadline=600)
    assert env.clock.now() - env.fake.jobs[job.id].created < 120


@both
@pytest.mark.parametrize("provider", STREAMING)
async def test_stream_drop_falls_back_to_polling(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async, stream_drop_after=3)
    result = await env("run_image_to_video", I2V[provider])
    assert result.url.endswith(".mp4")
    assert env.fake.calls["stream"] == 1
    assert env.fake.calls["status"] >= 2


@both
async def test_fal_status_answers_202_until_done(is_async: bool) -> None:
    env = make_env("fal", is_async)
    job = await env("submit_image_to_video", I2V["fal"])
    status = await env("status", job)
    assert status.state == "queued" and status.queue_position == 3
    assert env.fake.status_document(env.fake.jobs[job.id])[0] == 202
    env.clock.t += 500
    assert (await env("status", job)).state == "succeeded"


@both
async def test_aimlapi_ids_are_url_encoded_in_the_query(is_async: bool) -> None:
    env = make_env("aimlapi", is_async)
    job = await env("submit_image_to_video", I2V["aimlapi"])
    assert ":" in job.id and "/" in job.id
    await env("status", job)
    raw_query = env.fake.requests[-1].url.query.decode()
    assert "%3A" in raw_query and "%2F" in raw_query


@both
@providers
async def test_a_job_can_be_followed_from_its_id_alone(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    job = await env("submit_image_to_video", I2V[provider])
    resumed = env.client.job(job.id, task="image-to-video")
    await env("wait", resumed, stream=False)
    result = await env("result", resumed)
    assert result.job_id == job.id
    assert job.to_dict()["id"] == job.id


# ---------------------------------------------------------------------------------------------- retries


@both
@providers
async def test_submit_answered_by_5xx_is_sent_exactly_once(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    env.fake.fail("submit", Fault(status=503, times=5))
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        await env("submit_image_to_video", I2V[provider])
    assert env.fake.calls["submit"] == 1
    assert info.value.request_body["prompt"] == "a hiker"  # what is needed to find the job
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value.request_body)


@both
@providers
async def test_submit_read_timeout_is_not_resent(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    env.fake.fail("submit", Fault(error=httpx.ReadTimeout))
    with pytest.raises(SubmitOutcomeUnknownError):
        await env("submit_image_to_video", I2V[provider])
    assert env.fake.calls["submit"] == 1


@both
@providers
async def test_submit_that_never_arrived_is_retried(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    env.fake.fail("submit", Fault(error=httpx.ConnectError))
    rate = 403 if provider == "sunra" else 429  # Sunra answers rate limits with 403
    env.fake.fail("submit", Fault(status=rate, headers={"Retry-After": "2"}))
    job = await env("submit_image_to_video", I2V[provider])
    assert env.fake.calls["submit"] == 3
    assert len(env.fake.jobs) == 1 and job.id in env.fake.jobs
    assert 2.0 in env.clock.slept  # Retry-After honoured


@both
async def test_rate_limit_after_retries_is_typed(is_async: bool) -> None:
    env = make_env("fal", is_async)
    env.fake.fail("submit", Fault(status=429, headers={"Retry-After": "7"}, times=20))
    with pytest.raises(RateLimitError) as info:
        await env("submit_image_to_video", I2V["fal"])
    assert info.value.retry_after == 7.0 and info.value.provider == "fal"
    assert env.fake.calls["submit"] == 9  # sent at 0, 7, ..., 56: the next wait would end past the 60 s budget


@both
async def test_idempotent_provider_may_retry_a_submit_with_the_same_key(is_async: bool) -> None:
    from dataclasses import replace

    env = make_env("fal", is_async)
    provider = env.client._provider
    jobs = replace(provider.jobs, idempotency_header="Idempotency-Key")
    env.client._provider = replace(provider, jobs=jobs)
    env.fake.fail("submit", Fault(status=502))
    await env("submit_image_to_video", I2V["fal"], idempotency_key="line-7")
    submits = [r for r in env.fake.requests if r.method == "POST"]
    assert len(submits) == 2
    assert {r.headers["idempotency-key"] for r in submits} == {"line-7"}


@both
@providers
async def test_status_checks_ride_out_an_outage(provider: str, is_async: bool) -> None:
    env = make_env(provider, is_async)
    job = await env("submit_image_to_video", I2V[provider])
    env.fake.fail("status", Fault(status=503, times=4))
    env.fake.fail("status", Fault(error=httpx.ConnectError, times=3))
    status = await env("wait", job, stream=False)
    assert status.state == "succeeded"


@both
async def test_status_error_that_is_not_transient_is_raised(is_async: bool) -> None:
    env = make_env("oxen", is_async)
    with pytest.raises(NotFoundError):
        await env("wait", "no-such-generation", stream=False)


# ---------------------------------------------------------------------------------------------- downloads


@both
async def test_download_resumes_with_range(is_async: bool, tmp_path: Path) -> None:
    env = make_env("fal", is_async, truncate_download=[300_000, 700_000])
    job = await env("submit_image_to_video", I2V["fal"])
    await env("wait", job, stream=False)
    result = await env("result", job)
    path = await env("download", result, tmp_path / "clip.mp4")
    assert path.read_bytes() == VIDEO
    ranges = [r.headers.get("range") for r in env.fake.requests if r.url.host == "cdn.fake.test"]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[2].startswith("bytes=")


@both
async def test_download_without_range_support_starts_over(is_async: bool, tmp_path: Path) -> None:
    env = make_env("sunra", is_async, truncate_download=[500_000], range_support=False)
    job = await env("submit_image_to_video", I2V["sunra"])
    await env("wait", job, stream=False)
    path = await env("download", await env("result", job), tmp_path / "clip.mp4")
    assert path.read_bytes() == VIDEO


@both
async def test_download_size_mismatch_is_an_error_and_no_file_appears(is_async: bool, tmp_path: Path) -> None:
    env = make_env("fal", is_async, stated_size=len(VIDEO) + 10)
    job = await env("submit_image_to_video", I2V["fal"])
    await env("wait", job, stream=False)
    with pytest.raises(DownloadError, match="stated"):
        await env("download", await env("result", job), tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


@both
async def test_download_gives_up_after_repeated_drops_keeping_the_part(is_async: bool, tmp_path: Path) -> None:
    env = make_env("fal", is_async, truncate_download=[100_000, 200_000, 300_000, 400_000])
    job = await env("submit_image_to_video", I2V["fal"])
    await env("wait", job, stream=False)
    result = await env("result", job)
    with pytest.raises(DownloadError, match="resume"):
        await env("download", result, tmp_path / "clip.mp4", max_resumes=2)
    assert 300_000 <= (tmp_path / "clip.mp4.part").stat().st_size < len(VIDEO)
    assert not (tmp_path / "clip.mp4").exists()
    path = await env("download", result, tmp_path / "clip.mp4")  # a later call resumes where it stopped
    assert path.read_bytes() == VIDEO


# ---------------------------------------------------------------------------------------------- file inputs


@both
async def test_sunra_uploads_a_local_file_then_submits_its_url(is_async: bool, tmp_path: Path) -> None:
    from test_inputs import png

    image = tmp_path / "photo.png"
    image.write_bytes(png(640, 480))
    env = make_env("sunra", is_async)
    job = await env("submit_image_to_video", {"prompt": "p", "start_image_url": image})
    submitted = env.fake.jobs[job.id].body["start_image_url"]
    assert submitted.startswith("https://cdn.fake.test/uploads/") and submitted.endswith(".png")
    assert env.fake.uploads == [image.read_bytes()]


@both
@pytest.mark.parametrize(("provider", "field"), [("fal", "start_image_url"), ("aimlapi", "image_url")])
async def test_data_uri_providers_inline_local_bytes(provider: str, field: str, is_async: bool) -> None:
    from test_inputs import png

    env = make_env(provider, is_async)
    job = await env("submit_image_to_video", {"prompt": "p", field: png(400, 400)})
    assert env.fake.jobs[job.id].body[field].startswith("data:image/png;base64,")


@both
async def test_connection_refused_everywhere_is_a_typed_error(is_async: bool) -> None:
    env = make_env("aimlapi", is_async)
    env.fake.fail("status", Fault(error=httpx.ConnectError, times=10))
    with pytest.raises(APIConnectionError):
        await env("status", "x:y/z")
