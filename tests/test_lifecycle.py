"""Each provider's job lifecycle, sync and async from one parametrisation, against the spec-driven fake provider.

The fake (`kling_sdk.testing`) is a real HTTP server on loopback speaking every provider's protocol from the
manifest and the vendored specs, on a virtual clock shared with the clients, with faults injected per route. What
the network itself does (a refused connection, a read timeout after the request left, a server that ignores
`Range`) is scripted in `Tap`, the client's transport, which also keeps every request the client sent. Providers and
the facts each test needs (cancel, streams, uploads, rate-limit statuses, failure signalling) come from the manifest;
a test about one provider's quirk runs for every provider with that fact and is skipped when none has it.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import API_KEY, Recorder, call, make_client
from manifest_support import (
    at,
    can_cancel,
    client_class,
    failure,
    has_fake,
    image_submit,
    job_field,
    job_id_parameter,
    operation,
    operations,
    provider,
    providers,
    raw_status,
    start_image_field,
    status_operation,
    stream_kind,
    submit_body,
    wire_body,
    wire_path,
    with_fact,
)

from kling_sdk._runtime.base_client import Clock
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
from kling_sdk.testing import FakeServer, VirtualClock, serve

VIDEO = bytes(range(256)) * 4096  # 1 MiB: downloads are cut and resumed at byte offsets
PROVIDERS = providers(lambda p: p.jobs and has_fake(p))
SUBMIT = {name: operations(name, "submit")[0].name for name in PROVIDERS}  # the provider's first declared task

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
every = pytest.mark.parametrize("name", PROVIDERS)


def having(where: Callable[[Any], Any], reason: str) -> Any:
    """Parametrise over the providers with a manifest fact (skipped when none has it)."""
    return pytest.mark.parametrize("name", with_fact(lambda p: p.name in PROVIDERS and where(p), reason))


# ---------------------------------------------------------------------------------------------- the client's side
@dataclass
class _Scripted:
    matches: Callable[[httpx.Request], bool]
    error: type[httpx.TransportError]
    times: int
    after_sending: bool  # the request reached the server (and took effect) before the error


@dataclass
class Tap:
    """Between a client and the network: keeps every request; fails the ones a test scripts; can drop `Range`."""

    requests: list[httpx.Request] = field(default_factory=list)
    answers: list[tuple[httpx.Request, int]] = field(default_factory=list)  # (request, HTTP status) as received
    scripted: list[_Scripted] = field(default_factory=list)
    ignore_range: bool = False  # the server then answers every download with the whole file

    def fail(
        self, matches: Callable[[httpx.Request], bool], error: type[httpx.TransportError], times: int = 1,
        *, after_sending: bool = False,
    ) -> None:  # fmt: skip
        self.scripted.append(_Scripted(matches, error, times, after_sending))

    def before(self, request: httpx.Request) -> _Scripted | None:
        self.requests.append(request)
        if self.ignore_range:
            request.headers.pop("range", None)
        for script in self.scripted:
            if script.times > 0 and script.matches(request):
                script.times -= 1
                if not script.after_sending:
                    raise script.error("scripted", request=request)
                return script
        return None


class _SyncTap(httpx.HTTPTransport):
    def __init__(self, tap: Tap) -> None:
        super().__init__()
        self.tap = tap

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        script = self.tap.before(request)
        response = super().handle_request(request)
        self.tap.answers.append((request, response.status_code))
        if script is not None:
            response.close()
            raise script.error("scripted after the request was sent", request=request)
        return response


class _AsyncTap(httpx.AsyncHTTPTransport):
    def __init__(self, tap: Tap) -> None:
        super().__init__()
        self.tap = tap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        script = self.tap.before(request)
        response = await super().handle_async_request(request)
        self.tap.answers.append((request, response.status_code))
        if script is not None:
            await response.aclose()
            raise script.error("scripted after the request was sent", request=request)
        return response


class ClientClock(Clock):
    """The client's view of the shared virtual clock; keeps how long the client chose to sleep."""

    def __init__(self, shared: VirtualClock) -> None:
        self.shared = shared
        self.slept: list[float] = []

    def now(self) -> float:
        return self.shared.now()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.shared.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.shared.asleep(seconds)


