"""The fake provider: one ASGI app speaking every provider's queue protocol, driven by `protocols.json`.

Each provider lives under its own path prefix (`/fal`, `/sunra`, ...) followed by the path of its real base URL,
so `http://127.0.0.1:8000/fal` stands in for `https://queue.fal.run`. Routes, auth, request schemas, status
vocabulary and response shapes all come from the manifest and vendored specs via the generated protocol table.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import re
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
_PLACEHOLDER = re.compile(r"{(\w+)((?:/[^{}/]+)*)}")  # {name}, or {name/pointer} into a value (e.g. {body/input})
_BASE62 = string.ascii_letters + string.digits
_CONTROL = "/_fake"
logger = logging.getLogger("kling_sdk.testing")


class DroppedConnection(Exception):
    """Raised inside the app to make the server close a connection mid-body (an injected fault)."""


@dataclass
class Fault:
    """A scripted misbehaviour of one route for the next `times` requests (`None`: every request).

    `status` answers in the provider's error shape (with `Retry-After` if `retry_after` is set); `drop` lets the
    request take effect, then closes the connection mid-body; `truncate` closes a download after that many bytes
    (announcing the full length, or with `honest` the cut length, ending the body normally); `latency` delays the
    answer; `stall` sends half the body (a stream: its first event), then waits that long before the rest;
    `trickle` sends the body one byte every that many seconds; `fail_generation` and `unknown_status` shape the
    job a submit creates. With `ingress`, `status` is answered by a front proxy instead of the provider (an nginx
    HTML page, none of the provider's headers: the request never reached it); `headers` are added to the answer.
    With `seconds`, the fault lasts that long on the app's clock from its injection (and ends early once `times`
    is used up). Every field is checked when the fault is made: a wrong type is a ValueError naming it.
    """

    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    truncate: int | None = None
    honest: bool = False
    latency: float = 0.0
    stall: float | None = None
    trickle: float | None = None
    fail_generation: bool = False
    unknown_status: str | None = None
    ingress: bool = False
    headers: dict[str, str] | None = None
    times: int | None = 1
    skip: int = 0
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name, rule in _FAULT_RULES.items():
            problem = rule(getattr(self, name))
            if problem:
                raise ValueError(f"fault field {name!r} {problem}, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data: Any) -> Fault:
        """Build from JSON (the control endpoint); unknown keys and wrong types are a ValueError naming the field."""
        if not isinstance(data, dict):
            raise ValueError("fault must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**data)


def _number(minimum: float, *, optional: bool, above: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number" + (" or null" if optional else "")
        if value < minimum or (above and value == minimum):
            return f"must be {'>' if above else '>='} {minimum:g}"
        return None

    return check


def _integer(minimum: int, *, optional: bool, maximum: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer" + (" or null" if optional else "")
        if value < minimum or (maximum is not None and value > maximum):
            return f"must be in {minimum}..{maximum}" if maximum is not None else f"must be >= {minimum}"
        return None

    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "must be a string or null"


def _header_map(value: Any) -> str | None:
    if value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in [*value, *value.values()])):
        return None
    return "must be an object of strings or null"


_FAULT_RULES: dict[str, Callable[[Any], str | None]] = {
    "status": _integer(100, optional=True, maximum=599),
    "retry_after": _number(0, optional=True),
    "drop": _flag,
    "truncate": _integer(0, optional=True),
    "honest": _flag,
    "latency": _number(0, optional=False),
    "stall": _number(0, optional=True),
    "trickle": _number(0, optional=True, above=True),
    "fail_generation": _flag,
    "unknown_status": _text,
    "ingress": _flag,
    "headers": _header_map,
    "times": _integer(1, optional=True),
    "skip": _integer(0, optional=False),
    "seconds": _number(0, optional=True, above=True),
}


@dataclass
class _Job:
    provider: str
    id: str
    operation: str
    model: str | None  # the neutral model of the submit route (None: a provider-level route)
    body: dict[str, Any]
    created: float
    queued: float
    running: float
    outcome: str
    failure: dict[str, Any]
    unknown_status: str | None = None
    cancelled_at: float | None = None

    @property
    def ends(self) -> float:
        return self.created + self.queued + self.running

    def state(self, now: float) -> str:
        if self.cancelled_at is not None and self.cancelled_at < self.ends:
            return "cancelled"
        if now < self.created + self.queued:
            return "queued"
        if now < self.ends:
            return "running"
        return self.outcome


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    origin: str
    too_large: bool = False  # the body was over the limit: it was not read and is empty here


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[Callable[[], bool]], AsyncIterator[bytes]] | None = None  # called with `stopped()`


def load_protocols() -> dict[str, Any]:
    """The generated protocol table shipped next to this module."""
    text = resources.files(__package__).joinpath("protocols.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def sample_video() -> bytes:
    """The tiny valid MP4 (H.264 + AAC, 160x90, 1 s) every fake job produces."""
    return resources.files(__package__).joinpath("sample.mp4").read_bytes()


def body_digest(body: Any) -> str:
    """A stable hash of a JSON body: equal bodies, equal digests, whatever the key order."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def fill(template: Any, values: dict[str, Any]) -> Any:
    """Substitute `{name}` placeholders (`{name/pointer}`: a member of the value): a string that is exactly one
    placeholder takes the value's own type."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _value(values, whole)
        return _PLACEHOLDER.sub(lambda m: str(_value(values, m, m[0])), template)
    return template


def _value(values: dict[str, Any], match: re.Match[str], missing: Any = None) -> Any:
    if match[1] not in values:
        return missing
    return copy.deepcopy(_at(values[match[1]], match[2])) if match[2] else values[match[1]]


def _at(document: Any, pointer: str) -> Any:
    """The member a JSON pointer names (None where there is none)."""
    node = document
    for token in pointer.strip("/").split("/") if pointer.strip("/") else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node.get(token) if isinstance(node, dict) else None
    return node


def merged(base: Any, overlay: Any) -> Any:
    """`overlay` deep-merged onto `base` (dicts merge, anything else replaces)."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merged(base.get(key), value) if key in base else value
        return out
    return copy.deepcopy(overlay)


