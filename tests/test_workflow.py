"""The copyable schema-drift workflow only calls commands that exist, with arguments they accept."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "schema-drift.yml"


def _steps() -> list[dict[str, Any]]:
    data = yaml.safe_load(WORKFLOW.read_text())
    [job] = data["jobs"].values()
    return list(job["steps"])


def _codegen_calls() -> list[list[str]]:
    calls = []
    for step in _steps():
        for line in str(step.get("run", "")).splitlines():
            if "-m codegen" not in line:
                continue
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:3] == [".venv/bin/python", "-m", "codegen"]:
                    calls.append(words[3:])
    return calls


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