def route(name: str, op_name: str) -> Callable[[httpx.Request], bool]:
    """Whether a request is for an operation: its method and wire path (placeholders match one segment)."""
    op = operation(name, op_name)
    parts = re.split(r"({[^}]+})", wire_path(op))
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p)
    return lambda r: r.method == op.method and re.search(f"{pattern}$", r.url.path) is not None


# ---------------------------------------------------------------------------------------------- the fake's side
@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    # One push (and, on an idle event stream, one keep-alive) per virtual second, as the providers document.
    with serve(clock=VirtualClock(), api_key=API_KEY, video=VIDEO, tick=1.0, keepalive=1.0) as running:
        yield running


@dataclass
class Env:
    server: FakeServer
    client: Any
    tap: Tap
    clock: ClientClock
    name: str
    is_async: bool

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await call(self.client, method, *args, **kwargs)

    @property
    def app(self) -> Any:
        return self.server.app

    @property
    def submit(self) -> str:
        return SUBMIT[self.name]

    @property
    def body(self) -> dict[str, Any]:
        return submit_body(self.name, self.submit)

    def only_job(self) -> Any:
        [job] = [job for (owner, _), job in self.app.jobs.items() if owner == self.name]
        return job

    def sent(self, op_name: str) -> list[httpx.Request]:
        return [r for r in self.tap.requests if route(self.name, op_name)(r)]


@pytest.fixture
async def envs(server: FakeServer) -> Any:
    """Makes an Env per call: the fake emptied and timed as asked, a client on a Tap; closes the clients after."""
    made: list[Env] = []

    def make(name: str, is_async: bool, *, queued: float = 10.0, running: float = 110.0) -> Env:
        server.app.reset()
        server.app.queued, server.app.running = queued, running
        tap = Tap()
        http = httpx.AsyncClient(transport=_AsyncTap(tap)) if is_async else httpx.Client(transport=_SyncTap(tap))
        client = server.client(name, is_async=is_async, api_key=API_KEY, http_client=http)
        clock = ClientClock(server.app.clock)
        client._clock = clock
        made.append(Env(server, client, tap, clock, name, is_async))
        return made[-1]

    yield make
    for env in made:
        closed = env.client.close()
        if hasattr(closed, "__await__"):
            await closed


Make = Callable[..., Env]


def _run(op_name: str) -> str:
    return op_name.replace("submit_", "run_")


# ---------------------------------------------------------------------------------------------- the lifecycle
@both
@every
async def test_full_lifecycle_to_a_file_on_disk(envs: Make, name: str, is_async: bool, tmp_path: Path) -> None:
    env = envs(name, is_async)
    seen: list[Progress] = []
    result = await env(_run(env.submit), env.body, on_progress=seen.append)

    job = env.only_job()
    assert job.body == wire_body(name, env.submit, env.body)  # the request plus the model id the client adds
    assert env.app.count(name, "submit") == 1
    assert result.job_id == job.id and result.provider == name
    assert urlsplit(result.url).path.endswith(".mp4")
    if job_field(provider(name), "video_size"):  # the provider states the file's metadata
        assert (result.file_size, result.content_type, result.file_name) == (len(VIDEO), "video/mp4", "output.mp4")
    states = [p.state for p in seen]
    assert states[0] == "queued" and states[-1] == "succeeded"
    if stream_kind(provider(name)) != "events":  # a user-wide event stream only announces the end
        assert "running" in states
    elapsed = [p.elapsed for p in seen]
    assert all(a <= b for a, b in itertools.pairwise(elapsed))

    path = await env("download", result, tmp_path / "out.mp4")
    assert path.read_bytes() == VIDEO
    assert not (tmp_path / "out.mp4.part").exists()