class FakeProvider:
    """The ASGI app and its state: jobs, per-route request counters, submit counters per body, injected faults."""

    def __init__(
        self,
        *,
        queued: float = 1.0,
        running: float = 3.0,
        outcome: str = "succeeded",
        api_keys: dict[str, str] | str | None = None,
        clock: Any = None,
        tick: float = 0.5,
        keepalive: float = 15.0,
        video: bytes | None = None,
        max_body: int = 16 * 1024 * 1024,
        list_lag: float = 0.0,
    ) -> None:
        if outcome not in ("succeeded", "failed"):
            raise ValueError("outcome must be 'succeeded' or 'failed'")
        self.protocols: dict[str, Any] = load_protocols()["providers"]
        self.queued, self.running, self.outcome = queued, running, outcome
        self.api_keys = api_keys
        self.clock = clock
        self.tick = tick
        self.keepalive = keepalive
        self.video = video if video is not None else sample_video()
        self.max_body = max_body  # bytes; a larger request body is refused unread (413 in the provider's shape)
        self.list_lag = list_lag  # seconds a new job is missing from the job list (a listing that lags behind)
        self.jobs: dict[tuple[str, str], _Job] = {}
        self.calls: Counter[str] = Counter()
        self.submits: Counter[str] = Counter()
        self.uploads: dict[str, bytes] = {}
        self._faults: dict[tuple[str, str], list[Fault]] = {}
        self._fault_ends: dict[int, float] = {}  # id(fault) -> when a fault with `seconds` ends (the app's clock)
        self._lock = threading.Lock()
        self._validators: dict[str, Any] = {}
        from jsonschema import Draft202012Validator  # imported here, not on a server thread mid-request

        self._validator_class = Draft202012Validator
        self._epoch = time.time() - self.now()
        self.closing = threading.Event()  # set from the thread that stops the server

    # ------------------------------------------------------------------ control (Python API)
    def now(self) -> float:
        """Seconds on the app's clock (virtual when a clock was given)."""
        return float(self.clock.now()) if self.clock is not None else time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait on the app's clock."""
        if self.clock is not None:
            await self.clock.asleep(seconds)
        else:
            await asyncio.sleep(seconds)

    async def pause(self, seconds: float, stopped: Callable[[], bool]) -> None:
        """Wait on the app's clock in ticks, ending early once `stopped()` (the client left, the server stops)."""
        end = self.now() + seconds
        while not stopped() and self.now() < end:
            await self.sleep(min(self.tick, end - self.now()))

    def inject(self, provider: str, route: str, fault: Fault | None = None, **options: Any) -> Fault:
        """Script a fault on a route: an operation name, a kind (submit, status, result, cancel, list, stream,
        events, upload, upload_put), `download`, or `*` for every route of the provider.

        An unknown provider is a KeyError, an unknown route or a badly typed option a ValueError naming it."""
        routes = self.routes(provider)
        if route not in routes:
            raise ValueError(f"route {route!r} is not a route of {provider} (one of: {', '.join(sorted(routes))})")
        fault = fault or Fault(**options)
        with self._lock:
            self._faults.setdefault((provider, route), []).append(fault)
            if fault.seconds is not None:
                self._fault_ends[id(fault)] = self.now() + fault.seconds
        return fault

    def routes(self, provider: str) -> set[str]:
        """What `inject` takes as a route for `provider`: operation names, kinds, `download`, `*`."""
        proto = self._provider(provider)
        names = {name for r in proto["routes"] for name in (r["operation"], r["kind"])}
        if proto["stream"]:
            names |= {"stream", "events" if proto["stream"]["kind"] == "events" else "stream"}
        if proto["upload_path"]:
            names |= {"upload", "upload_put"}
        return names | {"download", "*"}

    def job_list(self) -> list[dict[str, Any]]:
        """Every job the fake holds: provider, id, state, prompt and body digest (what a submit made)."""
        now = self.now()
        with self._lock:
            jobs = list(self.jobs.values())
        return [{"provider": j.provider, "model": j.model, "id": j.id, "state": j.state(now),
                 "prompt": _at(j.body, self.protocols[j.provider]["prompt"]), "digest": body_digest(j.body)}
                for j in jobs]  # fmt: skip

    def count(self, provider: str, route: str | None = None) -> int:
        """Requests a provider received on a route (operation name or kind), or on all routes."""
        with self._lock:
            return sum(n for key, n in self.calls.items() if _route_matches(key, provider, route))

    def submit_counts(self, provider: str | None = None) -> dict[str, int]:
        """How many times each distinct body was submitted, by `provider:digest`."""
        with self._lock:
            return {k: n for k, n in self.submits.items() if provider is None or k.startswith(provider + ":")}

    def stats(self) -> dict[str, Any]:
        """Counters as JSON: requests per route, submits per body, jobs per state, fault uses still to come."""
        now = self.now()
        with self._lock:
            states = Counter(f"{job.provider}.{job.state(now)}" for job in self.jobs.values())
            pending = sum(f.times for queue in self._faults.values() for f in queue if f.times is not None)
            return {"calls": dict(self.calls), "submits": dict(self.submits), "jobs": dict(states),
                    "faults_pending": pending}  # fmt: skip

    def reset(self) -> None:
        """Forget jobs, counters and faults."""
        with self._lock:
            self.jobs.clear()
            self.calls.clear()
            self.submits.clear()
            self._faults.clear()
            self._fault_ends.clear()
            self.uploads.clear()

    def base_url(self, provider: str, origin: str) -> str:
        """The URL that stands in for a provider's real base URL on a server at `origin`."""
        return f"{origin.rstrip('/')}/{provider}{self._provider(provider)['base_path']}"

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "http":
            return None
        request = await _read_request(scope, receive, self.max_body)
        if request.path.startswith(_CONTROL + "/"):
            return await _send(send, self._control(request))
        provider, _, rest = request.path.lstrip("/").partition("/")
        if provider not in self.protocols:
            return await _send(send, _json(404, {"detail": f"no fake provider {provider!r}"}))
        rest = "/" + re.sub("/+", "/", rest)  # Sunra's Python client sends `//requests/...`
        route, ident = self._match(provider, request.method, rest, request.query)
        route = self._sharing(provider, route, request, ident)
        with self._lock:
            self.calls[f"{provider}.{route['kind']}.{route['operation']}"] += 1
        fault = self._take_fault(provider, route)
        if fault is not None and fault.latency:
            await self.pause(fault.latency, self.closing.is_set)  # a shutdown does not wait for it
        if fault is not None and fault.status is not None:
            return await _send(send, self._fault_response(provider, request, fault))
        if route["kind"] not in ("download", "upload_put") and not self._authorised(provider, request):
            return await _send(send, self._error(provider, "unauthorized", request, message="Unauthenticated"))
        refusal = self._refusal(provider, route, request)
        if refusal is not None:
            return await _send(send, refusal)
        subject: _Job | str | None = ident
        if route["kind"] in _JOB_ROUTES or (route["kind"] == "call" and route["id"] is not None):
            subject = self._job(provider, ident)
            if subject is None:
                return await _send(send, self._error(provider, "not_found", request, message="not found"))
        handler = getattr(self, f"_on_{route['kind']}")
        response: _Response = await handler(provider, route, subject, request, fault)
        if fault is not None and (fault.drop or fault.truncate is not None):
            return await _send_cut(send, response, fault.truncate, honest=fault.honest)
        if fault is not None and (fault.stall is not None or fault.trickle is not None):
            return await _send_slowly(send, receive, response, self, stall=fault.stall, trickle=fault.trickle)
        if response.stream is not None:
            return await _send_stream(send, receive, response, self.closing)
        return await _send(send, response)

    # ------------------------------------------------------------------ routing
    def _provider(self, provider: str) -> dict[str, Any]:
        if provider not in self.protocols:
            raise KeyError(f"no fake provider {provider!r}; known: {', '.join(self.protocols)}")
        proto: dict[str, Any] = self.protocols[provider]
        return proto

    def _match(self, provider: str, method: str, path: str, query: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        proto = self._provider(provider)
        base = proto["base_path"]
        if path.startswith("/_files/"):
            return {"kind": "download", "operation": "download"}, path.removeprefix("/_files/")
        if path.startswith("/_storage/") and method == "PUT":
            return {"kind": "upload_put", "operation": "upload_put"}, path.removeprefix("/_storage/")
        if not path.startswith(base + "/") and path != base:
            return {"kind": "not_found", "operation": "unknown"}, None
        rel = path[len(base) :] or "/"
        stream = proto["stream"]
        if stream and method == "GET":
            if m := re.fullmatch(_pattern(stream["path"]), rel):
                return {"kind": "events" if stream["kind"] == "events" else "stream", "operation": "stream"}, (
                    m.group("id") if "id" in m.groupdict() else None
                )
        if proto["upload_path"] and method == "POST" and rel == proto["upload_path"]:
            return {"kind": "upload", "operation": "upload"}, None
        for route in proto["routes"]:
            if route["method"] != method:
                continue
            for template in route["paths"]:
                m = re.fullmatch(_pattern(template), rel)
                if m is None:
                    continue
                ident = route["id"]
                if ident is None:
                    return route, None
                value = m.group("id") if ident["in"] == "path" else query.get(ident["name"])
                if value is not None:
                    return route, unquote(value)
        return {"kind": "not_found", "operation": "unknown"}, None

    def _sharing(self, provider: str, route: dict[str, Any], request: _Request, ident: str | None) -> dict[str, Any]:
        """Among operations sharing a route, the one this request is for: by body discriminators or job task."""
        wire = route.get("paths", [None])[0]
        siblings = [
            r
            for r in self._provider(provider)["routes"]
            if r["paths"][0] == wire and r["method"] == route.get("method")
        ]
        if len(siblings) < 2:
            return route
        if route["kind"] == "submit" or (route["kind"] == "call" and route["id"] is None):
            body = _json_body(request.body)
            if isinstance(body, dict):
                for sibling in siblings:
                    if all(body.get(k) == v for k, v in sibling["match"].items()):
                        chosen: dict[str, Any] = sibling
                        return chosen
            return route
        job = self._job(provider, ident)
        task = next(
            (r["task"] for r in self._provider(provider)["routes"]
             if job and r["operation"] == job.operation and r["model"] == job.model), None,
        )  # fmt: skip
        model = job.model if job else None
        return next((r for r in siblings if r["task"] == task and r["model"] == model), None) or next(
            (r for r in siblings if r["task"] == task), route
        )

    def _refusal(self, provider: str, route: dict[str, Any], request: _Request) -> _Response | None:
        """The provider's 4xx for a body it would not read: too large, or not JSON where JSON is expected."""
        if request.too_large:
            response = self._error(provider, "invalid", request, status=413, field="body", kind="too_large",
                                   message=f"the request body is larger than {self.max_body} bytes")  # fmt: skip
            response.headers["connection"] = "close"  # the rest of the body was never read
            return response
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        is_json = content_type == "application/json" or content_type.endswith("+json")
        if route["kind"] in _JSON_ROUTES and request.body and not is_json:
            # Every provider documents JSON bodies only; none documents its answer to another type: its usual
            # validation error (status and shape) stands in for it.
            message = f"Content-Type must be application/json, not {content_type[:50] or 'missing'!r}"
            return self._error(provider, "invalid", request, field="body", kind="content_type", message=message)
        return None

    def _take_fault(self, provider: str, route: dict[str, Any]) -> Fault | None:
        with self._lock:
            for key in ((provider, route["operation"]), (provider, route["kind"]), (provider, "*")):
                queue = self._faults.get(key)
                while queue and self._fault_ends.get(id(queue[0]), float("inf")) <= self.now():
                    self._fault_ends.pop(id(queue.pop(0)), None)  # its time is up
                if not queue:
                    continue
                fault = queue[0]
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._fault_ends.pop(id(queue.pop(0)), None)
                return fault
        return None

    def _authorised(self, provider: str, request: _Request) -> bool:
        auth = self._provider(provider)["auth"]
        scheme, _, key = request.headers.get(auth["header"].lower(), "").partition(" ")
        if scheme not in auth["schemes"] or not key.strip():
            return False
        expected = self.api_keys.get(provider) if isinstance(self.api_keys, dict) else self.api_keys
        return expected is None or secrets.compare_digest(key.strip(), expected)

    # ------------------------------------------------------------------ responses
    def _values(self, provider: str, request: _Request, job: _Job | None = None) -> dict[str, Any]:
        proto = self._provider(provider)
        now = self.now()
        values: dict[str, Any] = {
            "null": None,
            "uuid": str(uuid.uuid4()),
            "now_iso": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "path": request.path,
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "video_size": len(self.video),
        }
        if job is None:
            return values
        state = job.state(now)
        prefix = f"{request.origin}/{provider}"
        for key, template in proto["urls"].items():
            values[key] = prefix + template.replace("{id}", quote(job.id, safe=""))
        raw = proto["statuses"].get(state, state)
        if state == "running" and job.unknown_status:
            raw = job.unknown_status
        started = job.created + job.queued
        ended = job.cancelled_at if state == "cancelled" else job.ends
        ahead = sum(
            1 for other in list(self.jobs.values()) if other.provider == provider and other.created < job.created
            and other.state(now) == "queued"
        )  # fmt: skip
        created = self._epoch + job.created
        started_at = self._epoch + started if now >= started else None
        completed_at = self._epoch + ended if state not in ACTIVE and ended is not None else None
        values.update(
            {
                "id": job.id,
                "state": state,
                "status": raw,
                "model": job.body.get("model", ""),
                "prompt": _at(job.body, proto["prompt"]),
                "body": job.body,
                "created": int(created),
                "started": None if started_at is None else int(started_at),
                "completed": None if completed_at is None else int(completed_at),
                "created_iso": _iso(created),
                "started_iso": None if started_at is None else _iso(started_at),
                "completed_iso": None if completed_at is None else _iso(completed_at),
                "queue_position": ahead,
                "log": f"{state}: {min(100, int(100 * max(0.0, now - started) / max(job.running, 1e-9)))}%",
                "elapsed": round(max(0.0, min(now, job.ends) - started), 3),
                "video_url": f"{prefix}/_files/{_file_token(job.id)}.mp4?token={secrets.token_hex(8)}",
                "failure_message": job.failure.get("message"),
                "failure_code": job.failure.get("code"),
                "failure_retryable": job.failure.get("retryable", False),
            }
        )
        return values

    def _document(self, provider: str, name: str, values: dict[str, Any]) -> Any:
        documents = self._provider(provider)["documents"]
        template = documents[name]
        if name in ("status", "list_item") and values.get("state"):
            template = merged(template, documents.get(f"status_{values['state']}", {}))
        return fill(template, values)

    def _status_answer(self, provider: str, values: dict[str, Any], request: _Request) -> Any:
        """The status document for this request: without the provider's logs query (where it declares one) the
        logs are null, as fal and Sunra leave them out unless asked."""
        document = self._document(provider, "status", values)
        proto = self._provider(provider)
        wanted = proto["logs_query"]
        if wanted and any(request.query.get(name) != value for name, value in wanted.items()):
            for pointer in proto["logs"]:
                _set_at(document, pointer, None)
        return document

    def status_document(self, provider: str, job_id: str, origin: str = "http://fake") -> Any:
        """A job's status document as the provider would send it now."""
        job = self.jobs[(provider, job_id)]
        request = _Request("GET", "", {}, {}, b"", origin)
        return self._document(provider, "status", self._values(provider, request, job))

    def _error(self, provider: str, name: str, request: _Request, status: int | None = None, **extra: Any) -> _Response:
        errors = self._provider(provider)["errors"]
        spec = errors.get(name) or errors["invalid" if name == "unknown_model" else "server"]
        values = {**self._values(provider, request), **extra}
        values["http_status"] = str(status or spec["status"])
        body = fill(spec["body"], values)
        headers = {k: str(fill(v, values)) for k, v in spec.get("headers", {}).items()}
        return _json(status or spec["status"], body, headers)

    def _fault_response(self, provider: str, request: _Request, fault: Fault) -> _Response:
        assert fault.status is not None
        if fault.ingress:
            response = _ingress_page(fault.status)
        else:
            limits = self._provider(provider)["rate_limit_status"]
            kind = "rate_limited" if fault.status in limits else "server"
            message = "Too Many Requests" if kind == "rate_limited" else "Injected failure"
            response = self._error(provider, kind, request, status=fault.status, message=message)
        if fault.retry_after is not None:
            response.headers["retry-after"] = f"{fault.retry_after:g}"
        response.headers.update(fault.headers or {})
        return response

    def _job(self, provider: str, ident: str | None) -> _Job | None:
        return self.jobs.get((provider, ident or ""))

    # ------------------------------------------------------------------ routes
    async def _on_not_found(self, provider: str, route: Any, ident: Any, request: _Request, fault: Any) -> _Response:
        return self._error(provider, "not_found", request, message=f"No route for {request.method} {request.path}")

    async def _on_submit(
        self, provider: str, route: dict[str, Any], ident: Any, request: _Request, fault: Fault | None
    ) -> _Response:
        job = self._create_job(provider, route, request, fault)
        if isinstance(job, _Response):
            return job
        document = self._document(provider, "submit", {**self._values(provider, request, job), "state": None})
        return _json(self._provider(provider)["submit_status"], document)

    async def _on_call(
        self, provider: str, route: dict[str, Any], job: Any, request: _Request, fault: Fault | None
    ) -> _Response:
        """A plain operation: about one job (its id in the path), a listing (GET), or a synchronous paid
        generation (anything else: a job made and finished at once). The answer is the document named like it."""
        if isinstance(job, _Job):
            values = self._values(provider, request, job)
        elif route["method"] in ("GET", "HEAD"):
            values = {**self._values(provider, request), **self._listing(provider, request, active_only=False)}
        else:
            made = self._create_job(provider, route, request, fault, finished=True)
            if isinstance(made, _Response):
                return made
            values = self._values(provider, request, made)
        return _json(200, self._document(provider, route["operation"], values))

    def _create_job(
        self, provider: str, route: dict[str, Any], request: _Request, fault: Fault | None, *, finished: bool = False
    ) -> _Job | _Response:
        """The job a submit makes (counted once per body), or the provider's refusal of its body."""
        proto = self._provider(provider)
        body = _json_body(request.body)
        if not isinstance(body, dict):
            return self._error(provider, "invalid", request, message="the body must be a JSON object", field="body",
                               kind="json_invalid")  # fmt: skip
        chosen = route
        parts = chosen["request"]
        now_checked = parts[:1] if proto["validation"] == "deferred" else parts
        problem = self._violation(provider, chosen, now_checked, body, 0)
        if problem is not None:
            return self._error(provider, "invalid", request, **problem)
        if not all(body.get(k) == v for k, v in route["match"].items()):
            name = "unknown_model" if "unknown_model" in proto["errors"] else "invalid"
            return self._error(provider, name, request, model=body.get("model"), field="model", kind="literal_error",
                               message=f"unknown model {body.get('model')!r}")  # fmt: skip
        later = self._violation(provider, chosen, parts[1:], body, 1) if parts[len(now_checked) :] else None
        job_id = fill(proto["id"], {"uuid": str(uuid.uuid4()), "model": body.get("model", ""),
                                    "base62": "".join(secrets.choice(_BASE62) for _ in range(24))})  # fmt: skip
        failed = self.outcome == "failed" or (fault is not None and fault.fail_generation) or later is not None
        failure = dict(proto["failure"])
        if later is not None:
            failure = {"message": f"invalid_params: {later['message']}", "code": "invalid_params"}
        job = _Job(provider, str(job_id), chosen["operation"], chosen.get("model"), body, self.now(),
                   0.0 if finished else self.queued, 0.0 if finished else self.running,
                   "failed" if failed else "succeeded", failure,
                   unknown_status=fault.unknown_status if fault is not None else None)  # fmt: skip
        with self._lock:
            self.jobs[(provider, job.id)] = job
            self.submits[f"{provider}:{body_digest(body)}"] += 1
        return job

    async def _on_status(self, provider: str, route: Any, job: _Job, request: _Request, fault: Any) -> _Response:
        values = self._values(provider, request, job)
        code = self._provider(provider)["pending_status"] if values["state"] in ACTIVE else 200
        return _json(code, self._status_answer(provider, values, request))

    async def _on_result(self, provider: str, route: Any, job: _Job, request: _Request, fault: Any) -> _Response:
        values = self._values(provider, request, job)
        if values["state"] == "succeeded":
            return _json(200, self._document(provider, "result", values))
        if values["state"] in ACTIVE and "result_pending" in self._provider(provider)["errors"]:
            return self._error(provider, "result_pending", request)
        if values["state"] == "cancelled":
            values.update(failure_message="Request cancelled", failure_code="request_cancelled")
        return self._error(provider, "result_failed", request, **{k: v for k, v in values.items() if "failure" in k})

    async def _on_cancel(self, provider: str, route: Any, job: _Job, request: _Request, fault: Any) -> _Response:
        if job.state(self.now()) in ACTIVE:
            job.cancelled_at = self.now()
        elif "already_completed" in self._provider(provider)["errors"]:
            return self._error(provider, "already_completed", request)
        return _json(200, self._document(provider, "cancel", self._values(provider, request, job)))

    async def _on_list(self, provider: str, route: Any, ident: Any, request: _Request, fault: Any) -> _Response:
        # Without its filter a list shows every job, or only active ones: as the manifest says.
        everything = self._provider(provider)["list_unfiltered"] == "all"
        values = {**self._values(provider, request), **self._listing(provider, request, active_only=not everything)}
        return _json(200, self._document(provider, "list", values))

    def _listing(self, provider: str, request: _Request, *, active_only: bool) -> dict[str, Any]:
        """`items` and `count` of a job list: the jobs its filter (the lookup's query) picks, else all or the
        active ones; each as `list_item` shows it (default: its status document)."""
        now = self.now()
        proto = self._provider(provider)
        wanted = request.query.get(proto["list_query"]) if proto["list_query"] else None
        statuses = proto["statuses"]
        listed = [
            job for job in list(self.jobs.values()) if job.provider == provider and now - job.created >= self.list_lag
            and (statuses.get(job.state(now), job.state(now)) == wanted if wanted
                 else not active_only or job.state(now) in ACTIVE)
        ]  # fmt: skip
        shape = "list_item" if "list_item" in proto["documents"] else "status"
        items = [self._document(provider, shape, self._values(provider, request, job)) for job in listed]
        return {"items": items, "count": len(items)}

    async def _on_upload(self, provider: str, route: Any, ident: Any, request: _Request, fault: Any) -> _Response:
        body = _json_body(request.body or b"{}")
        body = body if isinstance(body, dict) else {}
        name = secrets.token_hex(8)
        file_name = quote(str(body.get("file_name") or "upload.bin"))
        prefix = f"{request.origin}/{provider}"
        values = {
            **self._values(provider, request),
            "upload_url": f"{prefix}/_storage/{name}",
            "file_url": f"{prefix}/_files/uploads/{name}/{file_name}",
        }
        return _json(200, self._document(provider, "upload", values))

    async def _on_upload_put(
        self, provider: str, route: Any, ident: str | None, request: _Request, fault: Any
    ) -> _Response:
        with self._lock:
            self.uploads[ident or ""] = request.body
        return _Response(200)

    async def _on_download(
        self, provider: str, route: Any, ident: str | None, request: _Request, fault: Any
    ) -> _Response:
        name = (ident or "").split("?")[0]
        data = self.video
        if name.startswith("uploads/"):
            stored = self.uploads.get(name.split("/")[1])
            if stored is None:
                return _Response(404, b"no such upload", {"content-type": "text/plain"})
            data = stored
        return _ranged(data, request.headers.get("range"), request.method == "HEAD", request.headers.get("if-range"))

    async def _on_stream(self, provider: str, route: Any, job: _Job, request: _Request, fault: Any) -> _Response:

        async def events(stopped: Callable[[], bool]) -> AsyncIterator[bytes]:
            last = None
            while not stopped():
                values = self._values(provider, request, job)
                document = self._status_answer(provider, values, request)
                if document != last:
                    yield f"data: {json.dumps(document)}\n\n".encode()
                    last = document
                if values["state"] not in ACTIVE:
                    return
                await self.sleep(self.tick)

        return _Response(200, headers=dict(_SSE_HEADERS), stream=events)

    async def _on_events(self, provider: str, route: Any, ident: Any, request: _Request, fault: Any) -> _Response:
        subscribed = self.now()

        async def events(stopped: Callable[[], bool]) -> AsyncIterator[bytes]:
            sent: set[str] = set()
            name = self._provider(provider)["stream"]["event"]
            idle = 0.0
            while not stopped():
                now = self.now()
                for job in list(self.jobs.values()):
                    state = job.state(now)
                    if job.provider != provider or job.id in sent or state not in ("succeeded", "failed"):
                        continue
                    if job.ends < subscribed:
                        continue  # no buffering: only subscribers connected when it finished hear of it
                    sent.add(job.id)
                    data = self._document(provider, f"event_{state}", self._values(provider, request, job))
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                    idle = 0.0
                if idle >= self.keepalive:
                    yield b": keep-alive\n\n"
                    idle = 0.0
                await self.sleep(self.tick)
                idle += self.tick

        return _Response(200, headers=dict(_SSE_HEADERS), stream=events)

    # ------------------------------------------------------------------ validation
    def _violation(
        self, provider: str, route: dict[str, Any], parts: list[Any], body: dict[str, Any], offset: int
    ) -> dict[str, Any] | None:
        """The first way `body` breaks the route's vendored request schema parts, as template values."""
        for index, schema in enumerate(parts, start=offset):
            key = f"{provider}.{route.get('model')}.{route['operation']}.{index}"
            validator = self._validators.get(key)
            if validator is None:
                validator = self._validators[key] = self._validator_class(schema)
            errors = sorted(validator.iter_errors(body), key=lambda e: (list(e.absolute_path), e.validator))
            if errors:
                return _describe(errors[0])
        return None

    # ------------------------------------------------------------------ control (HTTP)
    def _control(self, request: _Request) -> _Response:
        action = request.path.removeprefix(_CONTROL + "/")
        if action == "stats" and request.method == "GET":
            return _json(200, self.stats())
        if action == "reset" and request.method == "POST":
            self.reset()
            return _json(200, {"reset": True})
        if action == "faults" and request.method == "POST":
            data = _json_body(request.body)
            problem = _fault_target_problem(data, self.protocols)
            if problem is not None:
                return _json(400, {"detail": f"bad fault: {problem}"})
            try:
                fault = Fault.from_dict(data.get("fault", {}))
                self.inject(data["provider"], data["route"], fault)
            except (ValueError, TypeError) as exc:
                return _json(400, {"detail": f"bad fault: {exc}"[:500]})
            return _json(200, {"provider": data["provider"], "route": data["route"], "fault": asdict(fault)})
        if action == "jobs" and request.method == "GET":
            return _json(200, {"jobs": self.job_list()})
        if action == "providers" and request.method == "GET":
            return _json(200, {name: self.base_url(name, request.origin) for name in self.protocols})
        return _json(404, {"detail": f"no control endpoint {request.method} {request.path}"})


_JOB_ROUTES = ("status", "result", "cancel", "stream")  # routes about one job: 404 in the provider's shape if unknown
_JSON_ROUTES = ("submit", "upload", "call")  # routes whose body the provider reads as JSON
_SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


def _json_body(raw: bytes) -> Any:
    """The JSON of a request body, or None when it is not JSON (malformed, too deep, not UTF-8)."""
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):
        return None


