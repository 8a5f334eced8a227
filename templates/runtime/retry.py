"""Retry policy as small pure functions; the transport only asks them."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from typing import Literal

from .errors import (
    APIConnectionError,
    APIStatusError,
    InvalidRequestError,
    MissingApiKeyError,
    NotReached,
    SubmitOutcomeUnknownError,
)

# How a request failed without an answer from the provider ("unreached": its front proxy answered instead).
Failure = Literal["connect", "connect_timeout", "read_timeout", "write", "read", "pool_timeout", "unreached"]

# Answers to a submit that say "no job was created, and the request itself is fine": try elsewhere.
FAIL_OVER_STATUS: frozenset[int] = frozenset({401, 402, 403, 429})

# Failures after which the request certainly never reached the provider.
NOT_SENT: frozenset[str] = frozenset({"connect", "connect_timeout", "pool_timeout", "unreached"})
RETRYABLE_STATUS: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

DEFAULT_MAX_RETRIES = 2
DEFAULT_RATE_LIMIT_BUDGET = 60.0  # seconds a rate-limited submit keeps being sent again (fal-client tries ~51 s)
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


def should_retry(
    *,
    attempt: int,
    max_retries: int,
    is_submit: bool,
    idempotent_submit: bool = False,
    status_code: int | None = None,
    failure: Failure | None = None,
) -> bool:
    """Whether attempt number `attempt` (0-based) may be followed by another.

    A paid submit is retried only when it certainly did not reach the server (connect failure, or a
    429 rejection) unless the provider honours an idempotency key; anything else could bill twice.
    """
    if attempt >= max_retries:
        return False
    if failure is not None:
        if is_submit and not idempotent_submit:
            return failure in NOT_SENT
        return True
    if status_code is None:
        return False
    if is_submit and not idempotent_submit:
        return status_code == 429
    return status_code in RETRYABLE_STATUS


def may_fail_over(error: BaseException) -> bool:
    """Whether a failed submit certainly created no job, so the next provider of a preference list may be tried.

    Auth, credits and rate limits (answered 401/402/403/429), a provider that could not be reached, a missing
    key or an input only this provider refuses: yes. A lost or 5xx answer (the job may exist) or a request
    the provider judged malformed (400/404/409/422): no.
    """
    if isinstance(error, SubmitOutcomeUnknownError):
        return False
    if isinstance(error, MissingApiKeyError | InvalidRequestError | APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and error.status_code in FAIL_OVER_STATUS


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked to wait (`Retry-After` seconds or HTTP date, or `retry-after-ms`)."""
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        try:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - (time.time() if now is None else now))


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    initial: float = INITIAL_DELAY,
    cap: float = MAX_DELAY,
    jitter: float | None = None,
) -> float:
    """Delay before retry `attempt + 1`: the server's hint when sane, else capped exponential with jitter.

    `jitter` in [0, 1) makes it deterministic for tests; by default it is random (full jitter over 25 %).
    """
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    base = min(cap, initial * 2.0 ** min(attempt, 64))  # the cap is reached long before; 2.0**1024 overflows
    fraction = random.random() if jitter is None else jitter
    return base * (1 - 0.25 * fraction)


def rate_limit_delay(
    attempt: int, elapsed: float, budget: float, retry_after: float | None = None, *, jitter: float | None = None
) -> float | None:
    """Seconds to wait before sending a rate-limited submit again (its `attempt`-th wait, 0-based), or None once
    its `budget` is spent (`elapsed` seconds since it was first sent).

    A rate-limited submit was certainly not accepted, so it may be sent again for as long as the budget lasts. The
    server's Retry-After is honoured when it fits in what is left (a longer one ends the retries: sending earlier
    would only be refused again); without one, capped exponential backoff, the last wait cut to end with the budget.
    """
    left = budget - elapsed
    if left <= 0:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= left else None
    return min(backoff_delay(attempt, jitter=jitter), left)


def never_reached(rule: NotReached | None, status_code: int, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an error answer shows the request never reached the provider, by the provider's declared signs
    (fal's front proxy: a 502/503/504 without `x-fal-request-id` whose page names nginx). No rule, or any sign
    missing: it may have arrived."""
    if rule is None or status_code not in rule.status:
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    if rule.without_header is not None and rule.without_header.lower() in lower:
        return False
    if rule.content_type is not None:
        media_type = lower.get("content-type", "").split(";")[0].strip().lower()
        if media_type != rule.content_type.lower():
            return False
    return rule.body_contains is None or rule.body_contains in body.decode("utf-8", "replace")