@every
def test_the_key_goes_to_the_providers_own_host_only_never_to_a_cdn(name: str) -> None:
    client = make_client(client_class(name), Recorder())
    auth = provider(name).auth.header.lower()
    own = client._download_request(httpx.URL(f"{client.base_url}/files/video.mp4"), 0, None)
    cdn = client._download_request(httpx.URL("https://cdn.example.net/signed/video.mp4?sig=abc"), 0, None)
    assert own.headers[auth].endswith(API_KEY)
    assert auth not in cdn.headers


@both
@every
async def test_polling_backs_off_and_notices_completion_quickly(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async, queued=30.0, running=90.0)
    job = await env(env.submit, env.body)
    status = await env("wait", job, stream=False)
    assert status.state == "succeeded"
    polls = env.app.count(name, "status")
    assert polls <= 45, polls  # a fixed 0.1 s poll would have made 1200 requests
    notice = env.clock.now() - env.only_job().ends
    assert notice <= max(1.0, 0.1 * 120), notice
    assert min(env.clock.slept) >= 1.0  # never hammers the status endpoint


@both
@every
async def test_failure_signalling_is_normalised(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "submit", fail_generation=True)
    with pytest.raises(GenerationFailedError) as info:
        await env(_run(env.submit), env.body)
    expected = failure(name)
    assert expected["message"] in info.value.message
    assert info.value.code == (expected.get("code") if job_field(provider(name), "failure_code") else None)
    assert info.value.job_id == env.only_job().id
    assert info.value.provider == name
    if job_field(provider(name), "failure_retryable"):
        assert info.value.retryable is expected.get("retryable", False)
    assert env.app.count(name, "submit") == 1


@both
@every
async def test_failure_can_be_returned_instead_of_raised(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "submit", fail_generation=True)
    job = await env(env.submit, env.body)
    status = await env("wait", job, raise_on_failure=False, stream=False)
    assert status.state == "failed" and status.failure is not None
    assert status.raw_status == raw_status(name, "failed")


@both
@every
async def test_unknown_status_is_kept_logged_and_polled_on(
    envs: Make, name: str, is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "submit", unknown_status="PAUSED_FOR_MAINTENANCE")
    seen: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="kling_sdk"):
        result = await env(_run(env.submit), env.body, on_progress=seen.append, stream=False)
    assert urlsplit(result.url).path.endswith(".mp4")
    unknown = [p for p in seen if p.state == "unknown"]
    assert unknown and unknown[0].raw_status == "PAUSED_FOR_MAINTENANCE"
    warnings = [r for r in caplog.records if "PAUSED_FOR_MAINTENANCE" in r.getMessage()]
    assert len(warnings) == 1  # once per value, not once per poll


# While the client polls, virtual time moves only when it sleeps: the deadline is met to the second. On a stream, the
# fake's stream loop advances the shared clock on the server's thread (a push or keep-alive per virtual second, 1 ms
# apart), so by the time the client has read a line the clock may be a few ticks on: honoured, within that slack.
STREAM_SLACK = 15.0


