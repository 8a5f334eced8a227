"""Pure policy functions, tested by tables: retry decisions, backoff, Retry-After, default coercion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from manifest_support import client_class, fixture, fixtures, job_field, job_protocol, provider, providers

from codegen.pipeline import ir
from codegen.pipeline.parse import _coerce
from kling_sdk._runtime.errors import NotReached
from kling_sdk._runtime.retry import (
    backoff_delay,
    never_reached,
    parse_retry_after,
    rate_limit_delay,
    should_retry,
)

# attempt, is_submit, idempotent, status, failure -> retry?
RETRY_TABLE = [
    (0, False, False, 500, None, True),
    (0, False, False, 502, None, True),
    (0, False, False, 503, None, True),
    (0, False, False, 504, None, True),
    (0, False, False, 408, None, True),
    (0, False, False, 429, None, True),
    (0, False, False, 400, None, False),
    (0, False, False, 401, None, False),
    (0, False, False, 404, None, False),
    (0, False, False, 422, None, False),
    (2, False, False, 503, None, False),  # out of attempts
    (0, False, False, None, "connect", True),
    (0, False, False, None, "read_timeout", True),
    (0, False, False, None, "read", True),
    (0, True, False, 429, None, True),  # rejected: certainly not billed
    (0, True, False, 500, None, False),  # may have been accepted
    (0, True, False, 503, None, False),
    (0, True, False, 504, None, False),
    (0, True, False, None, "connect", True),  # never left
    (0, True, False, None, "connect_timeout", True),
    (0, True, False, None, "pool_timeout", True),
    (0, True, False, None, "read_timeout", False),  # sent: the job may exist
    (0, True, False, None, "write", False),
    (0, True, False, None, "read", False),
    (0, True, True, 503, None, True),  # idempotency key makes it safe
    (0, True, True, None, "read_timeout", True),
]


@pytest.mark.parametrize(("attempt", "is_submit", "idempotent", "status", "failure", "expected"), RETRY_TABLE)
def test_should_retry(
    attempt: int, is_submit: bool, idempotent: bool, status: int | None, failure: Any, expected: bool
) -> None:
    assert (
        should_retry(
            attempt=attempt,
            max_retries=2,
            is_submit=is_submit,
            idempotent_submit=idempotent,
            status_code=status,
            failure=failure,
        )
        is expected
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21T07:28:00Z
    assert parse_retry_after(headers, now=now) == expected


@pytest.mark.parametrize(
    ("attempt", "retry_after", "jitter", "expected"),
    [
        (0, None, 0.0, 0.5),
        (1, None, 0.0, 1.0),
        (2, None, 0.0, 2.0),
        (5, None, 0.0, 8.0),  # capped
        (9, None, 0.0, 8.0),
        (0, None, 0.999, 0.5 * (1 - 0.25 * 0.999)),
        (0, 3.0, 0.5, 3.0),  # the server's hint wins
        (0, 600.0, 0.0, 0.5),  # an absurd hint is ignored
    ],
)
def test_backoff_delay(attempt: int, retry_after: float | None, jitter: float, expected: float) -> None:
    assert backoff_delay(attempt, retry_after, jitter=jitter) == pytest.approx(expected)


# attempt, elapsed, budget, Retry-After -> seconds to wait before sending the rate-limited submit again (None: give up)
RATE_LIMIT_TABLE = [
    (0, 0.0, 60.0, None, 0.5),  # capped exponential backoff ...
    (3, 7.5, 60.0, None, 4.0),
    (9, 40.0, 60.0, None, 8.0),
    (9, 55.0, 60.0, None, 5.0),  # ... the last wait cut to end with the budget
    (0, 0.0, 60.0, 7.0, 7.0),  # the server's hint is honoured
    (0, 50.0, 60.0, 10.0, 10.0),  # ... when it fits in what is left
    (0, 50.0, 60.0, 13.0, None),  # ... a longer one ends the retries: sooner would be refused again
    (0, 0.0, 300.0, 120.0, 120.0),  # a long hint within a long budget
    (0, 60.0, 60.0, None, None),  # the budget is spent
    (0, 61.0, 60.0, 0.0, None),
    (0, 0.0, 0.0, None, None),  # budget 0: no retries at all
]


FRONT = NotReached(status=(502, 503, 504), without_header="x-request-id", body_contains="nginx")
HTML_ONLY = NotReached(status=(503,), content_type="text/html")
PAGE = b"<html><body><center>503 Service Temporarily Unavailable</center><hr><center>nginx</center></body></html>"

# rule, status, headers, body -> the request certainly never reached the provider?
NOT_REACHED_TABLE = [
    (FRONT, 503, {"content-type": "text/html"}, PAGE, True),  # the front proxy's page
    (FRONT, 502, {}, PAGE, True),
    (FRONT, 504, {}, PAGE, True),
    (FRONT, 500, {}, PAGE, False),  # not a status the rule names
    (FRONT, 503, {"X-Request-Id": "r-1"}, PAGE, False),  # the provider's own header: it arrived
    (FRONT, 503, {}, b'{"detail": "runner_scheduling_failure"}', False),  # the provider's own body
    (FRONT, 429, {}, PAGE, False),
    (None, 503, {}, PAGE, False),  # no signs declared: it may have arrived
    (HTML_ONLY, 503, {"Content-Type": "text/html; charset=utf-8"}, b"", True),
    (HTML_ONLY, 503, {"content-type": "application/json"}, b"{}", False),
    (HTML_ONLY, 503, {}, b"", False),
]


@pytest.mark.parametrize(("rule", "status", "headers", "body", "expected"), NOT_REACHED_TABLE)
def test_never_reached(
    rule: NotReached | None, status: int, headers: dict[str, str], body: bytes, expected: bool
) -> None:
    assert never_reached(rule, status, headers, body) is expected


@pytest.mark.parametrize(("attempt", "elapsed", "budget", "retry_after", "expected"), RATE_LIMIT_TABLE)
def test_rate_limit_delay(
    attempt: int, elapsed: float, budget: float, retry_after: float | None, expected: float | None
) -> None:
    delay = rate_limit_delay(attempt, elapsed, budget, retry_after, jitter=0.0)
    assert delay == (None if expected is None else pytest.approx(expected))


LIT_INT = ir.TypeRef("literal", values=(5, 10))
LIT_STR = ir.TypeRef("literal", values=("5", "10"))


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("5", LIT_INT, (True, 5)),  # AIMLAPI: integer enum with default "5"
        (5, LIT_INT, (True, 5)),
        ("7", LIT_INT, (False, None)),
        (5, LIT_STR, (True, "5")),
        ("10", LIT_STR, (True, "10")),
        ("3", ir.TypeRef("int"), (True, 3)),
        (True, ir.TypeRef("int"), (False, None)),
        (2.0, ir.TypeRef("int"), (True, 2)),
        ("0.5", ir.TypeRef("float"), (True, 0.5)),
        ("x", ir.TypeRef("float"), (False, None)),
        ("true", ir.TypeRef("bool"), (True, True)),
        ("no", ir.TypeRef("bool"), (False, None)),
        (16, ir.TypeRef("str"), (True, "16")),
        ({"a": 1}, ir.TypeRef("dict"), (True, {"a": 1})),
        ([1], ir.TypeRef("dict"), (False, [1])),
    ],
)
def test_default_coercion(value: Any, type_: ir.TypeRef, expected: tuple[bool, Any]) -> None:
    ok, coerced = _coerce(value, type_)
    assert ok is expected[0]
    if ok:
        assert coerced == expected[1]
        assert type(coerced) is type(expected[1])


def _echoing(document: Any, pointers: tuple[str, ...], suffix: str) -> Any:
    """`document` with `suffix` appended to the error message at the first of the manifest's pointers present."""
    document = json.loads(json.dumps(document))
    for pointer in pointers:
        *parents, last = pointer.strip("/").split("/")
        node = document
        for token in parents:
            node = node.get(token) if isinstance(node, dict) else node[int(token)] if isinstance(node, list) else None
        if isinstance(node, dict) and isinstance(node.get(last), str):
            node[last] += suffix
            return document
    raise AssertionError(f"no error message at {pointers}")


