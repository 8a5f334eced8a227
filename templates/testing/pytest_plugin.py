"""pytest fixtures for the fake provider (loaded through the `pytest11` entry point)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .serve import FakeServer, VirtualClock, serve


@pytest.fixture
def kling_fake() -> Iterator[FakeServer]:
    """A fake provider server on a free loopback port with virtual time: jobs take minutes, tests take ms."""
    with serve(clock=VirtualClock(), queued=10.0, running=110.0) as server:
        yield server
