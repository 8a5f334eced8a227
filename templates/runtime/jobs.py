"""Jobs: the handle a submit returns, normalised states, and the pure policy that reads them.

Everything provider-specific arrives as a `JobProtocol` generated from the manifest; nothing here
knows a provider by name.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from .errors import FailedJobAnswer, pick

__all__ = [
    "TERMINAL",
    "Failure",
    "Job",
    "JobLookup",
    "JobProtocol",
    "JobState",
    "JobStatus",
    "OpCall",
    "PollPolicy",
    "Progress",
    "ProgressCallback",
    "StreamSpec",
    "VideoResult",
    "failure_in_answer",
    "find_listed_job",
    "find_listed_jobs",
    "poll_delay",
    "read_status",
    "read_video",
    "timestamp",
]

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "unknown"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class OpCall:
    """How to call one job operation: method, wire path, where the job id goes, and the response model."""

    name: str
    method: str
    path: str
    id_param: str
    id_in: Literal["path", "query"]
    response: type[BaseModel]


@dataclass(frozen=True)
class PollPolicy:
    """Polling cadence: start at `initial`, then `fraction` of the elapsed time, never above `cap` (seconds)."""

    initial: float = 1.0
    cap: float = 10.0
    fraction: float = 0.09
    jitter: float = 0.1


@dataclass(frozen=True)
class StreamSpec:
    """A push channel: `status` streams carry the job's status documents; `events` streams are user-wide."""

    kind: Literal["status", "events"]
    path: str
    event: str | None = None
    id: tuple[str, ...] = ()
    status: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobLookup:
    """How to find a job whose submit answer was lost: list jobs (one call per filter value, or one unfiltered call
    without `query`), match the request."""

    method: str
    path: str
    query: str | None
    values: tuple[str, ...]
    items: tuple[str, ...]
    id: tuple[str, ...]
    match: tuple[tuple[str, str], ...]  # (request body field or JSON pointer into it, pointer in a listed job)
    submitted_at: tuple[str, ...]  # unix seconds or an ISO-8601 timestamp
    listing_delay: float = 0.0  # seconds a job may take to appear in the list after its submit was answered
    params: Mapping[str, str] = field(default_factory=dict)  # sent with every listing call (a page size)
    more: tuple[str, ...] = ()  # where a listing says another page follows (a next-page cursor; empty: no pages)


class LookupInconclusive(Exception):
    """The job list cannot prove the lost submit absent: a listed job could be it but does not show every field the
    lookup matches on, or the list goes on past a page that does not reach back to the submit."""


@dataclass(frozen=True)
class JobProtocol:
    """A provider's job protocol as data: operations, status vocabulary and where each fact sits (JSON pointers)."""

    status_op: OpCall
    result_ops: Mapping[str, OpCall]
    cancel_op: OpCall | None
    states: Mapping[str, JobState]
    id: tuple[str, ...]
    status: tuple[str, ...]
    queue_position: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    status_url: tuple[str, ...] = ()
    result_url: tuple[str, ...] = ()
    cancel_url: tuple[str, ...] = ()
    failure_present: tuple[str, ...] = ()
    failure_false: tuple[str, ...] = ()
    failure_message: tuple[str, ...] = ()
    failure_code: tuple[str, ...] = ()
    failure_retryable: tuple[str, ...] = ()
    video_url: tuple[str, ...] = ()
    video_size: tuple[str, ...] = ()
    video_content_type: tuple[str, ...] = ()
    video_file_name: tuple[str, ...] = ()
    poll: PollPolicy = field(default_factory=PollPolicy)
    stream: StreamSpec | None = None
    idempotency_header: str | None = None
    lookup: JobLookup | None = None
    cancelled_codes: tuple[str, ...] = ()  # a failure with one of these codes is a cancellation
    logs_query: Mapping[str, str] = field(default_factory=dict)  # sent with status checks and status streams:
    # without it the provider leaves the logs out (fal, Sunra: `logs=1`)


@dataclass(frozen=True)
class Job(Generic[S]):
    """A submitted job. Keep `id` (or `to_dict()`): it is all that is needed to follow the job later."""

    provider: str
    operation: str
    task: str | None
    id: str
    submitted_at: float
    status_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None
    response: S | None = None
    document: Any = field(default=None, repr=False, compare=False)
    model: str | None = None  # the neutral model id of the client that made (or was given) the handle

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the handle (without the typed response)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "operation": self.operation,
            "task": self.task,
            "id": self.id,
            "submitted_at": self.submitted_at,
            "status_url": self.status_url,
            "result_url": self.result_url,
            "cancel_url": self.cancel_url,
        }