@pytest.mark.parametrize("name", providers(), ids=str)
def test_api_key_never_reaches_errors_or_logs(caplog: pytest.LogCaptureFixture, name: str) -> None:
    import logging

    from conftest import API_KEY, Recorder, make_client

    from kling_sdk._runtime.errors import AuthenticationError
    from kling_sdk._runtime.redact import REDACTED, redact_headers

    # The provider's documented 401, its message now echoing the key back.
    refused = fixture(name, "auth_error")
    assert refused is not None, f"{name} has no auth_error fixture"
    expect = refused.data["expect"]
    answer = refused.data["exchanges"][-1]["response"]
    body = _echoing(answer["json"], provider(name).errors.message, f" bad key {API_KEY}")
    assert API_KEY in json.dumps(body)
    recorder = Recorder(status=answer["status"], body=body)
    client = make_client(client_class(name), recorder)
    with pytest.raises(AuthenticationError) as info:
        getattr(client, refused.operation)(**refused.data["call"]["arguments"])
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value.body)
    if "code" in expect:
        assert info.value.code == expect["code"]

    with caplog.at_level(logging.INFO, logger="kling_sdk"):
        logging.getLogger("kling_sdk").info("sending with %s", API_KEY)
    assert API_KEY not in caplog.text
    assert REDACTED in caplog.text

    headers = {"Authorization": f"Key {API_KEY}", "X-Api-Key": API_KEY, "Accept": "application/json"}
    assert redact_headers(headers) == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "application/json"}


