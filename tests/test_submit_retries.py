"""Submits the provider certainly did not accept are sent again: rate limits within a time budget (Retry-After
honoured, configurable per client, `Kling` and the CLI), and answers from in front of the provider (its declared
`errors.not_reached` signs); on the fake provider's virtual clock."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.errors import APIConnectionError, RateLimitError, SubmitOutcomeUnknownError
from kling_sdk._runtime.retry import DEFAULT_MAX_RETRIES, may_fail_over
from kling_sdk.cli import main
from kling_sdk.testing import FakeServer, Fault, load_protocols
from kling_sdk.unified import AsyncKling, ImageToVideo, Kling, to_wire

PROTOCOLS = load_protocols()["providers"]
PROVIDERS = list(PROTOCOLS)
LIVE_TIMING = {"queued": 0.2, "running": 0.5, "tick": 0.05}  # the real-time fake (the CLI test)
REQUEST = ImageToVideo(prompt="a hiker", start_image="https://example.com/hiker.png")
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers = pytest.mark.parametrize("provider", PROVIDERS)
# Where the manifest says how an answer from in front of the provider looks (errors.not_reached), and where not.
RULES = {p: importlib.import_module(f"kling_sdk.{p}").PROVIDER.errors.not_reached for p in PROVIDERS}
UNREACHABLE = [p for p, rule in RULES.items() if rule is not None]
NO_SIGNS = [p for p, rule in RULES.items() if rule is None]


def rate_limit_status(provider: str) -> int:
    """The status the provider answers an exceeded rate limit with (its last declared one: 403 where it says so)."""
    status: int = PROTOCOLS[provider]["rate_limit_status"][-1]
    return status


async def submit(fake: Any, provider: str, is_async: bool, **options: Any) -> Any:
    client = fake.client(provider, is_async=is_async, **options)
    method, body = to_wire(REQUEST, provider)
    return await call(client, method, body)


def jobs_made(fake: FakeServer, provider: str) -> int:
    return sum(fake.app.submit_counts(provider).values())


@both
@providers
async def test_a_submit_rate_limited_for_40_s_still_makes_exactly_one_job(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    clock = fresh_fake.app.clock
    started = clock.now()
    fresh_fake.app.inject(provider, "submit", Fault(status=rate_limit_status(provider), seconds=40, times=None))
    job = await submit(fresh_fake, provider, is_async)
    assert 40 <= clock.now() - started <= 60
    assert fresh_fake.app.count(provider, "submit") > 3  # not a fixed 3 attempts in ~1.3 s
    assert jobs_made(fresh_fake, provider) == 1 and [j["id"] for j in fresh_fake.app.job_list()] == [job.id]


@both
@providers
async def test_a_submit_rate_limited_past_its_budget_raises_rate_limit_error(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    clock = fresh_fake.app.clock
    started = clock.now()
    fresh_fake.app.inject(provider, "submit", Fault(status=rate_limit_status(provider), seconds=100, times=None))
    with pytest.raises(RateLimitError) as info:
        await submit(fresh_fake, provider, is_async)
    assert info.value.status_code == rate_limit_status(provider)
    assert 59 <= clock.now() - started <= 60 + 1e-6  # sent again until the default budget was spent
    assert jobs_made(fresh_fake, provider) == 0


@both
async def test_retry_after_is_honoured_within_the_budget(fresh_fake: Any, is_async: bool) -> None:
    provider = PROVIDERS[0]
    fault = Fault(status=rate_limit_status(provider), retry_after=7, seconds=40, times=None)
    fresh_fake.app.inject(provider, "submit", fault)
    await submit(fresh_fake, provider, is_async)
    assert fresh_fake.app.count(provider, "submit") == 7  # at 0, 7, ..., 35 refused; at 42 accepted
    assert jobs_made(fresh_fake, provider) == 1


@both
async def test_a_retry_after_longer_than_the_budget_left_ends_the_retries(fresh_fake: Any, is_async: bool) -> None:
    provider = PROVIDERS[0]
    fault = Fault(status=rate_limit_status(provider), retry_after=13, seconds=100, times=None)
    fresh_fake.app.inject(provider, "submit", fault)
    with pytest.raises(RateLimitError) as info:
        await submit(fresh_fake, provider, is_async)
    assert info.value.retry_after == 13
    assert fresh_fake.app.count(provider, "submit") == 5  # at 0, 13, 26, 39, 52: one more wait ends past 60 s


@both
@pytest.mark.parametrize(("budget", "sent"), [(0, 1), (10, None)])
async def test_the_budget_is_set_per_client(fresh_fake: Any, is_async: bool, budget: float, sent: int | None) -> None:
    provider = PROVIDERS[-1]
    clock = fresh_fake.app.clock
    started = clock.now()
    fresh_fake.app.inject(provider, "submit", Fault(status=rate_limit_status(provider), seconds=40, times=None))
    with pytest.raises(RateLimitError):
        await submit(fresh_fake, provider, is_async, rate_limit_budget=budget)
    assert clock.now() - started <= budget + 1e-6
    if sent is not None:
        assert fresh_fake.app.count(provider, "submit") == sent
    else:
        assert fresh_fake.app.count(provider, "submit") > 2


def _kling(fake: FakeServer, chosen: list[str], is_async: bool, **options: Any) -> Any:
    kling = (AsyncKling if is_async else Kling)(
        chosen, api_keys=dict.fromkeys(chosen, API_KEY), base_urls=fake.base_urls, **options
    )
    for name in chosen:
        kling.client(name)._clock = fake.app.clock
    return kling


@both
async def test_kling_waits_out_a_rate_limit_of_its_last_provider_and_reports_each_attempt(
    fresh_fake: Any, is_async: bool
) -> None:
    provider = PROVIDERS[0]
    fresh_fake.app.inject(provider, "submit", Fault(status=rate_limit_status(provider), seconds=20, times=None))
    kling = _kling(fresh_fake, [provider], is_async)
    attempts: list[str] = []
    job = await call(kling, "submit", REQUEST, before_submit=attempts.append)
    await call(kling, "close")
    assert job.provider == provider and jobs_made(fresh_fake, provider) == 1
    # Once per request that left, so a journal records when the one that was accepted went out.
    assert attempts == [provider] * fresh_fake.app.count(provider, "submit") and len(attempts) > 1


@both
async def test_kling_leaves_a_rate_limited_provider_of_a_list_for_the_next_at_once(
    fresh_fake: Any, is_async: bool
) -> None:
    first, second = PROVIDERS[0], PROVIDERS[1]
    fresh_fake.app.inject(first, "submit", Fault(status=rate_limit_status(first), seconds=40, times=None))
    kling = _kling(fresh_fake, [first, second], is_async, rate_limit_budget=60)
    job = await call(kling, "submit", REQUEST)
    await call(kling, "close")
    assert job.provider == second
    assert fresh_fake.app.count(first, "submit") == 1 and jobs_made(fresh_fake, second) == 1


@both
async def test_kling_passes_its_budget_to_its_clients(fresh_fake: Any, is_async: bool) -> None:
    provider = PROVIDERS[0]
    fresh_fake.app.inject(provider, "submit", Fault(status=rate_limit_status(provider), seconds=40, times=None))
    kling = _kling(fresh_fake, [provider], is_async, rate_limit_budget=0)
    with pytest.raises(RateLimitError):
        await call(kling, "submit", REQUEST)
    await call(kling, "close")
    assert fresh_fake.app.count(provider, "submit") == 1


def test_the_cli_waits_out_a_rate_limit_unless_told_not_to(
    live_fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = PROVIDERS[0]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(importlib.import_module(f"kling_sdk.{provider}").PROVIDER.api_key_env, API_KEY)
    args = ["image-to-video", "a hiker", "--image", "https://example.com/hiker.png", "-p", provider,
            "--base-url", live_fake.base_url(provider), "--poll-interval", "0.05", "-q"]  # fmt: skip
    live_fake.app.inject(provider, "submit", status=rate_limit_status(provider), retry_after=0.2, times=1)
    assert main([*args, "--rate-limit-wait", "0", "-o", "refused.mp4"]) == 3  # refused: no job exists
    live_fake.app.inject(provider, "submit", status=rate_limit_status(provider), retry_after=0.2, times=2)
    assert main([*args, "-o", "saved.mp4"]) == 0  # the default budget rides it out
    assert (tmp_path / "saved.mp4").exists() and not (tmp_path / "refused.mp4").exists()
    assert jobs_made(live_fake, provider) == 1 and live_fake.app.count(provider, "submit") == 4


# ---------------------------------------------------------------------------------------------- never reached


@both
@pytest.mark.parametrize("provider", UNREACHABLE)
async def test_a_submit_answered_by_the_front_proxy_is_sent_again_and_makes_one_job(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    rule = RULES[provider]
    assert rule is not None
    for n, status in enumerate(rule.status, start=1):
        fresh_fake.app.inject(provider, "submit", Fault(status=status, ingress=True))
        job = await submit(fresh_fake, provider, is_async)
        assert job.id in {j["id"] for j in fresh_fake.app.job_list()}
        assert jobs_made(fresh_fake, provider) == n and fresh_fake.app.count(provider, "submit") == 2 * n


@both
@pytest.mark.parametrize("provider", UNREACHABLE)
async def test_a_5xx_carrying_the_providers_sign_is_never_sent_again(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    rule = RULES[provider]
    assert rule is not None and rule.without_header is not None
    status = rule.status[0]
    fresh_fake.app.inject(
        provider, "submit", Fault(status=status, ingress=True, headers={rule.without_header: "req-7f3a"})
    )
    with pytest.raises(SubmitOutcomeUnknownError):
        await submit(fresh_fake, provider, is_async)
    fresh_fake.app.inject(provider, "submit", Fault(status=status))  # the provider's own 5xx
    with pytest.raises(SubmitOutcomeUnknownError):
        await submit(fresh_fake, provider, is_async)
    assert fresh_fake.app.count(provider, "submit") == 2


@both
@pytest.mark.parametrize("provider", UNREACHABLE)
async def test_a_front_proxy_that_keeps_failing_means_no_job_and_may_fail_over(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    rule = RULES[provider]
    assert rule is not None
    fresh_fake.app.inject(provider, "submit", Fault(status=rule.status[-1], ingress=True, times=None))
    with pytest.raises(APIConnectionError) as info:
        await submit(fresh_fake, provider, is_async)
    assert "never reached" in str(info.value) and may_fail_over(info.value)
    assert fresh_fake.app.count(provider, "submit") == DEFAULT_MAX_RETRIES + 1 and jobs_made(fresh_fake, provider) == 0


@both
@pytest.mark.parametrize("provider", NO_SIGNS)
async def test_without_declared_signs_a_proxy_page_leaves_the_submit_in_doubt(
    fresh_fake: Any, provider: str, is_async: bool
) -> None:
    fresh_fake.app.inject(provider, "submit", Fault(status=503, ingress=True))
    with pytest.raises(SubmitOutcomeUnknownError):
        await submit(fresh_fake, provider, is_async)
    assert fresh_fake.app.count(provider, "submit") == 1
