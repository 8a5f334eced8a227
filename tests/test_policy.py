"""Pure policy functions, tested by tables: retry decisions, backoff, Retry-After, default coercion."""

from __future__ import annotations

from typing import Any

import pytest

from codegen import ir
from codegen.parse import _coerce
from kling_sdk._runtime.retry import backoff_delay, parse_retry_after, should_retry

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


def test_api_key_never_reaches_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from conftest import API_KEY, Recorder, make_client

    from kling_sdk._runtime.errors import AuthenticationError
    from kling_sdk._runtime.redact import REDACTED, redact_headers
    from kling_sdk.oxen import OxenClient

    recorder = Recorder(status=401, body={"error": {"type": "unauthenticated", "detail": f"bad key {API_KEY}"}})
    client = make_client(OxenClient, recorder)
    with pytest.raises(AuthenticationError) as info:
        client.get_generation("g1")
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value.body)
    assert info.value.code == "unauthenticated"

    with caplog.at_level(logging.INFO, logger="kling_sdk"):
        logging.getLogger("kling_sdk").info("sending with %s", API_KEY)
    assert API_KEY not in caplog.text
    assert REDACTED in caplog.text

    headers = {"Authorization": f"Key {API_KEY}", "X-Api-Key": API_KEY, "Accept": "application/json"}
    assert redact_headers(headers) == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "application/json"}
