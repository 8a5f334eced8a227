"""Shared helpers: a recording mock transport and the repository layout."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kling_sdk.testing import FakeServer, VirtualClock, serve

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk-test-0123456789abcdef"


@dataclass
class Recorder:
    """Answers every request with one canned response and keeps what was sent."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        content = b"" if self.body is None else json.dumps(self.body).encode()
        return httpx.Response(
            self.status, content=content, headers={"content-type": "application/json", **self.headers}
        )

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.content) if self.last.content else None


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_client(cls: type, recorder: Recorder, **kwargs: Any) -> Any:
    """A generated client whose HTTP goes to the recorder."""
    transport = httpx.MockTransport(recorder.handler)
    is_async = cls.__name__.startswith("Async")
    http = httpx.AsyncClient(transport=transport) if is_async else httpx.Client(transport=transport)
    return cls(api_key=API_KEY, http_client=http, **kwargs)


async def call(client: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a client method, awaiting it when the client is async."""
    result = getattr(client, method)(*args, **kwargs)
    if hasattr(result, "__await__"):
        result = await result
    return result


Caller = Callable[..., Any]


# ---------------------------------------------------------------------------------------------- the fake provider
class _Server(FakeServer):
    """The module's server; every client it hands out is closed after the test."""

    opened: list[Any]

    def client(self, provider: str, *, is_async: bool = False, **options: Any) -> Any:
        options.setdefault("api_key", API_KEY)
        client = super().client(provider, is_async=is_async, **options)
        self.opened.append(client)
        return client


@pytest.fixture(scope="module")
def fake() -> Iterator[_Server]:
    """The spec-driven fake provider on loopback, virtual time, one key; shared by a test module."""
    with serve(clock=VirtualClock(), queued=10.0, running=110.0, api_key=API_KEY) as server:
        yield _Server(server.url, server.app, server.api_key)


@pytest.fixture
async def fresh_fake(fake: _Server) -> Any:
    """The module's fake, emptied, its clients closed after the test."""
    fake.app.reset()
    fake.opened = []
    yield fake
    for client in fake.opened:
        closed = client.close()
        if hasattr(closed, "__await__"):
            await closed


@pytest.fixture(scope="module")
def live_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """The fake provider in real time, for code that builds its own clients (`Kling`, the CLI as a process);
    job timings from the test module's `LIVE_TIMING`."""
    with serve(api_key=API_KEY, **getattr(request.module, "LIVE_TIMING", {})) as server:
        yield server


@pytest.fixture
def live_fake(live_server: FakeServer) -> FakeServer:
    """The module's real-time fake, emptied."""
    live_server.app.reset()
    return live_server


# ---------------------------------------------------------------------------------------------- secret scan
SECRETS = (API_KEY, "env-secret-key-123")
_seen_errors: list[BaseException] = []
_log_lines: list[str] = []


class _Everything(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _log_lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def scan_for_api_keys() -> Iterator[None]:
    """Record every SDK error and every log line of the suite, then prove no API key is in any of them."""
    from kling_sdk._runtime import errors

    original = errors.KlingError.__init__

    def recording_init(self: BaseException, *args: Any, **kwargs: Any) -> None:
        _seen_errors.append(self)
        original(self, *args, **kwargs)

    errors.KlingError.__init__ = recording_init  # type: ignore[method-assign]
    handler = _Everything(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        errors.KlingError.__init__ = original  # type: ignore[method-assign]
    texts = [str(e) for e in _seen_errors] + [repr(e) for e in _seen_errors] + _log_lines
    texts += [repr(vars(e)) for e in _seen_errors]
    leaks = [t for t in texts for s in SECRETS if s in t]
    assert _seen_errors and _log_lines, "the scan saw nothing: the recording hooks are broken"
    assert not leaks, f"API key found in {len(leaks)} error/log texts, e.g. {leaks[0][:200]}"
