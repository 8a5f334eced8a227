"""A deadline is a deadline: `wait(deadline=5)` ends within 6 s whatever the server does, sync and async, and the
pool cannot starve event streams and status checks of each other.

These run in real time against the fake provider (a server that stalls is a real-time thing); every scenario gets its
own server and they all run at once, so the module takes about one deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.base_client import CANCEL_GRACE
from kling_sdk._runtime.errors import JobDeadlineExceededError
from kling_sdk.testing import FakeServer, Fault, load_protocols, serve
from kling_sdk.unified import DEFAULT_MODEL, AsyncKling, ImageToVideo, Kling, TextToVideo, to_wire

PROTOCOLS = load_protocols()["providers"]
STREAMS = {
    kind: [p for p, proto in PROTOCOLS.items() if (proto["stream"] or {}).get("kind") == kind]
    for kind in ("status", "events")
}
CANCELLING = [p for p, proto in PROTOCOLS.items() if any(r["kind"] == "cancel" for r in proto["routes"])]
ANY = next(iter(PROTOCOLS))
DEADLINE = 5.0
SLACK = 1.0  # the bound: D + 1 s
REQUEST = ImageToVideo(prompt="a hiker", start_image="https://example.com/hiker.png")


@dataclass(frozen=True)
class Scenario:
    name: str
    provider: str
    route: str | None  # where the fault goes
    fault: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    cancel: bool = False
    server: dict[str, Any] = field(default_factory=dict)

    @property
    def bound(self) -> float:
        return DEADLINE + SLACK + (CANCEL_GRACE if self.cancel else 0.0)


SCENARIOS = [
    Scenario("status answered after 100 s", ANY, "status", {"latency": 100.0}, stream=False),
    Scenario("status stalls mid-body", ANY, "status", {"stall": 100.0}, stream=False),
    Scenario("status trickles a byte every 0.5 s", ANY, "status", {"trickle": 0.5}, stream=False),
    *[Scenario(f"{p}: status stream stalls mid-body", p, "stream", {"stall": 100.0}) for p in STREAMS["status"][:1]],
    # the user-wide stream keeps the connection alive every 15 s (Oxen's interval) and never sends an event
    *[Scenario(f"{p}: event stream with keep-alives only", p, None) for p in STREAMS["events"][:1]],
    *[Scenario(f"{p}: cancel answered after 100 s", p, "cancel", {"latency": 100.0}, stream=False, cancel=True)
      for p in CANCELLING[:1]],
]  # fmt: skip


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FakeServer]]:
    """One real-time fake per scenario (faults cannot cross), jobs that stay queued far beyond the deadline."""
    with ExitStack() as stack:
        yield {
            s.name: stack.enter_context(serve(api_key=API_KEY, queued=1000.0, running=10.0, tick=0.2, **s.server))
            for s in SCENARIOS
        }


async def _case(server: FakeServer, scenario: Scenario, is_async: bool) -> tuple[str, float, BaseException | None]:
    client = server.client(scenario.provider, is_async=is_async, api_key=API_KEY)
    operation, body = to_wire(REQUEST, scenario.provider)
    job = await call(client, operation, body)
    if scenario.route is not None:
        server.app.inject(scenario.provider, scenario.route, Fault(times=None, **scenario.fault))
    started = time.monotonic()
    error: BaseException | None = None
    try:
        await call(client, "wait", job, deadline=DEADLINE, stream=scenario.stream, cancel_on_deadline=scenario.cancel)
    except BaseException as exc:  # judged below
        error = exc
    elapsed = time.monotonic() - started
    closed = client.close()
    if hasattr(closed, "__await__"):
        await closed
    assert isinstance(error, JobDeadlineExceededError) and error.job_id == job.id, (scenario.name, repr(error))
    return scenario.name, elapsed, error


async def test_wait_with_a_5_s_deadline_ends_within_6_s_whatever_the_server_does(
    servers: dict[str, FakeServer],
) -> None:
    def sync_case(scenario: Scenario) -> tuple[str, float, BaseException | None]:
        return asyncio.run(_case(servers[scenario.name], scenario, False))

    results = await asyncio.gather(
        *[asyncio.to_thread(sync_case, s) for s in SCENARIOS],
        *[_case(servers[s.name], s, True) for s in SCENARIOS],
    )
    late = [
        f"{'sync' if i < len(SCENARIOS) else 'async'} {name}: {elapsed:.2f} s"
        for i, (name, elapsed, _) in enumerate(results)
        if elapsed > SCENARIOS[i % len(SCENARIOS)].bound
    ]
    assert not late, late
    for scenario in SCENARIOS:
        if scenario.cancel:  # the cancel was sent (twice: sync and async) but could not answer in time
            assert servers[scenario.name].app.count(scenario.provider, "cancel") == 2
    assert all(error.cancelled is False for _, _, error in results if isinstance(error, JobDeadlineExceededError))


# ---------------------------------------------------------------------------------------------- the pool
EVENTS = STREAMS["events"][0]
JOBS = 200


def _neutral(n: int) -> Any:
    served = Kling.capabilities()[DEFAULT_MODEL][EVENTS]  # model -> provider -> task
    if TextToVideo.task in served:
        return TextToVideo(prompt=f"shot {n}")
    return ImageToVideo(prompt=f"shot {n}", start_image="https://example.com/a.png")


async def _batch(server: FakeServer, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with AsyncKling(EVENTS, api_keys={EVENTS: API_KEY}, base_url=server.base_url(EVENTS)) as kling:

        async def one(n: int) -> None:
            async with gate:
                await kling.run(_neutral(n))

        started = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(JOBS)))
        return time.monotonic() - started


async def test_200_jobs_at_concurrency_100_on_one_async_client_take_at_most_twice_the_time_at_50() -> None:
    """The provider with the user-wide event stream: each wait holds a stream and needs status checks besides."""
    with serve(api_key=API_KEY, queued=0.2, running=0.5, tick=0.1) as server:
        at_50 = await _batch(server, 50)
        assert sum(server.app.submit_counts().values()) == JOBS
        server.app.reset()
        at_100 = await asyncio.wait_for(_batch(server, 100), timeout=2 * at_50 + 5)  # before: 3 pool timeouts of 60 s
        assert sum(server.app.submit_counts().values()) == JOBS
    assert at_100 <= 2 * at_50, (at_50, at_100)
