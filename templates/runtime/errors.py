"""Typed errors, normalised across providers; `kling_sdk.errors` is their public home and draws the tree.

No error ever carries the API key: `KlingError` passes its message and every attribute it is given through
`redact` (raw, JSON-escaped and URL-encoded forms), whichever subclass or call site built it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .redact import redact, redact_text


@dataclass(frozen=True)
class NotReached:
    """How an error answer shows the request never reached the provider (its front proxy answered): one of
    `status`, and every condition given (a header missing, a content type, a text in the body)."""

    status: Sequence[int] = ()
    without_header: str | None = None
    content_type: str | None = None
    body_contains: str | None = None


@dataclass(frozen=True)
class FailedJobAnswer:
    """An error answer that means the job itself failed (Sunra's result of a failed prediction): one of `codes`
    (read at the error shape's `code` pointers), with the job's failure message, code and retryable flag at these
    pointers."""

    codes: Sequence[str] = ()
    message: Sequence[str] = ()
    failure_code: Sequence[str] = ()
    retryable: Sequence[str] = ()


@dataclass(frozen=True)
class ErrorShape:
    """Where a provider's error body keeps message, code and request id (JSON pointers, tried in order)."""

    message: Sequence[str] = ()
    code: Sequence[str] = ()
    request_id: Sequence[str] = ()
    request_id_header: str | None = None
    code_header: str | None = None
    rate_limit_status: Sequence[int] = (429,)
    not_reached: NotReached | None = None
    job_failed: FailedJobAnswer | None = None


class KlingError(Exception):
    """Base of every error raised by the SDK; its message and attributes never hold a registered key."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact(arg) for arg in args))

    def __setattr__(self, name: str, value: Any) -> None:
        # The one place redaction happens for errors: headers, status documents, validation text and bodies
        # all reach an error through its attributes.
        super().__setattr__(name, redact(value))

    # Set on every error raised after a submit was accepted: the job exists (and may be billed), follow it by these.
    job_id: str | None = None
    job_ref: str | None = None  # "provider:id"

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (job {self.job_ref})" if self.job_ref and self.job_id and self.job_id not in text else text


class MissingApiKeyError(KlingError):
    """No API key was passed and the provider's environment variable is unset."""


class InvalidRequestError(KlingError, ValueError):
    """A request was rejected locally, before any network call; `field` names the offending input."""

    def __init__(self, provider: str, field: str, message: str) -> None:
        self.provider = provider
        self.field = field
        self.message = message
        super().__init__(f"[{provider}] {field}: {message}")


class UnsupportedOperationError(KlingError):
    """The provider does not offer this operation."""


class DownloadError(KlingError):
    """A download failed or came out the wrong size; a partial file is kept for resuming."""


class APIError(KlingError):
    """An error talking to a provider."""

    def __init__(self, message: str, *, provider: str, request_id: str | None = None) -> None:
        self.message = message
        self.provider = provider
        self.request_id = request_id
        super().__init__(self._render())

    def _render(self) -> str:
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"[{self.provider}] {self.message}{suffix}"


class APIStatusError(APIError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int,
        request_id: str | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.body = body
        super().__init__(message, provider=provider, request_id=request_id)

    def _render(self) -> str:
        code = f" {self.code}" if self.code and self.code != str(self.status_code) else ""  # AIMLAPI repeats it
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"[{self.provider}] HTTP {self.status_code}{code}: {self.message}{suffix}"


class BadRequestError(APIStatusError):
    """The provider rejected the request (400/422); `details` holds its field errors when it sent any."""

    @property
    def details(self) -> Any:
        """The provider's structured validation details, if any."""
        if isinstance(self.body, Mapping):
            for key in ("detail", "details", "errors"):
                if key in self.body:
                    return self.body[key]
            error = self.body.get("error")
            if isinstance(error, Mapping):
                return error.get("details") or error.get("detail")
        return None


class AuthenticationError(APIStatusError):
    """The API key is missing, malformed or revoked (401)."""


class PermissionDeniedError(APIStatusError):
    """The key may not do this, or the account is out of credits (403)."""


class NotFoundError(APIStatusError):
    """The job or model does not exist (404)."""


class ConflictError(APIStatusError):
    """The request conflicts with the job's state (409)."""


class RateLimitError(APIStatusError):
    """Too many requests (429); `retry_after` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIStatusError):
    """The provider failed (5xx)."""


class APIConnectionError(APIError):
    """The request failed in transport (connect, read or write); `host` (host:port) and `reason` ("connection
    refused", "read timeout", ...) say where and why, when known."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        request_id: str | None = None,
        host: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.host = host
        self.reason = reason
        super().__init__(message, provider=provider, request_id=request_id)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class SubmitOutcomeUnknownError(APIError):
    """A submit was sent but its answer was lost; the job may exist and may be billed.

    It is never retried blindly. `request_body` and `sent_at` identify the submit so the job can be found
    (for example in the provider's queue listing) before deciding to submit again.
    """

    def __init__(self, message: str, *, provider: str, request_body: Any = None, sent_at: float | None = None) -> None:
        self.request_body = request_body
        self.sent_at = sent_at
        super().__init__(message, provider=provider)


class JobNotFinishedError(APIError):
    """`result()` of a job that has not finished: `state` (queued, running, unknown) and `raw_status` say where it
    is; follow it with `wait()`."""

    def __init__(self, *, provider: str, job_id: str, state: str, raw_status: str | None) -> None:
        self.state = state
        self.raw_status = raw_status
        super().__init__(f"job {job_id} is {state} ({raw_status}), not finished: wait() for it", provider=provider)
        self.job_id = job_id
        self.job_ref = f"{provider}:{job_id}"


class GenerationFailedError(KlingError):
    """The job ran and the provider reported failure."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        job_id: str,
        code: str | None = None,
        retryable: bool | None = None,
        raw_status: str | None = None,
    ) -> None:
        self.provider = provider
        self.job_id = job_id
        self.code = code
        self.retryable = retryable
        self.message = message
        self.raw_status = raw_status
        self.job_ref = f"{provider}:{job_id}"
        super().__init__(f"[{provider}] job {job_id} failed{f' ({code})' if code else ''}: {message}")


class JobCancelledError(GenerationFailedError):
    """The job was cancelled (by the caller, a deadline, or the provider)."""


class JobDeadlineExceededError(KlingError):
    """The job did not reach a terminal state before the deadline; unless `cancelled`, it may still be running."""

    def __init__(
        self, *, provider: str, job_id: str, elapsed: float, last_status: str | None, cancelled: bool = False
    ) -> None:
        self.provider = provider
        self.job_id = job_id
        self.elapsed = elapsed
        self.last_status = last_status
        self.cancelled = cancelled
        self.job_ref = f"{provider}:{job_id}"
        tail = "; cancel requested" if cancelled else "; it may still be running, follow it up by id"
        super().__init__(f"[{provider}] job {job_id} still {last_status or 'unknown'} after {elapsed:.0f} s{tail}")


class NoProviderAcceptedError(KlingError):
    """Every provider in the preference list refused the submit before accepting a job; `attempts` says why."""

    def __init__(self, attempts: Sequence[tuple[str, KlingError]]) -> None:
        self.attempts = tuple(attempts)
        reasons = "; ".join(f"{provider}: {error}" for provider, error in self.attempts)
        super().__init__(f"no provider accepted the job ({reasons})")


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[APIStatusError]:
    """The error class of an HTTP status."""
    if status_code in _STATUS_ERRORS:
        return _STATUS_ERRORS[status_code]
    if status_code >= 500:
        return ServerError
    return APIStatusError


def pick(body: Any, pointers: Sequence[str]) -> Any:
    """The first value found at one of `pointers` in a JSON body, or None."""
    for pointer in pointers:
        node = body
        for raw in pointer.strip("/").split("/") if pointer.strip("/") else []:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                node = None
                break
        if node is not None and node != "" and node != []:
            return node
    return None


def status_error(
    *,
    provider: str,
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    shape: ErrorShape,
    retry_after: float | None,
    secrets: Sequence[str] = (),
) -> APIStatusError:
    """Build the typed error for an HTTP error answer, reading the provider's error shape."""
    text = redact_text(content.decode("utf-8", "replace"), secrets)
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    message = pick(body, shape.message) if isinstance(body, (Mapping, list)) else None
    if not isinstance(message, str):
        message = (
            json.dumps(message)
            if message is not None
            else (text[:500] if isinstance(body, str) and body else f"HTTP {status_code}")
        )
    code = pick(body, shape.code) if isinstance(body, (Mapping, list)) else None
    if code is None and shape.code_header:
        code = headers.get(shape.code_header)
    request_id = pick(body, shape.request_id) if isinstance(body, (Mapping, list)) else None
    if request_id is None and shape.request_id_header:
        request_id = headers.get(shape.request_id_header)
    cls = RateLimitError if status_code in shape.rate_limit_status else error_class_for_status(status_code)
    kwargs: dict[str, Any] = {
        "provider": provider,
        "status_code": status_code,
        "request_id": str(request_id) if request_id is not None else None,
        "code": str(code) if code is not None else None,
        "body": body,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