@both
@every
async def test_deadline_without_cancel_leaves_the_job_running(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    with pytest.raises(JobDeadlineExceededError) as info:
        await env(_run(env.submit), env.body, deadline=30.0, stream=False)
    assert info.value.job_id == env.only_job().id
    assert info.value.cancelled is False
    assert env.app.count(name, "cancel") == 0
    assert 30.0 <= info.value.elapsed <= 31.0


@both
@having(stream_kind, "has an event or status stream")
async def test_deadline_on_a_stream_leaves_the_job_running(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    with pytest.raises(JobDeadlineExceededError) as info:
        await env(_run(env.submit), env.body, deadline=30.0)
    assert info.value.job_id == env.only_job().id
    assert info.value.cancelled is False and env.app.count(name, "cancel") == 0
    assert env.app.count(name, "stream") == 1  # it was following the stream, not polling
    assert 30.0 <= info.value.elapsed <= 30.0 + STREAM_SLACK  # the job runs 120 s: a deadline ignored would show
    assert env.only_job().state(env.app.now()) in ("queued", "running")


@both
@every
async def test_deadline_with_cancel(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    cancels = can_cancel(provider(name))
    with pytest.raises(JobDeadlineExceededError) as info:
        await env(_run(env.submit), env.body, deadline=30.0, cancel_on_deadline=True)
    assert info.value.cancelled is cancels
    assert env.app.count(name, "cancel") == (1 if cancels else 0)
    assert (env.only_job().cancelled_at is not None) is cancels


@both
@every
async def test_cancel(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    job = await env(env.submit, env.body)
    if not can_cancel(provider(name)):
        with pytest.raises(UnsupportedOperationError, match="no cancel endpoint"):
            await env("cancel", job)
        return
    await env("cancel", job)
    status = await env("wait", job, raise_on_failure=False, stream=False)
    # Every provider's cancel ends `cancelled`: a cancelled status, or (fal) its success status with an error code the
    # manifest declares a cancellation (`[jobs] cancelled_codes`).
    assert status.state == "cancelled"
    with pytest.raises(JobCancelledError):
        await env("wait", job.id, stream=False)


@both
@having(stream_kind, "has an event or status stream")
async def test_event_stream_notices_completion_with_few_requests(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async, queued=30.0, running=570.0)
    seen: list[Progress] = []
    noticed: list[float] = []  # the shared clock when the client reported the end (not after its later calls)

    def progress(update: Progress) -> None:
        seen.append(update)
        if update.state == "succeeded":
            noticed.append(env.clock.now())

    await env(_run(env.submit), env.body, on_progress=progress)
    assert env.app.count(name, "stream") == 1  # both kinds of stream are the route `stream`
    assert env.app.count(name, "status") <= 3 + 600 // 30  # a user-wide stream checks now and then for cancellation
    assert "stream" in {p.source for p in seen}
    assert noticed[0] - env.only_job().ends <= 16.0


@having(lambda p: stream_kind(p) == "events", "has a user-wide event stream")
async def test_a_user_wide_stream_is_subscribed_to_before_the_submit(envs: Make, name: str) -> None:
    env = envs(name, False)
    getattr(env.client, _run(env.submit))(env.body)
    stream_path = provider(name).jobs.stream.path  # type: ignore[union-attr]
    order = [r.url.path for r in env.tap.requests]
    first_event = next(i for i, p in enumerate(order) if p.endswith(stream_path))
    first_submit = next(i for i, r in enumerate(env.tap.requests) if route(name, env.submit)(r))
    assert first_event < first_submit


@both
@having(lambda p: stream_kind(p) == "events", "has a user-wide event stream")
async def test_a_cancelled_job_without_an_event_is_noticed(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    job = await env(env.submit, env.body)
    env.only_job().cancelled_at = env.clock.now() + 20  # cancelled elsewhere; the stream sends no event for it
    with pytest.raises(JobCancelledError):
        await env("wait", job, deadline=600)
    assert env.clock.now() - env.only_job().created < 120


@both
@having(stream_kind, "has an event or status stream")
async def test_stream_drop_falls_back_to_polling(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "stream", drop=True)
    result = await env(_run(env.submit), env.body)
    assert urlsplit(result.url).path.endswith(".mp4")
    assert env.app.count(name, "stream") == 1  # both kinds of stream are the route `stream`
    assert env.app.count(name, "status") >= 2


@both
@having(lambda p: has_fake(p) and p.fake.pending_status != 200, "answers status checks with a non-200 until done")
async def test_status_answers_its_pending_code_until_done(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    job = await env(env.submit, env.body)
    status = await env("status", job)
    assert status.state == "queued"
    if job_field(provider(name), "queue_position"):
        assert status.queue_position == 0  # nobody ahead on the fake
    pending = provider(name).fake.pending_status  # type: ignore[union-attr]
    is_status = route(name, status_operation(name).name)
    assert [code for request, code in env.tap.answers if is_status(request)] == [pending]
    env.app.clock.sleep(500)
    assert (await env("status", job)).state == "succeeded"
    assert [code for request, code in env.tap.answers if is_status(request)] == [pending, 200]


@both
@every
async def test_job_ids_are_sent_percent_encoded_as_one_segment_or_value(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    job = await env(env.submit, env.body)
    await env("status", job)
    sent = env.sent(status_operation(name).name)[-1]
    raw = sent.url.raw_path.decode()
    assert quote(job.id, safe="") in raw  # path or query: ':' and '/' inside an id are encoded (AIMLAPI's ids)
    assert job_id_parameter(name, status_operation(name).name)


@both
@every
async def test_a_job_can_be_followed_from_its_id_alone(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    task = operation(name, env.submit).task
    job = await env(env.submit, env.body)
    resumed = env.client.job(job.id, task=task)
    await env("wait", resumed, stream=False)
    result = await env("result", resumed)
    assert result.job_id == job.id
    assert job.to_dict()["id"] == job.id


# ---------------------------------------------------------------------------------------------- retries
@both
@every
async def test_submit_answered_by_5xx_is_sent_exactly_once(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "submit", status=503, times=5)
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        await env(env.submit, env.body)
    assert env.app.count(name, "submit") == 1
    assert info.value.request_body == wire_body(name, env.submit, env.body)  # what is needed to find the job
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value.request_body)


@both
@every
async def test_submit_read_timeout_is_not_resent(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.tap.fail(route(name, env.submit), httpx.ReadTimeout, after_sending=True)
    with pytest.raises(SubmitOutcomeUnknownError):
        await env(env.submit, env.body)
    assert len(env.sent(env.submit)) == 1
    assert env.app.count(name, "submit") == 1 and len(env.app.jobs) == 1  # the job exists: it must not be resent


@both
@every
async def test_submit_that_never_arrived_is_retried(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.tap.fail(route(name, env.submit), httpx.ConnectError)
    rate = provider(name).errors.rate_limit_status[-1]  # the provider's own rate-limit status (Sunra: 403)
    env.app.inject(name, "submit", status=rate, retry_after=2)
    job = await env(env.submit, env.body)
    assert len(env.sent(env.submit)) == 3  # refused by the network, refused by the rate limit, accepted
    assert env.app.count(name, "submit") == 2
    assert env.only_job().id == job.id
    assert 2.0 in env.clock.slept  # Retry-After honoured


@both
@every
async def test_rate_limit_after_retries_is_typed(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.app.inject(name, "submit", status=provider(name).errors.rate_limit_status[0], retry_after=7, times=20)
    with pytest.raises(RateLimitError) as info:
        await env(env.submit, env.body)
    assert info.value.retry_after == 7.0 and info.value.provider == name
    assert env.app.count(name, "submit") == 9  # sent at 0, 7, ..., 56: the next wait would end past the 60 s budget


@both
@every
async def test_idempotent_provider_may_retry_a_submit_with_the_same_key(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    config = env.client._provider
    env.client._provider = replace(config, jobs=replace(config.jobs, idempotency_header="Idempotency-Key"))
    env.app.inject(name, "submit", status=502)
    await env(env.submit, env.body, idempotency_key="line-7")
    submits = env.sent(env.submit)
    assert len(submits) == 2
    assert {r.headers["idempotency-key"] for r in submits} == {"line-7"}


@both
@every
async def test_status_checks_ride_out_an_outage(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    job = await env(env.submit, env.body)
    env.app.inject(name, "status", status=503, times=4)
    env.tap.fail(route(name, status_operation(name).name), httpx.ConnectError, times=3)
    status = await env("wait", job, stream=False)
    assert status.state == "succeeded"


@both
@every
async def test_status_error_that_is_not_transient_is_raised(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    with pytest.raises(NotFoundError):
        await env("wait", "no-such-job", stream=False)


@both
@every
async def test_connection_refused_everywhere_is_a_typed_error(envs: Make, name: str, is_async: bool) -> None:
    env = envs(name, is_async)
    env.tap.fail(route(name, status_operation(name).name), httpx.ConnectError, times=10)
    with pytest.raises(APIConnectionError):
        await env("status", "job-1")


# ---------------------------------------------------------------------------------------------- downloads
async def _finished(env: Env) -> Any:
    job = await env(env.submit, env.body)
    await env("wait", job, stream=False)
    return await env("result", job)


@both
@every
async def test_download_resumes_with_range(envs: Make, name: str, is_async: bool, tmp_path: Path) -> None:
    env = envs(name, is_async)
    result = await _finished(env)
    env.app.inject(name, "download", truncate=300_000)
    env.app.inject(name, "download", truncate=400_000)
    path = await env("download", result, tmp_path / "clip.mp4")
    assert path.read_bytes() == VIDEO
    ranges = [r.headers.get("range") for r in env.tap.requests if "/_files/" in r.url.path]
    assert ranges == [None, "bytes=300000-", "bytes=700000-"]


@both
@every
async def test_download_without_range_support_starts_over(
    envs: Make, name: str, is_async: bool, tmp_path: Path
) -> None:
    env = envs(name, is_async)
    result = await _finished(env)
    env.tap.ignore_range = True  # a server that answers every request with the whole file
    env.app.inject(name, "download", truncate=500_000)
    path = await env("download", result, tmp_path / "clip.mp4")
    assert path.read_bytes() == VIDEO
    assert env.app.count(name, "download") == 2


@both
@having(lambda p: job_field(p, "video_size"), "states the video's size")
async def test_download_size_mismatch_is_an_error_and_no_file_appears(
    envs: Make, name: str, is_async: bool, tmp_path: Path
) -> None:
    env = envs(name, is_async)
    result = await _finished(env)  # states len(VIDEO) bytes
    env.app.video = VIDEO[:-10]
    try:
        with pytest.raises(DownloadError, match="stated"):
            await env("download", result, tmp_path / "clip.mp4")
    finally:
        env.app.video = VIDEO
    assert not (tmp_path / "clip.mp4").exists()


@both
@every
async def test_download_gives_up_after_repeated_drops_keeping_the_part(
    envs: Make, name: str, is_async: bool, tmp_path: Path
) -> None:
    env = envs(name, is_async)
    result = await _finished(env)
    env.app.inject(name, "download", truncate=100_000, times=3)
    with pytest.raises(DownloadError, match="resume"):
        await env("download", result, tmp_path / "clip.mp4", max_resumes=2)
    assert (tmp_path / "clip.mp4.part").stat().st_size == 300_000
    assert not (tmp_path / "clip.mp4").exists()
    path = await env("download", result, tmp_path / "clip.mp4")  # a later call resumes where it stopped
    assert path.read_bytes() == VIDEO


# ---------------------------------------------------------------------------------------------- file inputs
@both
@having(lambda p: p.files.mode == "upload" and image_submit(p.name), "uploads local files")
async def test_a_local_file_is_uploaded_then_its_url_submitted(
    envs: Make, name: str, is_async: bool, tmp_path: Path
) -> None:
    from test_inputs import png

    op = image_submit(name)
    assert op is not None
    image = tmp_path / "photo.png"
    image.write_bytes(png(640, 480))
    env = envs(name, is_async)
    body = submit_body(name, op.name, image=image)
    field = start_image_field(name, op.name)
    assert field is not None and at(body, field) == image
    await env(op.name, body)
    submitted = at(env.only_job().body, field)
    assert "/_files/uploads/" in submitted and submitted.endswith(".png")
    assert list(env.app.uploads.values()) == [image.read_bytes()]
    assert env.app.count(name, "upload") == 1


@both
@having(lambda p: p.files.mode == "data_uri" and image_submit(p.name), "inlines local files as data URIs")
async def test_data_uri_providers_inline_local_bytes(envs: Make, name: str, is_async: bool) -> None:
    from test_inputs import png

    op = image_submit(name)
    assert op is not None
    env = envs(name, is_async)
    body = submit_body(name, op.name, image=png(400, 400))
    field = start_image_field(name, op.name)  # a pointer: nested fields are converted like top-level ones
    assert field is not None and isinstance(at(body, field), bytes)
    await env(op.name, body)
    assert at(env.only_job().body, field).startswith("data:image/png;base64,")