@dataclass(frozen=True)
class Failure:
    """Why a job failed, as the provider reported it."""

    message: str
    code: str | None = None
    retryable: bool | None = None


@dataclass(frozen=True)
class JobStatus:
    """One observation of a job: the normalised state, the provider's raw status and its typed document."""

    job_id: str
    state: JobState
    raw_status: str | None
    queue_position: int | None = None
    logs: tuple[str, ...] = ()
    failure: Failure | None = None
    response: BaseModel | None = None
    document: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.state in TERMINAL


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives."""

    job_id: str
    state: JobState
    raw_status: str | None
    elapsed: float
    queue_position: int | None = None
    logs: tuple[str, ...] = ()
    source: Literal["submit", "poll", "stream"] = "poll"

    def __repr__(self) -> str:
        # Readable as `on_progress=print` shows it: elapsed to a tenth of a second, only the facts that are there.
        shown = [f"job_id={self.job_id!r}", f"state={self.state!r}", f"raw_status={self.raw_status!r}"]
        shown.append(f"elapsed={self.elapsed:.1f}")
        if self.queue_position is not None:
            shown.append(f"queue_position={self.queue_position}")
        if self.logs:  # a provider's log grows with the job: the last lines tell where it is
            shown.append(
                f"logs={self.logs!r}"
                if len(self.logs) <= 2
                else f"logs=(…{len(self.logs)} lines, last {self.logs[-1]!r})"
            )
        shown.append(f"source={self.source!r}")
        return f"Progress({', '.join(shown)})"


ProgressCallback = Callable[[Progress], object]


@dataclass(frozen=True)
class VideoResult:
    """A finished job's video: its URL, the provider's file metadata, and the typed result document."""

    job_id: str
    provider: str
    url: str
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    response: BaseModel | None = None


def read_status(
    protocol: JobProtocol, job_id: str, document: Mapping[str, Any], response: BaseModel | None
) -> JobStatus:
    """Normalise one status document; a status the spec never listed becomes `unknown`, never an error."""
    raw = pick(document, protocol.status)
    raw_status = str(raw) if raw is not None else None
    state: JobState = protocol.states.get(raw_status, "unknown") if raw_status is not None else "unknown"
    failure = None
    failed_inside_success = state == "succeeded" and (
        any(pick(document, (p,)) not in (None, False) for p in protocol.failure_present)
        or any(pick(document, (p,)) is False for p in protocol.failure_false)
    )
    if failed_inside_success:
        state = "failed"
    if state == "failed":
        failure = _failure(protocol, document, raw_status)
        if failure.code is not None and failure.code in protocol.cancelled_codes:
            state = "cancelled"  # e.g. fal: COMPLETED with error_type request_cancelled
    position = pick(document, protocol.queue_position)
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=raw_status,
        queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        logs=_logs(pick(document, protocol.logs)),
        failure=failure,
        response=response,
        document=document,
    )


def _failure(protocol: JobProtocol, document: Mapping[str, Any], raw_status: str | None) -> Failure:
    message = pick(document, protocol.failure_message)
    code = pick(document, protocol.failure_code)
    retryable = pick(document, protocol.failure_retryable)
    if message is None:
        message = f"the provider reported {raw_status or 'a failure'} without a message"
    elif not isinstance(message, str):
        message = str(message)
    return Failure(
        message=message,
        code=str(code) if code is not None else None,
        retryable=retryable if isinstance(retryable, bool) else None,
    )


def failure_in_answer(rule: FailedJobAnswer | None, code: str | None, body: Any, message: str) -> Failure | None:
    """The job's failure an error answer reports (an answer whose code the provider's `job_failed` lists), else
    None; `message` (the answer's own) stands in where the failure carries none."""
    if rule is None or code is None or code not in rule.codes or not isinstance(body, Mapping | list):
        return None
    text = pick(body, rule.message)
    failure_code = pick(body, rule.failure_code)
    retryable = pick(body, rule.retryable)
    return Failure(
        message=text if isinstance(text, str) else message,
        code=str(failure_code) if failure_code is not None else code,
        retryable=retryable if isinstance(retryable, bool) else None,
    )


def _logs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(line for line in value.splitlines() if line)
    if isinstance(value, Sequence):
        return tuple(str(item.get("message", item)) if isinstance(item, Mapping) else str(item) for item in value)
    return (str(value),)


def read_video(
    protocol: JobProtocol, job_id: str, provider: str, document: Mapping[str, Any], response: BaseModel | None
) -> VideoResult | None:
    """The video of a finished job, or None when the document carries no URL."""
    url = pick(document, protocol.video_url)
    if not isinstance(url, str):
        return None
    size = pick(document, protocol.video_size)
    content_type = pick(document, protocol.video_content_type)
    file_name = pick(document, protocol.video_file_name)
    return VideoResult(
        job_id=job_id,
        provider=provider,
        url=url,
        content_type=content_type if isinstance(content_type, str) else None,
        file_name=file_name if isinstance(file_name, str) else None,
        file_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        response=response,
    )


def poll_delay(
    elapsed: float,
    policy: PollPolicy,
    *,
    retry_after: float | None = None,
    remaining: float | None = None,
    jitter: float | None = None,
) -> float:
    """Seconds until the next status check.

    A fixed fraction of the elapsed time keeps the notice latency near that fraction of the job's
    length while the number of checks grows only logarithmically; the server's hint wins when it asks
    for more, and the deadline cuts the wait short. `jitter` in [0, 1) makes it deterministic.
    """
    base = min(policy.cap, max(policy.initial, policy.fraction * elapsed))
    fraction = random.random() if jitter is None else jitter
    delay = max(policy.initial, base * (1 + policy.jitter * (2 * fraction - 1)))
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    if remaining is not None:
        delay = min(delay, max(0.0, remaining))
    return delay


def find_listed_job(
    lookup: JobLookup, listings: Sequence[Any], body: Mapping[str, Any], since: float, exclude: Collection[str]
) -> str | None:
    """The id of the earliest listed job that matches the request body and was submitted at or after `since`.

    Jobs in `exclude` (already claimed by other requests) are skipped, so identical requests each find their own.
    """
    found = find_listed_jobs(lookup, listings, body, since, exclude)
    return found[0] if found else None


def find_listed_jobs(
    lookup: JobLookup, listings: Sequence[Any], body: Mapping[str, Any], since: float, exclude: Collection[str]
) -> list[str]:
    """Every listed job that matches the request body, submitted at or after `since` and not in `exclude`,
    earliest first (a job listed under several filter values counts once).

    With no job that matches in full, "not listed" would be a guess that pays twice, so `LookupInconclusive` is
    raised where a job in the window agrees on every field the list shows but lacks one the lookup matches on, or
    where a listing says more pages follow (`lookup.more`) and none of its jobs is older than `since`.
    """
    found: list[tuple[float, str]] = []
    unsure: list[str] = []
    for listing in listings:
        items = pick(listing, lookup.items)
        items = items if isinstance(items, list) else []
        times = [timestamp(pick(item, lookup.submitted_at)) for item in items]
        if (
            lookup.more
            and pick(listing, lookup.more) is not None
            and not any(t is not None and t < since for t in times)
        ):
            unsure.append("the list goes on past a page that does not reach back to the submit")
        for item in items:
            job_id = pick(item, lookup.id)
            submitted = timestamp(pick(item, lookup.submitted_at))
            if job_id is None or str(job_id) in exclude or submitted is None or submitted < since:
                continue
            pairs = [(pointer, pick(item, (pointer,)), _in_body(body, name)) for name, pointer in lookup.match]
            if any(shown is not None and shown != wanted for _, shown, wanted in pairs):
                continue
            missing = [pointer for pointer, shown, wanted in pairs if shown is None and wanted is not None]
            if missing:
                unsure.append(f"listed job {job_id} may be it, but the list does not show {', '.join(missing)}")
            else:
                found.append((submitted, str(job_id)))
    if unsure and not found:
        raise LookupInconclusive(unsure[0])
    return list(dict.fromkeys(job_id for _, job_id in sorted(found)))


def _in_body(body: Mapping[str, Any], name: str) -> Any:
    """A request body's value: a top-level field by name, or any field by JSON pointer (`/input/prompt`)."""
    return pick(body, (name,)) if name.startswith("/") else body.get(name)


def timestamp(value: Any) -> float | None:
    """Unix seconds of a listed job's time: a number as it is, or an ISO-8601 text ("2025-01-01T12:00:00.5Z"; one
    without an offset is UTC). Anything else is None (such a job cannot be matched by time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
