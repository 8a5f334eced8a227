"""An in-process fake of each provider's queue protocol, on a virtual clock, for httpx.MockTransport.

The wire shapes are written from the dossier (../shared/reference/providers.md), independently of the
manifest's JSON pointers, so the lifecycle tests check the manifest rather than echo it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from kling_sdk._runtime.base_client import Clock

VIDEO = bytes(range(256)) * 4096  # 1 MiB
CDN = "https://cdn.fake.test"
PROVIDERS = ("oxen", "aimlapi", "sunra", "fal")
QUEUE_BASE = {"sunra": "https://api.sunra.ai/v1/queue", "fal": "https://queue.fal.run/fal-ai/kling-video"}


class VirtualClock(Clock):
    """Time that passes only when someone sleeps (or the fake server says it did)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


@dataclass
class FakeJob:
    id: str
    created: float
    body: dict[str, Any]
    queued: float
    running: float
    outcome: str
    cancelled_at: float | None = None


@dataclass
class Fault:
    """A scripted misbehaviour of one route: an HTTP status, or a transport error, for the next `times` calls."""

    status: int | None = None
    error: type[Exception] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1


class FakeProvider:
    """One provider's queue: submit, status (and fal's 202), result, cancel, streams, uploads, downloads."""

    def __init__(
        self,
        provider: str,
        clock: VirtualClock,
        *,
        is_async: bool = False,
        queued: float = 10.0,
        running: float = 110.0,
        outcome: str = "succeeded",
        unknown_status: str | None = None,
        stream_drop_after: int | None = None,
        truncate_download: list[int] | None = None,
        range_support: bool = True,
        stated_size: int | None = None,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.is_async = is_async
        self.queued = queued
        self.running = running
        self.outcome = outcome
        self.unknown_status = unknown_status
        self.stream_drop_after = stream_drop_after
        self.truncate_download = list(truncate_download or [])
        self.range_support = range_support
        self.stated_size = stated_size
        self.jobs: dict[str, FakeJob] = {}
        self.calls: Counter[str] = Counter()
        self.requests: list[httpx.Request] = []
        self.faults: dict[str, list[Fault]] = {}
        self.uploads: list[bytes] = []
        self.completed_at: dict[str, float] = {}

    # ------------------------------------------------------------------ control
    def fail(self, route: str, fault: Fault) -> None:
        self.faults.setdefault(route, []).append(fault)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def state(self, job: FakeJob) -> str:
        t = self.clock.now()
        end = job.created + job.queued + job.running
        if job.cancelled_at is not None and job.cancelled_at < end:
            return "cancelled"
        if t < job.created + job.queued:
            return "queued"
        if t < end:
            return "running"
        self.completed_at.setdefault(job.id, end)
        return job.outcome

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route, match = self._route(request)
        self.calls[route] += 1
        faults = self.faults.get(route)
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            if fault.error is not None:
                raise fault.error("injected", request=request)
            return self._json(fault.status or 500, fault.body or {"message": "injected"}, fault.headers)
        if route != "download" and route != "upload_put" and not self._authorised(request):
            return self._json(401, {"error": {"message": "unauthenticated"}, "message": "unauthenticated"})
        return getattr(self, f"_{route}")(request, *match)

    def _authorised(self, request: httpx.Request) -> bool:
        scheme = "Bearer" if self.provider in ("oxen", "aimlapi") else "Key"
        return request.headers.get("authorization", "").startswith(scheme + " ")

    ROUTES: ClassVar[dict[str, list[tuple[str, str, str]]]] = {
        "oxen": [
            ("POST", r"/api/ai/queue", "submit"),
            ("GET", r"/api/ai/queue/([^/]+)", "status"),
            ("DELETE", r"/api/ai/queue/([^/]+)", "cancel"),
            ("GET", r"/api/events", "stream"),
        ],
        "aimlapi": [("POST", r"/v2/video/generations", "submit"), ("GET", r"/v2/video/generations", "status")],
        "sunra": [
            ("POST", r"/v1/queue/kling/kling-v2\.6-pro/image-to-video", "submit"),
            ("GET", r"/v1/queue/+requests/([^/]+)/status", "status"),
            ("GET", r"/v1/queue/+requests/([^/]+)/status/stream", "stream"),
            ("GET", r"/v1/queue/+requests/([^/]+)", "result"),
            ("PUT", r"/v1/queue/+requests/([^/]+)/cancel", "cancel"),
            ("POST", r"/v1/storage/upload/initiate", "upload_initiate"),
        ],
        "fal": [
            ("POST", r"/fal-ai/kling-video/v2\.6/pro/(image-to-video|text-to-video)", "submit"),
            ("GET", r"/fal-ai/kling-video(?:/v2\.6/pro/[a-z-]+)?/requests/([^/]+)/status", "status"),
            ("GET", r"/fal-ai/kling-video(?:/v2\.6/pro/[a-z-]+)?/requests/([^/]+)/status/stream", "stream"),
            ("GET", r"/fal-ai/kling-video(?:/v2\.6/pro/[a-z-]+)?/requests/([^/]+)", "result"),
            ("PUT", r"/fal-ai/kling-video(?:/v2\.6/pro/[a-z-]+)?/requests/([^/]+)/cancel", "cancel"),
        ],
    }

    def _route(self, request: httpx.Request) -> tuple[str, tuple[str, ...]]:
        if request.url.host == "cdn.fake.test" or request.url.path.startswith("/api/repos/fake/"):
            return "download", ()
        if request.url.host == "storage.fake.test":
            return "upload_put", ()
        for method, pattern, route in self.ROUTES[self.provider]:
            m = re.fullmatch(pattern, request.url.path)
            if m and request.method == method:
                return route, m.groups()
        raise AssertionError(f"the fake {self.provider} has no route for {request.method} {request.url}")

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers or {})

    # ------------------------------------------------------------------ routes
    def _submit(self, request: httpx.Request, *groups: str) -> httpx.Response:
        body = json.loads(request.content)
        raw_id = {"oxen": str(uuid.uuid4()), "aimlapi": f"{uuid.uuid4()}:{body.get('model')}",
                  "sunra": "pd_" + uuid.uuid4().hex[:24], "fal": str(uuid.uuid4())}[self.provider]  # fmt: skip
        job = FakeJob(raw_id, self.clock.now(), body, self.queued, self.running, self.outcome)
        self.jobs[raw_id] = job
        if self.provider == "oxen":
            return self._json(200, {"generations": [{"generation_id": raw_id, "status": "queued"}]})
        if self.provider == "aimlapi":
            return self._json(200, {"id": raw_id, "status": "queued"})
        return self._json(200, {**self._queue_urls(raw_id), "status": "IN_QUEUE", "queue_position": 0})

    def _queue_urls(self, job_id: str) -> dict[str, str]:
        base = QUEUE_BASE[self.provider]
        return {
            "request_id": job_id,
            "response_url": f"{base}/requests/{job_id}",
            "status_url": f"{base}/requests/{job_id}/status",
            "cancel_url": f"{base}/requests/{job_id}/cancel",
        }

    def _video_url(self, job_id: str) -> str:
        if self.provider == "oxen":
            return f"https://hub.oxen.ai/api/repos/fake/files/{job_id}.mp4"
        return f"{CDN}/{job_id.replace(':', '_').replace('/', '_')}.mp4"

    def status_document(self, job: FakeJob) -> tuple[int, dict[str, Any]]:
        state = self.state(job)
        if state == "running" and self.unknown_status:
            state = "unknown"
        p = self.provider
        if p == "oxen":
            raw = {"queued": "queued", "running": "processing", "succeeded": "succeeded", "failed": "failed",
                   "cancelled": "cancelled", "unknown": self.unknown_status}[state]  # fmt: skip
            return 200, {
                "generation_id": job.id, "model_name": job.body["model"], "prompt": job.body.get("prompt", ""),
                "media_type": "video", "status": raw,
                "result_url": self._video_url(job.id) if state == "succeeded" else None,
                "error_message": "Insufficient credits" if state == "failed" else None,
                "enqueued_at": 1775091431, "started_at": None, "completed_at": None,
            }  # fmt: skip
        if p == "aimlapi":
            raw = {"queued": "queued", "running": "generating", "succeeded": "completed", "failed": "error",
                   "cancelled": "error", "unknown": self.unknown_status}[state]  # fmt: skip
            doc: dict[str, Any] = {"id": job.id, "status": raw}
            if state == "succeeded":
                doc["video"] = {"url": self._video_url(job.id)}
            if state == "failed":
                doc["error"] = {"detail": [{"loc": ["body", "image_url"], "msg": "Could not detect face in the image",
                                            "type": "face_detection_error"}]}  # fmt: skip
            return 200, doc
        raw = {"queued": "IN_QUEUE", "running": "IN_PROGRESS", "succeeded": "COMPLETED", "failed": "COMPLETED",
               "cancelled": "CANCELLED" if p == "sunra" else "COMPLETED", "unknown": self.unknown_status}[state]  # fmt: skip
        doc = {**self._queue_urls(job.id), "status": raw}
        if state == "queued":
            doc["queue_position"] = 3
        if state in ("running", "unknown"):
            doc["logs"] = (
                "step 1\nstep 2"
                if p == "sunra"
                else [{"message": "step 1", "level": "INFO", "source": "USER", "timestamp": "2026-11-22T10:00:00Z"}]
            )
        if p == "sunra" and raw == "COMPLETED":
            doc["success"] = state == "succeeded"
            doc["error"] = (
                {"code": "unsafe_content", "message": "The prompt was flagged", "retryable": False}
                if state == "failed"
                else None
            )
        if p == "fal" and state in ("failed", "cancelled"):
            doc["error"] = "Request cancelled" if state == "cancelled" else "Internal error during inference"
            doc["error_type"] = "request_cancelled" if state == "cancelled" else "runner_disconnected"
        code = 200 if p != "fal" or raw == "COMPLETED" else 202
        return code, doc

    def _status(self, request: httpx.Request, *groups: str) -> httpx.Response:
        job_id = groups[0] if groups else request.url.params.get("generation_id", "")
        job = self.jobs.get(job_id)
        if job is None:
            return self._json(
                404, {"error": {"type": "resource_not_found", "message": "not found"}, "message": "not found"}
            )
        code, doc = self.status_document(job)
        return self._json(code, doc)

    def _result(self, request: httpx.Request, job_id: str) -> httpx.Response:
        job = self.jobs[job_id]
        state = self.state(job)
        if state != "succeeded":
            if self.provider == "sunra":
                return self._json(400, {"error": {"code": "PREDICTION_FAILED", "message": "failed"}})
            return self._json(422, {"detail": [{"loc": ["body"], "msg": "failed", "type": "runner_disconnected"}]})
        file_size = self.stated_size if self.stated_size is not None else len(VIDEO)
        return self._json(200, {"video": {"url": self._video_url(job_id), "content_type": "video/mp4",
                                          "file_name": "output.mp4", "file_size": file_size}})  # fmt: skip

    def _cancel(self, request: httpx.Request, job_id: str) -> httpx.Response:
        job = self.jobs[job_id]
        if self.state(job) in ("queued", "running"):
            job.cancelled_at = self.clock.now()
        if self.provider == "oxen":
            return self._json(200, {"status": "success", "generation_id": job_id})
        return self._json(202 if self.provider == "fal" else 200, {"status": "CANCELLATION_REQUESTED"})

    def _upload_initiate(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        name = uuid.uuid4().hex
        return self._json(200, {"upload_url": f"https://storage.fake.test/put/{name}",
                                "file_url": f"{CDN}/uploads/{name}/{body['file_name']}"})  # fmt: skip

    def _upload_put(self, request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers, "the API key must not go to the storage host"
        self.uploads.append(request.content)
        return httpx.Response(200)

    # ------------------------------------------------------------------ streams
    def _stream(self, request: httpx.Request, *groups: str) -> httpx.Response:
        lines = self._oxen_events(self.clock.now()) if self.provider == "oxen" else self._status_events(groups[0])
        lines = self._maybe_drop(lines)
        headers = {"content-type": "text/event-stream"}
        if self.is_async:
            return httpx.Response(200, headers=headers, content=_aiter(lines))
        return httpx.Response(200, headers=headers, content=lines)

    def _maybe_drop(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        for n, line in enumerate(lines):
            if self.stream_drop_after is not None and n >= self.stream_drop_after:
                raise httpx.ReadError("stream dropped")
            yield line

    def _status_events(self, job_id: str) -> Iterator[bytes]:
        last = None
        for _ in range(100_000):
            _, doc = self.status_document(self.jobs[job_id])
            if doc != last:
                yield f"data: {json.dumps(doc)}\n\n".encode()
                last = doc
                if doc["status"] not in ("IN_QUEUE", "IN_PROGRESS", self.unknown_status):
                    return
            else:
                yield b": keep-alive\n\n"
            self.clock.t += 1.0  # the server pushes about once a second

    def _oxen_events(self, subscribed_at: float) -> Iterator[bytes]:
        sent: set[str] = set()
        noise = {"generation_id": "someone-else", "status": "succeeded", "media_type": "video", "url": "x"}
        yield f"event: media_generation_completed\ndata: {json.dumps(noise)}\n\n".encode()
        for _ in range(100_000):
            for job in self.jobs.values():
                state = self.state(job)
                end = job.created + job.queued + job.running
                if job.id in sent or state not in ("succeeded", "failed") or end < subscribed_at:
                    continue
                sent.add(job.id)
                data = {"generation_id": job.id, "status": state, "media_type": "video"}
                data.update(
                    {"url": self._video_url(job.id)} if state == "succeeded" else {"error": "Insufficient credits"}
                )
                yield f"event: media_generation_completed\ndata: {json.dumps(data)}\n\n".encode()
            yield b": keep-alive\n\n"
            self.clock.t += 15.0  # keep-alive every 15 s when idle

    # ------------------------------------------------------------------ downloads
    def _download(self, request: httpx.Request) -> httpx.Response:
        start = 0
        status = 200
        headers = {"content-type": "video/mp4", "accept-ranges": "bytes" if self.range_support else "none",
                   "etag": '"sample-v1"', "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT"}  # fmt: skip
        rng = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if rng and self.range_support and if_range in (None, headers["etag"], headers["last-modified"]):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(VIDEO):
                return httpx.Response(416, headers={"content-range": f"bytes */{len(VIDEO)}"})
            status = 206
            headers["content-range"] = f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"
        body = VIDEO[start:]
        headers["content-length"] = str(len(body))
        cut = self.truncate_download.pop(0) if self.truncate_download else None

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(body), 64 * 1024):
                if cut is not None and start + i >= cut:
                    raise httpx.ReadError("connection dropped mid-body")
                yield body[i : i + 64 * 1024]

        content: Any = _aiter(chunks()) if self.is_async else chunks()
        return httpx.Response(status, headers=headers, content=content)


async def _aiter(items: Iterator[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item
        await asyncio.sleep(0)
