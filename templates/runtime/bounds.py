"""Total time limits for HTTP exchanges, and the share of the connection pool that streams may hold.

httpx's timeouts bound each phase and each read, not an exchange: a server that trickles a byte every few seconds,
or keeps an event stream alive without events, defeats them. A deadline needs a total bound:

- async: the exchange runs under `asyncio.timeout` (`time_box`), which cancels it wherever it waits;
- sync: the exchange runs on a helper thread that the caller stops waiting for (`call_within`), and a stream's
  lines are read on a helper thread too (`LineReader`), its socket shut down when the caller gives up (`hang_up`),
  so the caller is never held past its limit whatever the server does. An answer a helper gets after its caller
  gave up is closed unread. Helpers are daemon threads kept for reuse (`_Workers`): a thread start costs far more
  than handing work to a waiting one, and a helper stuck on a server that never stops trickling cannot hold up
  the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import httpx

__all__ = [
    "CANCEL_GRACE",
    "Expired",
    "LineReader",
    "StreamSlots",
    "call_within",
    "hang_up",
    "time_box",
    "time_limited",
    "total_seconds",
]

T = TypeVar("T")

CANCEL_GRACE = 3.0
"""Seconds the cancel of `cancel_on_deadline` may take after the deadline (it is bounded like any request)."""


class Expired(Exception):
    """An exchange did not finish within its total time limit."""


def total_seconds(timeout: httpx.Timeout) -> float | None:
    """The longest one exchange may take under `timeout` as a total (its largest phase limit); None: unbounded."""
    limits = [value for value in (timeout.connect, timeout.read, timeout.write, timeout.pool) if value is not None]
    return max(limits) if limits else None


def time_limited(timeouts: Mapping[str, Any], seconds: float) -> dict[str, float]:
    """httpx per-phase timeouts (an `as_dict()` mapping), none longer than `seconds`."""
    return {phase: seconds if value is None else min(float(value), seconds) for phase, value in timeouts.items()}


@contextlib.asynccontextmanager
async def time_box(seconds: float | None) -> AsyncIterator[None]:
    """Run the block under a total limit (None: none); raises `Expired` when it runs out."""
    if seconds is None:
        yield
        return
    box = asyncio.timeout(max(0.0, seconds))
    try:
        async with box:
            yield
    except TimeoutError:
        if box.expired():
            raise Expired from None
        raise


class _Workers:
    """Daemon threads that run exchanges for sync callers: one is started only when none is idle, and a worker
    idle for `IDLE` seconds ends."""

    IDLE = 30.0

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # workers waiting for a task that no submitted task has reserved yet
        self._lock = threading.Lock()

    def run(self, task: Callable[[], None]) -> None:
        """Run `task` on a worker (never blocks)."""
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        self._tasks.put(task)
        if spawn:
            threading.Thread(target=self._work, name="kling-io", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                task = self._tasks.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # still counted idle, so no task is on its way to this worker
                        self._idle -= 1
                        return
                continue
            task()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()


def _fresh_workers() -> None:
    global _WORKERS
    _WORKERS = _Workers()  # a forked child has none of its parent's threads


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_fresh_workers)


class _Handoff(Generic[T]):
    """The outcome of work on a helper thread, and whether its caller stopped waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self, work: Callable[[], T]) -> None:
        value: T | None = None
        error: BaseException | None = None
        try:
            value = work()
        except BaseException as exc:  # handed to the caller, who re-raises it
            error = exc
        with self._lock:
            self._value, self._error = value, error
            abandoned = self._abandoned
            self.done.set()
        if abandoned and isinstance(value, httpx.Response):
            hang_up(value)
            value.close()  # nobody will read it: give the connection back

    def abandon(self) -> bool:
        """Give up on the work; False if it finished in the meantime (its outcome then stands)."""
        with self._lock:
            if self.done.is_set():
                return False
            self._abandoned = True
            return True

    def outcome(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def call_within(work: Callable[[], T], seconds: float | None) -> T:
    """`work()` (one HTTP exchange), given up after `seconds` with `Expired`; None: no limit, on this thread."""
    if seconds is None:
        return work()
    handoff: _Handoff[T] = _Handoff()
    _WORKERS.run(lambda: handoff.run(work))
    if not handoff.done.wait(max(0.0, seconds)) and handoff.abandon():
        raise Expired
    return handoff.outcome()


def hang_up(response: httpx.Response) -> None:
    """Shut the response's socket down: this wakes a thread blocked reading it (closing the socket may not)."""
    stream = response.extensions.get("network_stream")
    get_info = getattr(stream, "get_extra_info", None)
    sock = get_info("socket") if get_info is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's method, also under TLS


class LineReader:
    """A sync stream's lines, read on a helper thread so that the caller can stop at its deadline mid-read.

    The helper reads a line only when the caller asks for one (the stream is pulled as lazily as a plain
    iteration would); it owns the response and closes it; `stop()` makes it hang up.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._answers: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._stopped = threading.Event()
        self._finished = threading.Event()
        _WORKERS.run(self._pump)

    def _pump(self) -> None:
        try:
            lines = self._response.iter_lines()
            while True:
                self._wanted.acquire()
                if self._stopped.is_set():
                    break
                line = next(lines, None)
                self._answers.put(("end", None) if line is None else ("line", line))
                if line is None:
                    break
        except Exception as exc:  # handed to the reader, who re-raises it
            self._answers.put(("error", exc))
        finally:
            self._finished.set()
            self._response.close()

    def lines(self, seconds_left: Callable[[], float | None]) -> Iterator[str]:
        """The lines as they come; `Expired` once `seconds_left()` reaches zero before the next one."""
        while True:
            left = seconds_left()
            self._wanted.release()
            try:
                kind, value = self._answers.get(timeout=None if left is None else max(0.0, left))
            except queue.Empty:
                raise Expired from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def stop(self) -> None:
        """Stop reading: the helper closes the response, after hanging up if it is still blocked in a read (a
        stream that ended on its own keeps its connection for the next request)."""
        self._stopped.set()
        self._wanted.release()
        if not self._finished.is_set():
            hang_up(self._response)


class StreamSlots:
    """How many event streams may be open at once: at most half the pool, so that status checks, submits and
    results always find a connection. A wait that finds no free slot polls instead of waiting for one."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._taken = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Claim a slot if one is free (never blocks)."""
        with self._lock:
            if self._taken >= self.size:
                return False
            self._taken += 1
            return True

    def give(self) -> None:
        """Return a slot."""
        with self._lock:
            self._taken = max(0, self._taken - 1)
