"""The manifest keys that describe how a provider signals things on the wire are checked when it is read (a bad
value names its place), and reach the generated clients as declared."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from codegen.pipeline.diagnostics import GenerationError, Location
from codegen.pipeline.manifest import _load_job_failed, _load_not_reached, _string_table, _Table, load

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = load(ROOT / "providers.toml")
WHERE = Location("providers.toml").child("providers", "p", "errors", "not_reached")


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ({"status": [503]}, "needs at least one sign"),  # a status alone would resend every 5xx: paid twice
        ({"status": [], "without_header": "x-id"}, "non-empty array of 5xx"),
        ({"status": [429], "without_header": "x-id"}, "5xx"),
        ({"status": ["503"], "without_header": "x-id"}, "5xx"),
        ({"status": [503], "without_header": 7}, "expected a string"),
        ({"status": [503], "body": "nginx"}, "unknown key(s): body"),
    ],
)
def test_not_reached_is_refused_when_it_could_resend_a_received_submit(table: dict[str, Any], error: str) -> None:
    with pytest.raises(GenerationError) as info:
        _load_not_reached(_Table(table, WHERE))
    assert error in str(info.value) and "providers.toml#/providers/p/errors/not_reached" in str(info.value)


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ({"codes": []}, "at least one error code"),
        ({"codes": "PREDICTION_FAILED"}, "expected an array"),
        ({"codes": ["PREDICTION_FAILED"], "message": ["error/details"]}, "is not a JSON pointer"),
        ({"codes": ["PREDICTION_FAILED"], "retry": ["/error/retryable"]}, "unknown key(s): retry"),
        ({"message": ["/error/message"]}, "missing required key 'codes'"),
    ],
)
def test_job_failed_is_checked(table: dict[str, Any], error: str) -> None:
    where = Location("providers.toml").child("providers", "p", "errors", "job_failed")
    with pytest.raises(GenerationError) as info:
        _load_job_failed(_Table(table, where))
    assert error in str(info.value) and "providers.toml#/providers/p/errors/job_failed" in str(info.value)


@pytest.mark.parametrize("value", [1, True, ["1"], {"on": "1"}])
def test_a_logs_query_takes_string_values_only(value: Any) -> None:
    jobs = Location("providers.toml").child("providers", "p", "jobs")
    with pytest.raises(GenerationError) as info:
        _string_table(_Table({"logs_query": {"logs": value}}, jobs), "logs_query")
    assert "providers.toml#/providers/p/jobs/logs_query/logs: expected a string" in str(info.value)


def test_protocol_keys_reach_the_generated_clients() -> None:
    for provider in MANIFEST.providers:
        config = importlib.import_module(f"kling_sdk.{provider.name}").PROVIDER
        if provider.jobs is not None:
            assert dict(config.jobs.logs_query) == dict(provider.jobs.logs_query), provider.name
        failed, generated_failed = provider.errors.job_failed, config.errors.job_failed
        assert (generated_failed is None) == (failed is None), provider.name
        if failed is not None:
            assert (tuple(generated_failed.codes), tuple(generated_failed.message)) == (failed.codes, failed.message)
            assert (tuple(generated_failed.failure_code), tuple(generated_failed.retryable)) == (
                failed.failure_code, failed.retryable,
            )  # fmt: skip
        declared = provider.errors.not_reached
        generated = config.errors.not_reached
        assert (generated is None) == (declared is None), provider.name
        if declared is not None:
            assert tuple(generated.status) == declared.status
            assert (generated.without_header, generated.content_type, generated.body_contains) == (
                declared.without_header, declared.content_type, declared.body_contains,
            )  # fmt: skip
