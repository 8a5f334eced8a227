"""Run the fake provider on loopback: in a background thread (`serve()`), or in the foreground (`main`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .._runtime.base_client import Clock
from .app import DroppedConnection, FakeProvider

FAKE_KEY = "fake-key"


class VirtualClock(Clock):
    """Time that moves only when someone sleeps: share one between the fake and clients to run long jobs fast."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Virtual seconds."""
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance time instead of blocking."""
        with self._lock:
            self._now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        """Advance time, then let other tasks (and the server's other requests) run briefly."""
        self.sleep(seconds)
        await asyncio.sleep(0.001)


@dataclass
class FakeServer:
    """A running fake provider: where it listens, and the app with its counters and fault controls."""

    url: str
    app: FakeProvider
    api_key: str | None

    def base_url(self, provider: str) -> str:
        """The base URL to give a client instead of the provider's real one."""
        return self.app.base_url(provider, self.url)

    @property
    def base_urls(self) -> dict[str, str]:
        """Every provider's base URL on this server."""
        return {name: self.base_url(name) for name in self.app.protocols}

    def client(self, provider: str, *, is_async: bool = False, model: str | None = None, **options: Any) -> Any:
        """A generated client of `provider` (for `model`, default: the one its package exports) pointed at this
        server, sharing its virtual clock, if any."""
        protocol = self.app.protocols[provider]
        client_info = protocol["client"]
        module = importlib.import_module(protocol["models"][model]["module"] if model else client_info["module"])
        cls = getattr(module, client_info["async" if is_async else "sync"])
        options.setdefault("api_key", self.api_key or FAKE_KEY)
        client = cls(base_url=self.base_url(provider), **options)
        if self.app.clock is not None:
            client._clock = self.app.clock
        return client


class _QuietDrops(logging.Filter):
    """Injected connection drops are the point, not server errors worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _idle_closing_protocol() -> type:
    """uvicorn's h11 protocol, also hanging up on a connection that sends nothing: uvicorn's own keep-alive
    timeout only starts after a first answer, so a client that connects and never speaks would be kept forever."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class IdleClosingProtocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_idle_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is None and not self.transport.is_closing():
                self._arm_idle_timer()  # half a request and then silence is idle too

        def _arm_idle_timer(self) -> None:
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    return IdleClosingProtocol


def _server(app: FakeProvider, sock: socket.socket, log_level: str, idle_timeout: float = 5.0) -> Any:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=2, ws="none",
        http=_idle_closing_protocol(), timeout_keep_alive=idle_timeout,  # type: ignore[arg-type]
    )  # fmt: skip
    config.load()  # import the protocol modules now, on the caller's thread
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every keep-alive answer waits ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@contextmanager
def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    log_level: str = "warning",
    idle_timeout: float = 5.0,
    **options: Any,
) -> Iterator[FakeServer]:
    """Run the fake provider on loopback in a background thread; yields the running server.

    `options` go to `FakeProvider` (queued, running, outcome, clock, tick, keepalive, max_body, ...); with
    `api_key` set, any other key is refused with the provider's 401. A connection silent for `idle_timeout`
    seconds (before its first request or between requests) is closed.
    """
    app = FakeProvider(api_keys=api_key, **options)
    sock = _bind(host, port)
    server = _server(app, sock, log_level, idle_timeout)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kling-fake-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake provider did not start")
        time.sleep(0.005)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    try:
        yield FakeServer(f"http://{shown}:{bound_port}", app, api_key)
    finally:
        app.closing.set()
        server.should_exit = True
        thread.join(10)
        sock.close()


def key_banner(protocols: dict[str, Any], api_key: str | None) -> str:
    """Which key the running fake accepts, as the export line of every provider's key variable."""
    names = [importlib.import_module(p["client"]["module"]).PROVIDER.api_key_env for p in protocols.values()]
    key = api_key or FAKE_KEY
    which = f"only {key!r} works" if api_key else "any non-empty key works"
    return f"  keys     {which}: export {' '.join(f'{name}={key}' for name in names)}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kling_sdk.testing", description="The fake Kling providers: a real HTTP server on loopback."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve every provider under its own path prefix until interrupted")
    run.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default 8000)")
    run.add_argument("--queued", type=float, default=2.0, help="seconds each job stays queued (default 2)")
    run.add_argument("--running", type=float, default=5.0, help="seconds each job runs (default 5)")
    run.add_argument("--outcome", choices=("succeeded", "failed"), default="succeeded", help="how jobs end")
    run.add_argument("--api-key", help="accept only this key (default: any non-empty key)")
    run.add_argument("--idle-timeout", type=float, default=5.0, help="close connections silent this long (default 5)")
    run.add_argument("--tick", type=float, default=0.5, help="seconds between event-stream checks (default 0.5)")
    run.add_argument("--keepalive", type=float, default=15.0, help="seconds between stream keep-alives (default 15)")
    run.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    demo = sub.add_parser(
        "demo", help="run one job per model of each provider through the generated clients and save the MP4s"
    )
    demo.add_argument("--out", default="out", help="folder for the videos (default out/)")
    demo.add_argument("--provider", action="append", help="only this provider (repeatable; default all)")
    demo.add_argument("--queued", type=float, default=1.0, help="seconds each job stays queued (default 1)")
    demo.add_argument("--running", type=float, default=2.0, help="seconds each job runs (default 2)")
    demo.add_argument(
        "--server",
        help="use the fake already running here (`serve`); default: $KLING_FAKE_URL if set, else a fresh one in "
        "this process",
    )
    demo.add_argument("--api-key", default=FAKE_KEY, help=f"the key to send (default {FAKE_KEY}; see serve's banner)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`serve`: run in the foreground, printing each provider's base URL and the env var that selects it; `demo`."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from .demo import main as demo

        return demo(args.out, args.provider, args.queued, args.running, args.server, args.api_key)
    app = FakeProvider(
        queued=args.queued, running=args.running, outcome=args.outcome, api_keys=args.api_key, tick=args.tick,
        keepalive=args.keepalive,
    )  # fmt: skip
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    origin = f"http://{host}:{port}"
    print(f"fake Kling providers on {origin} (jobs: {args.queued:g}s queued, {args.running:g}s running)")
    for name in app.protocols:
        env = f"{name.upper()}_BASE_URL"
        print(f"  {name:<8} {app.base_url(name, origin):<40} export {env}={app.base_url(name, origin)}")
    print(f"  control  {origin}/_fake/stats  (GET /_fake/jobs, POST /_fake/faults, POST /_fake/reset)")
    print(key_banner(app.protocols, args.api_key))
    print(f"  demo     python -m kling_sdk.testing demo --server {origin}   (or export KLING_FAKE_URL={origin})")
    sys.stdout.flush()
    server = _server(app, sock, args.log_level, args.idle_timeout)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        app.closing.set()
    return 0
