"""End to end: each provider's generated client, sync and async, runs every task it serves to a video on disk
against the fake provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, call
from manifest_support import has_fake, submit_body, submits, wire_body

from kling_sdk.testing import FakeServer, sample_video

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
# every submit of every provider the fake speaks: run_<task> with a minimal request
RUNS = submits(has_fake)
pytestmark = pytest.mark.usefixtures("fresh_fake")


@both
@pytest.mark.parametrize(("provider", "op"), RUNS, ids=[f"{p}-{op.model}-{op.name}" for p, op in RUNS])
async def test_each_generated_client_runs_a_job_against_the_fake(
    fake: FakeServer, provider: str, op: Any, is_async: bool, tmp_path: Path
) -> None:
    client = fake.client(provider, is_async=is_async, model=op.model, api_key=API_KEY)
    seen: list[str] = []
    method = op.name.replace("submit_", "run_")
    body = submit_body(provider, op.name, model=op.model)
    result = await call(client, method, body, on_progress=lambda p: seen.append(p.state))
    path = await call(client, "download", result, tmp_path / "out.mp4")
    assert Path(path).read_bytes() == sample_video()
    assert seen[-1] == "succeeded" and fake.app.count(provider, "submit") == 1
    assert list(fake.app.submit_counts(provider).values()) == [1]
    [job] = fake.app.jobs.values()
    assert job.body == wire_body(provider, op.name, body, op.model) and job.model == op.model