# ---------------------------------------------------------------------------------------------- polling policy
from kling_sdk._runtime.jobs import PollPolicy, poll_delay  # noqa: E402

POLICY = PollPolicy(initial=1.0, cap=10.0, fraction=0.09, jitter=0.1)


@pytest.mark.parametrize(
    ("elapsed", "retry_after", "remaining", "jitter", "expected"),
    [
        (0.0, None, None, 0.5, 1.0),  # starts quickly
        (5.0, None, None, 0.5, 1.0),  # floor while the job is young
        (50.0, None, None, 0.5, 4.5),  # then a fraction of the elapsed time
        (100.0, None, None, 0.5, 9.0),
        (1000.0, None, None, 0.5, 10.0),  # never above the cap
        (1000.0, None, None, 0.0, 9.0),  # jitter -10 %
        (1000.0, None, None, 0.9999, 11.0),  # jitter +10 %
        (5.0, None, None, 0.0, 1.0),  # jitter never goes below the floor
        (50.0, 30.0, None, 0.5, 30.0),  # the server asks for more: honoured
        (50.0, 0.5, None, 0.5, 4.5),  # ... but never makes us poll faster
        (50.0, None, 2.0, 0.5, 2.0),  # the deadline cuts the wait short
        (50.0, 30.0, 3.0, 0.5, 3.0),
        (50.0, None, -1.0, 0.5, 0.0),
    ],
)
def test_poll_delay(
    elapsed: float, retry_after: float | None, remaining: float | None, jitter: float, expected: float
) -> None:
    assert poll_delay(elapsed, POLICY, retry_after=retry_after, remaining=remaining, jitter=jitter) == pytest.approx(
        expected, abs=1e-3
    )


@pytest.mark.parametrize("job_seconds", [30, 120, 600])
def test_polling_keeps_notice_latency_near_a_tenth_of_the_job(job_seconds: int) -> None:
    t, polls = 0.0, 0
    while t < job_seconds:
        t += poll_delay(t, POLICY, jitter=0.9999)
        polls += 1
    assert t - job_seconds <= max(1.0, 0.11 * job_seconds)
    assert polls <= job_seconds / 0.1 / 10  # polling alone: >= 10x fewer than a fixed 0.1 s poll


# ---------------------------------------------------------------------------------------------- status documents
from kling_sdk._runtime.jobs import read_status  # noqa: E402

# Each provider's documents as its docs show them (the recorded fixtures), with the state, failure message and
# code the dossier says they mean (`expect.status`), normalised by the manifest's pointers.
STATUS_FIXTURES = [f for f in fixtures() if "status" in f.data["expect"]]


@pytest.mark.parametrize("recorded", STATUS_FIXTURES, ids=[f.name for f in STATUS_FIXTURES])
def test_status_documents_normalise(recorded: Any) -> None:
    expected = recorded.data["expect"]["status"]
    document = recorded.data["exchanges"][-1]["response"]["json"]
    status = read_status(job_protocol(recorded.provider), "job", document, None)
    assert status.state == expected["state"]
    if "message" in expected:
        assert status.failure is not None
        assert (status.failure.message, status.failure.code) == (expected["message"], expected["code"])
        if "retryable" in expected:
            assert status.failure.retryable is expected["retryable"]
    else:
        assert status.failure is None


