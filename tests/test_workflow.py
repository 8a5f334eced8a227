"""The copyable schema-drift workflow only calls commands that exist, and keeps provider keys away from generated code."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "schema-drift.yml"
# What runs code generated from a fetched document (or reads it into a code generator): never next to a key.
RUNS_GENERATED = ("codegen generate", "codegen check", "codegen drift", "pytest", "kling_sdk", "import ")


def _jobs() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(WORKFLOW.read_text())["jobs"])


def _steps(job: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    jobs = [job] if job is not None else list(_jobs().values())
    return [step for j in jobs for step in j["steps"]]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"]).replace(".venv/bin/python -m ", "")


def _codegen_calls(job: dict[str, Any] | None = None) -> list[list[str]]:
    calls = []
    for step in _steps(job):
        for line in str(step.get("run", "")).splitlines():
            if "-m codegen" not in line:
                continue
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:3] == [".venv/bin/python", "-m", "codegen"]:
                    calls.append(words[3:])
    return calls


def _uses_secrets(job: dict[str, Any]) -> bool:
    return "secrets." in yaml.safe_dump(job)


def test_it_is_scheduled_and_can_be_run_by_hand() -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    triggers = data[True]  # YAML 1.1 reads the bare key `on` as a boolean
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers


def test_it_fetches_reports_regenerates_tests_and_opens_a_pull_request() -> None:
    commands = [call[0] for call in _codegen_calls()]
    assert commands == ["fetch", "drift", "drift", "drift", "generate", "check"]
    runs = " ".join(str(step.get("run", "")) for step in _steps())
    assert "pytest tests/contract" in runs
    pr = next(step for step in _steps() if str(step.get("uses", "")).startswith("peter-evans/create-pull-request"))
    assert pr["with"]["body-path"] == ".drift/pr.md"


@pytest.mark.parametrize("call", _codegen_calls(), ids=lambda c: " ".join(c))
def test_every_codegen_call_parses(call: list[str]) -> None:
    _parser().parse_args(call)


def test_provider_keys_reach_one_job_that_only_fetches() -> None:
    keyed = {name: job for name, job in _jobs().items() if _uses_secrets(job)}
    assert list(keyed) == ["fetch"], "provider keys must be visible to the fetch job alone"
    fetch = keyed["fetch"]
    assert [call[0] for call in _codegen_calls(fetch)] == ["fetch"]
    assert not any(marker in _runs(fetch) for marker in RUNS_GENERATED), _runs(fetch)
    with_keys = [step for step in fetch["steps"] if "secrets." in yaml.safe_dump(step)]
    assert [step["run"] for step in with_keys] == [".venv/bin/python -m codegen fetch"]
    assert fetch["permissions"] == {"contents": "read"}


def test_generated_code_runs_in_a_job_without_secrets_on_the_fetched_artifact() -> None:
    jobs = _jobs()
    fetch_upload = next(
        s for s in jobs["fetch"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")
    )
    running = {name: job for name, job in jobs.items() if any(m in _runs(job) for m in RUNS_GENERATED)}
    assert running, "nothing regenerates the SDK?"
    for name, job in running.items():
        assert not _uses_secrets(job), name
        assert job["permissions"] == {"contents": "read"}, name
        assert "fetch" in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"]), name
        checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout"))
        assert checkout["with"]["persist-credentials"] is False, f"{name}: the token would stay in .git/config"
        download = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact"))
        assert download["with"]["name"] == fetch_upload["with"]["name"]
        first_run = next(
            i for i, s in enumerate(job["steps"]) if any(m in str(s.get("run", "")) for m in RUNS_GENERATED)
        )
        assert job["steps"].index(download) < first_run, f"{name}: runs before it has the fetched specs"


def test_the_job_that_may_write_runs_nothing_it_was_handed() -> None:
    writers = {name: job for name, job in _jobs().items() if "write" in yaml.safe_dump(job.get("permissions", {}))}
    assert list(writers) == ["pull-request"]
    job = writers["pull-request"]
    assert not _uses_secrets(job)
    assert "python" not in _runs(job) and "pip" not in _runs(job)
    assert set(job["needs"]) == {"fetch", "drift"}
    assert yaml.safe_load(WORKFLOW.read_text())["permissions"] == {"contents": "read"}
