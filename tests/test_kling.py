"""`Kling` / `AsyncKling`: one neutral request to a provider or a preference list, followed to a video on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call
from manifest_support import (
    has_mapping,
    neutral_base,
    neutral_params,
    neutral_value,
    not_serving,
    provider,
    providers,
    serving,
    unified_fields,
    units,
    with_fact,
)

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
from kling_sdk.unified import TASKS, AsyncKling, ImageToVideo, Kling, TextToVideo, job_ref, parse_job_ref

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
        (InvalidRequestError("p", "start_image", "takes URLs only"), True),  # an input only that provider refuses
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


TEXT = TextToVideo(prompt="x").task
IMAGE = ImageToVideo(prompt="x", start_image=SAMPLE_IMAGE).task


def _needs(found: list[str], count: int, what: str) -> list[str]:
    """The first `count` providers of `found`; skips the test when the manifest has fewer."""
    if len(found) < count:
        pytest.skip(f"needs {count} providers that {what}; the manifest has {len(found)}")
    return found[:count]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", with_fact(lambda p: p.name in serving(TEXT), "serves text-to-video"))
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
    chain = serving(IMAGE)[:2]
    kling = _kling(fake, chain, is_async)
    job = await call(kling, "submit", ImageToVideo(prompt="waves", start_image=SAMPLE_IMAGE))
    ref = job_ref(job)
    assert parse_job_ref(ref) == (chain[0], job.id)
    status = await call(kling, "wait", ref, poll=FAST, stream=False)
    assert status.state == "succeeded"
    result = await call(kling, "result", ref)
    assert result.job_id == job.id
    await call(kling, "close")


def test_a_bare_job_id_needs_a_provider() -> None:
    with pytest.raises(InvalidRequestError, match="provider:id"):
        parse_job_ref("1234")
    name = providers()[0]
    assert parse_job_ref("abc:def", name) == (name, "abc:def")


def test_a_reference_with_an_empty_id_says_the_id_is_empty() -> None:
    name = providers()[0]
    with pytest.raises(InvalidRequestError) as empty:
        parse_job_ref(f"{name}:")
    assert (empty.value.provider, empty.value.field) == (name, "job_id") and "is empty" in empty.value.message
    with pytest.raises(InvalidRequestError, match=f"names a provider but no job: write it as {name}:<id>"):
        parse_job_ref(name)


def test_a_refused_submit_moves_to_the_next_provider(fake: FakeServer) -> None:
    # each but the last refuses in turn: a wrong key, a rate limit (after the client's own retries: none here)
    _needs(serving(TEXT), 2, "serve text-to-video")
    chain = serving(TEXT)
    refusing, accepting = chain[:-1], chain[-1]
    keys = {name: "wrong-key" for name in refusing[::2]}
    for name in refusing[1::2]:
        fake.app.inject(name, "submit", status=provider(name).errors.rate_limit_status[0], times=1)
    with _kling(fake, chain, **keys) as kling:
        job = kling.submit(TextToVideo(prompt="a lighthouse"))
    assert job.provider == accepting
    assert all(_submits(fake, name) == 0 for name in refusing) and _submits(fake, accepting) == 1


def test_one_call_may_choose_its_providers_among_the_clients(fake: FakeServer) -> None:
    first, chosen, outside = _needs(serving(TEXT), 3, "serve text-to-video")
    with _kling(fake, [first, chosen]) as kling:
        assert kling.submit(TextToVideo(prompt="a lighthouse"), providers=chosen).provider == chosen
        with pytest.raises(InvalidRequestError, match="not one of this client's providers"):
            kling.submit(TextToVideo(prompt="a lighthouse"), providers=outside)
    assert _submits(fake, first) == 0 and _submits(fake, chosen) == 1


def test_a_missing_key_moves_on_without_a_request(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _needs(serving(TEXT), 2, "serve text-to-video")
    monkeypatch.delenv(provider(first).auth.env, raising=False)
    kling = Kling([first, second], api_keys={second: API_KEY}, base_urls=fake.base_urls)
    job = kling.submit(TextToVideo(prompt="a lighthouse"))
    kling.close()
    assert job.provider == second
    assert fake.app.count(first) == 0


def test_a_lost_submit_is_never_sent_elsewhere(fake: FakeServer) -> None:
    first, second = _needs(serving(TEXT), 2, "serve text-to-video")
    fake.app.inject(first, "submit", status=500, times=1)
    with _kling(fake, [first, second]) as kling, pytest.raises(SubmitOutcomeUnknownError):
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert fake.app.count(second) == 0


def test_a_malformed_request_is_not_sent_elsewhere(fake: FakeServer) -> None:
    first, second = _needs(serving(TEXT), 2, "serve text-to-video")
    fake.app.inject(first, "submit", status=422, times=1)
    with _kling(fake, [first, second]) as kling, pytest.raises(BadRequestError):
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert fake.app.count(second) == 0


def test_every_provider_refusing_says_why_for_each(fake: FakeServer) -> None:
    first, second = _needs(serving(TEXT), 2, "serve text-to-video")
    with (
        _kling(fake, [first, second], **{first: "bad-1", second: "bad-2"}) as kling,
        pytest.raises(NoProviderAcceptedError) as e,
    ):
        kling.submit(TextToVideo(prompt="a lighthouse"))
    assert [(p, type(err)) for p, err in e.value.attempts] == [
        (first, AuthenticationError),
        (second, AuthenticationError),
    ]
    assert "bad-1" not in str(e.value) and "bad-2" not in str(e.value)
    assert _submits(fake) == 0


def test_a_provider_that_cannot_take_the_task_is_skipped_in_a_list(fake: FakeServer) -> None:
    [unable] = _needs(not_serving(TEXT), 1, "serve no text-to-video")
    [able] = _needs(serving(TEXT), 1, "serve text-to-video")
    with _kling(fake, [unable, able]) as kling:
        assert kling.submit(TextToVideo(prompt="a lighthouse")).provider == able
    assert fake.app.count(unable) == 0


def test_a_provider_that_cannot_take_a_parameter_is_skipped_in_a_list(fake: FakeServer) -> None:
    _needs(not_serving(IMAGE, "voice_ids"), 1, "take no voice ids")
    unable = not_serving(IMAGE, "voice_ids")
    [able] = _needs(serving(IMAGE, "voice_ids"), 1, "take voice ids")
    voices = ImageToVideo(prompt="<<<voice_1>>> says hi", start_image=SAMPLE_IMAGE, voice_ids=["v1"])
    with _kling(fake, [*unable, able]) as kling:
        assert kling.submit(voices).provider == able
    assert all(fake.app.count(name) == 0 for name in unable)


def _unsupported() -> list[tuple[Any, Any, str]]:
    """(provider or preference list, request, the field the refusal names) for everything some provider cannot take."""
    found: list[tuple[Any, Any, str]] = []
    for task in (TEXT, IMAGE):
        for name in not_serving(task):
            found.append((name, TASKS[task](**neutral_base(task)), "task"))
        for declared in neutral_params(task):
            unable = not_serving(task, declared.name)
            request = TASKS[task](**neutral_base(task, **{declared.name: neutral_value(task, declared.name)}))
            found += [(name, request, declared.name) for name in unable]
            if len(unable) > 1:
                found.append((unable, request, declared.name))  # nobody in the list takes it
    return found


UNSUPPORTED = _unsupported()


@pytest.mark.parametrize(
    ("providers_", "request_", "field"), UNSUPPORTED, ids=[f"{p}-{r.task}-{f}" for p, r, f in UNSUPPORTED]
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_unsupported_combinations_make_no_request(
    providers_: Any, request_: Any, field: str, is_async: bool
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=transport) if is_async else httpx.Client(transport=transport)
    names = [providers_] if isinstance(providers_, str) else providers_
    cls = AsyncKling if is_async else Kling
    kling = cls(providers_, api_keys=dict.fromkeys(names, API_KEY), http_client=http)
    with pytest.raises(InvalidRequestError) as e:
        await call(kling, "submit", request_)
    assert e.value.field == field and e.value.provider == names[0]
    assert requests == []


def test_capabilities_say_who_supports_what() -> None:
    table = Kling.capabilities()
    for name, model in units(has_mapping):
        for task in (TEXT, IMAGE):
            if not unified_fields(name, task, model):
                assert task not in table.get(model, {}).get(name, {})
            else:
                assert set(table[model][name][task]) == set(unified_fields(name, task, model))


def test_unknown_provider_and_misused_base_url_are_refused() -> None:
    unknown = "not-a-provider"
    assert unknown not in providers()
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        Kling(unknown)
    with pytest.raises(InvalidRequestError, match="base_url"):
        Kling(_needs(providers(has_mapping), 2, "have a neutral mapping"), base_url="http://127.0.0.1:1")


@pytest.mark.parametrize("name", providers(has_mapping))
def test_the_repr_shows_no_key(name: str) -> None:
    kling = Kling(name, api_keys={name: API_KEY})
    assert API_KEY not in repr(kling) and API_KEY not in repr(kling.client(name))
    kling.close()
