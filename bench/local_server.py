"""A small fal-protocol queue server on loopback for the runtime benchmarks (uvicorn, raw ASGI).

Time can be virtual: a request carrying `X-Fake-Now: <seconds>` is answered as if that were the time,
so a 10-minute job can be simulated in milliseconds while every status check is still a real HTTP request.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

CHUNK = b"\x00" * (1 << 20)


class QueueApp:
    """fal's queue protocol: submit, status (202 until done), SSE status stream, result, and a file host."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[float, float]] = {}
        self.calls: Counter[str] = Counter()
        self.base = ""

    @staticmethod
    def _now(headers: dict[str, str]) -> float:
        return float(headers["x-fake-now"]) if "x-fake-now" in headers else time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path, method = scope["path"], scope["method"]
        while (await receive()).get("more_body"):
            pass
        if method == "POST" and path.startswith("/fal-ai/kling-video/v2.6/pro/"):
            self.calls["submit"] += 1
            job_id = str(uuid.uuid4())
            self.jobs[job_id] = (self._now(headers), float(headers.get("x-bench-job-seconds", "0")))
            return await self._json(send, 200, self._status(job_id, "IN_QUEUE"))
        if m := re.fullmatch(r"/fal-ai/kling-video/requests/([^/]+)/status", path):
            self.calls["status"] += 1
            done = self._done(m[1], self._now(headers))
            return await self._json(
                send, 200 if done else 202, self._status(m[1], "COMPLETED" if done else "IN_PROGRESS")
            )
        if m := re.fullmatch(r"/fal-ai/kling-video/requests/([^/]+)/status/stream", path):
            self.calls["stream"] += 1
            return await self._stream(send, m[1], self._now(headers))
        if m := re.fullmatch(r"/fal-ai/kling-video/requests/([^/]+)", path):
            self.calls["result"] += 1
            size = int(headers.get("x-bench-file-size", "1048576"))
            video = {
                "url": f"{self.base}/files/{size}",
                "content_type": "video/mp4",
                "file_name": "out.mp4",
                "file_size": size,
            }
            return await self._json(send, 200, {"video": video})
        if m := re.fullmatch(r"/files/(\d+)", path):
            self.calls["download"] += 1
            return await self._file(send, int(m[1]), headers.get("range"))
        await self._json(send, 404, {"detail": "not found"})

    def _done(self, job_id: str, now: float) -> bool:
        created, seconds = self.jobs[job_id]
        return now >= created + seconds

    def _status(self, job_id: str, status: str) -> dict[str, Any]:
        base = f"{self.base}/fal-ai/kling-video/requests/{job_id}"
        doc: dict[str, Any] = {"status": status, "request_id": job_id, "response_url": base,
                               "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}  # fmt: skip
        if status == "IN_QUEUE":
            doc["queue_position"] = 0
        return doc

    @staticmethod
    async def _json(send: Send, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _stream(self, send: Send, job_id: str, now: float) -> None:
        """Push one event per virtual second (a keep-alive), then COMPLETED at the job's end."""
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        created, seconds = self.jobs[job_id]
        t = now
        await send(
            {
                "type": "http.response.body",
                "body": f"data: {json.dumps(self._status(job_id, 'IN_PROGRESS'))}\n\n".encode(),
                "more_body": True,
            }
        )
        while t < created + seconds:
            t += 1.0
            await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
        event = f"data: {json.dumps({**self._status(job_id, 'COMPLETED'), 'notice_at': t})}\n\n".encode()
        await send({"type": "http.response.body", "body": event})

    @staticmethod
    async def _file(send: Send, size: int, range_header: str | None) -> None:
        start, status = 0, 200
        headers = [(b"content-type", b"video/mp4"), (b"accept-ranges", b"bytes")]
        if range_header:
            start, status = int(range_header.removeprefix("bytes=").split("-")[0]), 206
            headers.append((b"content-range", f"bytes {start}-{size - 1}/{size}".encode()))
        headers.append((b"content-length", str(size - start).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        left = size - start
        while left > 0:
            piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
            left -= len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": left > 0})


@contextmanager
def serve() -> Iterator[tuple[str, QueueApp]]:
    """Run the app on a free loopback port in a background thread; yields (base URL, app)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = QueueApp()
    app.base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield app.base, app
    finally:
        server.should_exit = True
        thread.join(5)