@pytest.mark.parametrize("name", providers(lambda p: p.jobs), ids=str)
def test_every_state_a_provider_reports_has_a_normalised_document(name: str) -> None:
    """Each state the manifest maps a raw status to, and a status no one documented, has an expectation."""
    covered = {f.data["expect"]["status"]["state"] for f in STATUS_FIXTURES if f.provider == name}
    jobs = provider(name).jobs
    assert jobs is not None
    mapped = set(dict(jobs.states).values())
    if job_field(provider(name), "failure_present") or job_field(provider(name), "failure_false"):
        mapped.add("failed")  # failure signalled inside a success status
    assert mapped <= covered, f"{name}: no status fixture normalises to {sorted(mapped - covered)}"
    for recorded in STATUS_FIXTURES:
        state = recorded.path.stem.removeprefix("status_")
        if recorded.provider == name and recorded.path.stem.startswith("status_") and state in mapped:
            assert recorded.data["expect"]["status"]["state"] == state, recorded.name  # the name says which


# ---------------------------------------------------------------------------------------------- SSE framing
from kling_sdk._runtime.sse import ServerSentEvent, SSEDecoder  # noqa: E402


@pytest.mark.parametrize(
    ("lines", "events"),
    [
        (["data: {}", ""], [ServerSentEvent("message", "{}")]),
        (["data:{}", ""], [ServerSentEvent("message", "{}")]),  # no space after the colon
        (
            ["event: media_generation_completed", 'data: {"a":1}', ""],
            [ServerSentEvent("media_generation_completed", '{"a":1}')],
        ),
        (["data: a", "data: b", ""], [ServerSentEvent("message", "a\nb")]),
        ([": keep-alive", ""], []),
        (["id: 7", "retry: 1500", "data: x", ""], [ServerSentEvent("message", "x", "7", 1500)]),
        (["data: x\r", "\r"], [ServerSentEvent("message", "x")]),
        (["data: 1", "", "data: 2", ""], [ServerSentEvent("message", "1"), ServerSentEvent("message", "2")]),
        (["data: unterminated"], []),
    ],
)
def test_sse_decoder(lines: list[str], events: list[ServerSentEvent]) -> None:
    decoder = SSEDecoder()
    assert [e for e in map(decoder.feed, lines) if e is not None] == events


from kling_sdk._runtime.errors import FailedJobAnswer  # noqa: E402
from kling_sdk._runtime.jobs import Failure, failure_in_answer  # noqa: E402

PREDICTION = FailedJobAnswer(
    codes=("PREDICTION_FAILED",),
    message=("/error/details/message", "/error/message"),
    failure_code=("/error/details/code",),
    retryable=("/error/details/retryable",),
)
FAILED_BODY = {"error": {"code": "PREDICTION_FAILED", "message": "outer",
                         "details": {"code": "unsafe_content", "message": "flagged", "retryable": False}}}  # fmt: skip

# rule, answer code, body -> the job's failure (None: the answer is not about a failed job); the answer's own
# message is "refused" (it stands in where the failure carries none)
FAILURE_ANSWER_TABLE = [
    (PREDICTION, "PREDICTION_FAILED", FAILED_BODY, Failure("flagged", "unsafe_content", False)),
    (PREDICTION, "PREDICTION_FAILED", {"error": {"code": "PREDICTION_FAILED", "message": "outer"}},
     Failure("outer", "PREDICTION_FAILED", None)),  # no details: the outer message, the answer's code
    (PREDICTION, "PREDICTION_FAILED", {"error": {"details": {"retryable": "no"}}},
     Failure("refused", "PREDICTION_FAILED", None)),  # a retryable flag that is no bool is unknown
    (PREDICTION, "PREDICTION_NOT_COMPLETED", FAILED_BODY, None),  # another code: not a failure
    (PREDICTION, None, FAILED_BODY, None),
    (PREDICTION, "PREDICTION_FAILED", "<html>", None),  # not a JSON document
    (None, "PREDICTION_FAILED", FAILED_BODY, None),  # nothing declared
]  # fmt: skip


@pytest.mark.parametrize(("rule", "code", "body", "expected"), FAILURE_ANSWER_TABLE)
def test_failure_in_answer(rule: FailedJobAnswer | None, code: str | None, body: Any, expected: Failure | None) -> None:
    assert failure_in_answer(rule, code, body, "refused") == expected


def test_the_backoff_stays_capped_however_many_attempts() -> None:
    # a rate-limit budget on a virtual clock can retry thousands of times; 2.0**1024 would overflow
    assert backoff_delay(1024, jitter=0.5) == backoff_delay(60, jitter=0.5) <= 8.0