def _fault_target_problem(data: Any, protocols: dict[str, Any]) -> str | None:
    """Why a control request does not name a provider and route to fault, or None."""
    if not isinstance(data, dict):
        return "the body must be a JSON object {provider, route, fault}"
    provider = data.get("provider")
    if not isinstance(provider, str) or provider not in protocols:
        return f"provider must be one of {', '.join(protocols)}, got {str(provider)[:50]!r}"
    if not isinstance(data.get("route"), str):
        return "route must be a string: an operation name, a kind, download or *"
    return None


def _set_at(document: Any, pointer: str, value: Any) -> None:
    """Set the member a JSON pointer names, where its parent exists (objects only)."""
    *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.strip("/").split("/")]
    node = document
    for token in parents:
        node = node.get(token) if isinstance(node, dict) else None
    if isinstance(node, dict) and last in node:
        node[last] = value


def _iso(seconds: float) -> str:
    """An ISO-8601 UTC timestamp with microseconds, as Replicate writes them."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _route_matches(key: str, provider: str, route: str | None) -> bool:
    name, kind, operation = key.split(".", 2)
    return name == provider and (route is None or route in (kind, operation))


def _pattern(template: str) -> str:
    """A route template (`/requests/{request_id}/status`) as a regex with one named group `id`."""
    parts = re.split(r"({[^}]+})", template)
    return "".join("(?P<id>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts if p)


def _file_token(job_id: str) -> str:
    return hashlib.sha256(job_id.encode()).hexdigest()[:20]


_KINDS = {  # jsonschema keyword -> the pydantic-style error type fal reports
    "required": "missing",
    "maxLength": "string_too_long",
    "minLength": "string_too_short",
    "enum": "literal_error",
    "type": "type_error",
    "maximum": "less_than_equal",
    "minimum": "greater_than_equal",
    "maxItems": "too_long",
    "additionalProperties": "extra_forbidden",
}


_MESSAGES = {  # jsonschema keyword -> what is wrong, without the offending value (it may be megabytes)
    "required": "field required",
    "maxLength": "should have at most {} characters",
    "minLength": "should have at least {} characters",
    "enum": "should be one of {}",
    "type": "should be of type {}",
    "maximum": "should be less than or equal to {}",
    "minimum": "should be greater than or equal to {}",
    "maxItems": "should have at most {} items",
    "minItems": "should have at least {} items",
    "additionalProperties": "extra fields are not permitted",
    "const": "should be {}",
}


def _describe(error: Any) -> dict[str, Any]:
    path = [str(p)[:100] for p in error.absolute_path]
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        path.append(missing[0] if missing else "")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path.append(str(extra[0])[:100] if extra else "")
    name = ".".join(path) or "body"
    template = _MESSAGES.get(str(error.validator))
    value = error.validator_value
    shown = ", ".join(json.dumps(v) for v in value) if isinstance(value, list) else json.dumps(value)
    detail = template.format(shown[:200]) if template else "is not valid"
    return {"field": name, "message": f"{name}: {detail}", "kind": _KINDS.get(error.validator, "value_error")}


def _ingress_page(status: int) -> _Response:
    """What a front proxy (nginx) answers when it cannot pass a request on: an HTML page, no provider headers."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:  # a status http.HTTPStatus does not name
        title = str(status)
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    page += "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    return _Response(status, page.encode(), {"content-type": "text/html"})


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})})


