"""`Kling` / `AsyncKling`: one neutral request to a provider or a preference list, followed to a video on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    GenerationFailedError,
    InvalidRequestError,
    MissingApiKeyError,
    NoProviderAcceptedError,
    SubmitOutcomeUnknownError,
    error_class_for_status,
)
from kling_sdk._runtime.jobs import PollPolicy
from kling_sdk._runtime.retry import may_fail_over
from kling_sdk.testing import FakeServer
from kling_sdk.unified import AsyncKling, ImageToVideo, Kling, TextToVideo, job_ref, parse_job_ref

FAST = PollPolicy(initial=0.05, cap=0.1, fraction=0.1, jitter=0.0)
SAMPLE_IMAGE = "https://example.com/start.png"


def _status(code: int) -> Exception:
    return error_class_for_status(code)("refused", provider="p", status_code=code)


@pytest.mark.parametrize(
    ("error", "moves_on"),
    [
        (_status(401), True),  # bad key
        (_status(402), True),  # no credits
        (_status(403), True),  # forbidden / out of credits
        (_status(429), True),  # rate limited after the client's own retries
        (_status(400), False),  # the request itself is wrong: another provider would bill for the same mistake
        (_status(404), False),
        (_status(422), False),
        (_status(500), False),
        (_status(503), False),
        (APIConnectionError("connect refused", provider="p"), True),
        (MissingApiKeyError("no key"), True),
        (InvalidRequestError("oxen", "start_image", "takes URLs only"), True),
        (SubmitOutcomeUnknownError("lost", provider="p"), False),  # the job may exist
        (GenerationFailedError("x", provider="p", job_id="j"), False),  # accepted, then failed
    ],
)
def test_failover_policy(error: Exception, moves_on: bool) -> None:
    assert may_fail_over(error) is moves_on


LIVE_TIMING = {"queued": 0.1, "running": 0.2}  # seconds each job stays queued / runs on the real-time fake


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


def _kling(server: FakeServer, providers: Any, is_async: bool = False, **keys: str) -> Any:
    names = [providers] if isinstance(providers, str) else list(providers)
    cls = AsyncKling if is_async else Kling
    api_keys = {name: keys.get(name, API_KEY) for name in names}
    return cls(providers, api_keys=api_keys, base_urls={n: server.base_url(n) for n in names}, max_retries=0)


def _submits(server: FakeServer, provider: str | None = None) -> int:
    return sum(server.app.submit_counts(provider).values())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", ["oxen", "aimlapi", "fal"])
async def test_text_to_video_runs_to_a_video_on_disk(
    fake: FakeServer, provider: str, is_async: bool, tmp_path: Path
) -> None:
    kling = _kling(fake, provider, is_async)
    seen: list[str] = []
    result = await call(
        kling, "run", TextToVideo(prompt="a fox in the snow"), poll=FAST, stream=False,
        on_submitted=lambda job: seen.append(job_ref(job)),
    )  # fmt: skip
    saved = await call(kling, "download", result, tmp_path / "clip.mp4")
    await call(kling, "close")
    assert saved.read_bytes() == fake.app.video
    assert result.provider == provider
    assert seen == [f"{provider}:{result.job_id}"]
    assert _submits(fake) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_job_ref_is_enough_to_follow_a_job_later(fake: FakeServer, is_async: bool) -> None:
    kling = _kling(fake, ["aimlapi", "sunra"], is_async)
    job = await call(kling, "submit", ImageToVideo(prompt="waves", start_image=SAMPLE_IMAGE))
    ref = job_ref(job)
    assert parse_job_ref(ref) == ("aimlapi", job.id)
    status = await call(kling, "wait", ref, poll=FAST, stream=False)
    assert status.state == "succeeded"
    result = await call(kling, "result", ref)
    assert result.job_id == job.id
    await call(kling, "close")


def test_a_bare_job_id_needs_a_provider() -> None:
    with pytest.raises(InvalidRequestError, match="provider:id"):
        parse_job_ref("1234")
    assert parse_job_ref("abc:def", "fal") == ("fal", "abc:def")


def test_a_refused_submit_moves_to_the_next_provider(fake: FakeServer) -> None:
    with _kling(fake, ["oxen", "aimlapi", "fal"], oxen="wrong-key") as kling:
        fake.app.inject("aimlapi", "submit", status=429, times=1)
        job = kling.submit(TextToVideo(prompt="a lighthouse"))
    assert job.provider == "fal"
    assert _submits(fake, "oxen") == 0 and _submits(fake, "aimlapi") == 0 and _submits(fake, "fal") == 1


def test_one_call_may_choose_its_providers_among_the_clients(fake: FakeServer) -> None:
    with _kling(fake, ["oxen", "fal"]) as kling:
        assert kling.submit(TextToVideo(prompt="a lighthouse"), providers="fal").provider == "fal"
        with pytest.raises(InvalidRequestError, match="not one of this client's providers"):
            kling.submit(TextToVideo(prompt="a lighthouse"), providers="aimlapi")
    assert _submits(fake, "oxen") == 0 and _submits(fake, "fal") == 1


def test_a_missing_key_moves_on_without_a_request(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OXEN_API_KEY", raising=False)
    kling = Kling(["oxen", "fal"], api_keys={"fal": API_KEY}, base_urls=fake.base_urls)
    job = kling.submit(TextToVideo(prompt="a lighthouse"))
    kling.close()
    assert job.provider == "fal"
    assert fake.app.count("oxen") == 0


def test_a_lost_submit_is_never_sent_elsewhere(fake: FakeServer) -> None:
    fake.app.inject("oxen", "submit", status=500, times=1)
    with _kling(fake, ["oxen", "fal"]) as kling, pytest.raises(SubmitOutcomeUnknownError):
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert fake.app.count("fal") == 0


def test_a_malformed_request_is_not_sent_elsewhere(fake: FakeServer) -> None:
    # Oxen validates when the job runs, so use fal, which answers 422 at submit.
    fake.app.inject("fal", "submit", status=422, times=1)
    with _kling(fake, ["fal", "aimlapi"]) as kling, pytest.raises(BadRequestError):
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert fake.app.count("aimlapi") == 0


def test_every_provider_refusing_says_why_for_each(fake: FakeServer) -> None:
    with _kling(fake, ["oxen", "fal"], oxen="bad-1", fal="bad-2") as kling, pytest.raises(NoProviderAcceptedError) as e:
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert [(p, type(err)) for p, err in e.value.attempts] == [
        ("oxen", AuthenticationError),
        ("fal", AuthenticationError),
    ]
    assert "bad-1" not in str(e.value) and "bad-2" not in str(e.value)
    assert _submits(fake) == 0


def test_a_provider_that_cannot_take_the_request_is_skipped_in_a_list(fake: FakeServer) -> None:
    with _kling(fake, ["sunra", "fal"]) as kling:  # Sunra serves no text-to-video
        assert kling.submit(TextToVideo(prompt="a lighthouse")).provider == "fal"
    voices = ImageToVideo(prompt="<<<voice_1>>> says hi", start_image=SAMPLE_IMAGE, voice_ids=["v1"])
    with _kling(fake, ["oxen", "aimlapi", "sunra"]) as kling:  # only Sunra and fal take voices
        assert kling.submit(voices).provider == "sunra"
    assert fake.app.count("oxen") == 0 and fake.app.count("aimlapi") == 0


@pytest.mark.parametrize(
    ("providers", "request_", "field"),
    [
        ("oxen", TextToVideo(prompt="x", voice_ids=["v1"]), "voice_ids"),
        ("aimlapi", ImageToVideo(prompt="x", start_image=SAMPLE_IMAGE, end_image=SAMPLE_IMAGE), "end_image"),
        ("sunra", TextToVideo(prompt="x"), "task"),
        (["oxen", "aimlapi"], TextToVideo(prompt="x", voice_ids=["v1"]), "voice_ids"),
    ],
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_unsupported_combinations_make_no_request(
    providers: Any, request_: Any, field: str, is_async: bool
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=transport) if is_async else httpx.Client(transport=transport)
    names = [providers] if isinstance(providers, str) else providers
    cls = AsyncKling if is_async else Kling
    kling = cls(providers, api_keys=dict.fromkeys(names, API_KEY), http_client=http)
    with pytest.raises(InvalidRequestError) as e:
        await call(kling, "submit", request_)
    assert e.value.field == field and e.value.provider == names[0]
    assert requests == []


def test_capabilities_say_who_supports_what() -> None:
    table = Kling.capabilities()
    assert "text-to-video" not in table["sunra"]
    assert "voice_ids" not in table["oxen"]["text-to-video"]
    assert "end_image" in table["fal"]["image-to-video"] and "end_image" not in table["aimlapi"]["image-to-video"]


def test_unknown_provider_and_misused_base_url_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        Kling("replicate")
    with pytest.raises(InvalidRequestError, match="base_url"):
        Kling(["oxen", "fal"], base_url="http://127.0.0.1:1")


def test_the_repr_shows_no_key() -> None:
    kling = Kling("fal", api_keys={"fal": API_KEY})
    assert API_KEY not in repr(kling) and API_KEY not in repr(kling.client("fal"))
    kling.close()
