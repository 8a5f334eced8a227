"""The suite's key scan (conftest.scan_for_api_keys) on partial runs: one file or a `-k` selection passes when
nothing leaks, and still fails the run when something does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import API_KEY, ROOT

PROBE = "KLING_KEY_SCAN_PROBE"


@pytest.mark.skipif(os.environ.get(PROBE) != "1", reason=f"plants a key leak; run by the test below with {PROBE}=1")
def test_probe_plants_a_leak() -> None:
    from kling_sdk._runtime.errors import KlingError

    KlingError(f"the key is {API_KEY}")  # no client registered the key, so nothing redacts it: the scan must see it


def _partial_run(planted: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != PROBE}
    if planted:
        env[PROBE] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}", "-k", "probe"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_partial_run_passes_when_nothing_leaks() -> None:
    done = _partial_run(planted=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped, 2 deselected" in done.stdout and "error" not in done.stdout.lower(), done.stdout


def test_a_partial_run_still_fails_on_a_leak() -> None:
    done = _partial_run(planted=True)
    assert done.returncode != 0, done.stdout
    assert "ERROR at teardown of test_probe_plants_a_leak" in done.stdout and "API key found in" in done.stdout