def _ranged(data: bytes, header: str | None, head: bool, if_range: str | None = None) -> _Response:
    """A file answer with Content-Length, ETag, Last-Modified and single-range support (206 / 416); a Range whose
    If-Range no longer matches gets the whole file (200)."""
    etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
    modified = formatdate(0, usegmt=True)
    headers = {"content-type": "video/mp4", "accept-ranges": "bytes", "last-modified": modified, "etag": etag}
    total = len(data)
    if header and header.startswith("bytes=") and if_range in (None, etag, modified):
        first, _, last = header.removeprefix("bytes=").split(",")[0].strip().partition("-")
        if first == "":
            start, end = max(0, total - int(last or 0)), total - 1
        else:
            start, end = int(first), min(int(last), total - 1) if last else total - 1
        if start >= total or start > end:
            return _Response(416, b"", {**headers, "content-range": f"bytes */{total}"})
        piece = data[start : end + 1]
        headers["content-range"] = f"bytes {start}-{end}/{total}"
        return _Response(206, b"" if head else piece, {**headers, "content-length": str(len(piece))})
    return _Response(200, b"" if head else data, {**headers, "content-length": str(total)})


async def _read_request(scope: Scope, receive: Receive, limit: int) -> _Request:
    """The request with its body; a body over `limit` bytes is not read (nor kept) and marks it `too_large`."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    declared = headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    while not too_large:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_large, chunks = True, []
            break
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    host = headers.get("host") or "{}:{}".format(*scope.get("server") or ("127.0.0.1", 80))
    return _Request(
        method=scope["method"],
        path=scope["path"],
        query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
        headers=headers,
        body=b"".join(chunks),
        origin=f"{scope.get('scheme', 'http')}://{host}",
        too_large=too_large,
    )


def _header_list(response: _Response) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]


async def _send(send: Send, response: _Response) -> None:
    headers = response.headers
    headers.setdefault("content-length", str(len(response.body)))
    await send({"type": "http.response.start", "status": response.status, "headers": _header_list(response)})
    await send({"type": "http.response.body", "body": response.body})


async def _send_cut(send: Send, response: _Response, keep: int | None, *, honest: bool = False) -> None:
    """Send part of the body: announcing the full length and dropping the connection, or (`honest`) announcing
    only the part and ending normally, so that only a size stated elsewhere can tell the file is short."""
    body = response.body
    if response.stream is not None:
        async for chunk in response.stream(lambda: False):
            body += chunk
            break
    cut = len(body) // 2 if keep is None else min(keep, max(0, len(body) - 1))
    response.headers["content-length"] = str(cut if honest else len(body))
    await send({"type": "http.response.start", "status": response.status, "headers": _header_list(response)})
    if honest:
        await send({"type": "http.response.body", "body": body[:cut]})
        return
    await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
    raise DroppedConnection("injected: connection dropped mid-body")


async def _send_slowly(
    send: Send, receive: Receive, response: _Response, app: FakeProvider, *, stall: float | None, trickle: float | None
) -> None:
    """Send the answer with its full headers, then stall after the first half (or first event), or trickle it
    out a byte at a time: what a read timeout alone cannot bound."""
    original = response.stream
    body = response.body
    if original is None:
        response.headers["content-length"] = str(len(body))

    async def paced(stopped: Callable[[], bool]) -> AsyncIterator[bytes]:
        pieces = original(stopped) if original is not None else _halves(body)
        first = True
        async for piece in pieces:
            for part in [piece[i : i + 1] for i in range(len(piece))] if trickle else [piece]:
                if stopped():
                    return
                yield part
                if trickle:
                    await app.pause(trickle, stopped)
            if first and stall:
                first = False
                await app.pause(stall, stopped)

    return await _send_stream(send, receive, _Response(response.status, b"", response.headers, paced), app.closing)


async def _halves(body: bytes) -> AsyncIterator[bytes]:
    yield body[: len(body) // 2]
    yield body[len(body) // 2 :]


async def _send_stream(send: Send, receive: Receive, response: _Response, closing: threading.Event) -> None:
    """Send a streamed body until it ends, the client goes away or the server shuts down."""
    assert response.stream is not None
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    await send({"type": "http.response.start", "status": response.status, "headers": _header_list(response)})
    try:
        async for chunk in response.stream(lambda: gone.is_set() or closing.is_set()):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
