"""Shared helpers: a recording mock transport and the repository layout."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from kling_sdk.testing import FakeServer, VirtualClock, serve

ROOT = Path(__file__).resolve().parent.parent
# `/`, `+` and `=` are spelled differently raw, JSON-escaped (`\/`), quoted (`%2F`) and quote_plus'ed: the
# suite's key-leak scan looks for every spelling.
API_KEY = "sk-test/0123+4567=89ab-cdef"


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


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the generator inputs (specs, templates, providers.toml) and the committed output, to edit."""
    for name in ("specs", "templates", "generated"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "providers.toml", tmp_path / "providers.toml")
    return tmp_path


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
_seen_clients: list[object] = []
_log_lines: list[str] = []


def secret_forms(secret: str) -> set[str]:
    """Every spelling of `secret` a leak could take: raw, JSON-escaped (`\\/`, `\\uXXXX`) and URL-encoded.

    Written independently of the SDK's redaction, so that a gap there cannot hide a leak here.
    """
    escaped = json.dumps(secret)[1:-1]
    every_u = "".join(f"\\u{ord(c):04x}" for c in secret)
    forms = {
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escaped.replace("/", "\\/"),
        every_u,
        every_u.upper().replace("\\U", "\\u"),
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in forms}
    forms |= {f.replace("\\", "\\\\") for f in forms}  # as a repr() shows them, backslashes doubled
    return forms


def find_leaks(texts: Iterable[str], secrets: Iterable[str] = SECRETS) -> list[str]:
    """The texts that contain any spelling of any secret."""
    forms = {form for secret in secrets for form in secret_forms(secret)}
    return [text for text in texts if any(form in text for form in forms)]


def _chain(error: BaseException) -> Iterator[BaseException]:
    """An error and the causes a traceback prints with it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def texts_to_scan(errors: Iterable[BaseException], log_lines: Iterable[str], clients: Iterable[object]) -> list[str]:
    """What a user could see: each error's text, repr, attributes and printed causes, every log line, and each
    client's repr, str and vars()."""
    texts = list(log_lines)
    for error in errors:
        for link in _chain(error):
            texts += [str(link), repr(link), repr(getattr(link, "__dict__", {})), repr(link.args)]
    for client in clients:
        texts += [repr(client), str(client), f"{client}", repr(vars(client))]
    return texts


class _Everything(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _log_lines.append(self.format(record))


def _recording(cls: type, into: list[Any]) -> Callable[[], None]:
    """Record every instance of `cls` once it is built; returns the undo."""
    original = cls.__init__

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        into.append(self)

    cls.__init__ = recording_init  # type: ignore[misc]
    return lambda: setattr(cls, "__init__", original)


@pytest.fixture(scope="session", autouse=True)
def scan_for_api_keys() -> Iterator[None]:
    """Record every SDK error, client and log line of the suite, then prove no spelling of a key is in any."""
    from kling_sdk import unified
    from kling_sdk._runtime import base_client, errors

    undo = [
        _recording(errors.KlingError, _seen_errors),
        _recording(base_client._BaseClient, _seen_clients),
        _recording(unified.Kling, _seen_clients),
        _recording(unified.AsyncKling, _seen_clients),
    ]
    handler = _Everything(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # The hooks prove themselves now, so a run of any subset of the suite (one file, -k) is scanned as well.
    probe = errors.KlingError("key scan self-test")
    logging.getLogger("kling_sdk").debug("key scan self-test")
    assert probe in _seen_errors and any("key scan self-test" in line for line in _log_lines), (
        "the key scan's recording hooks are broken"
    )
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for step in undo:
            step()
    leaks = find_leaks(texts_to_scan(_seen_errors, _log_lines, _seen_clients))
    assert not leaks, f"API key found in {len(leaks)} error/log/client texts, e.g. {leaks[0][:200]}"
