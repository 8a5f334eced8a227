"""End to end: each provider's generated client, sync and async, runs a full job against the fake provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, call

from kling_sdk.testing import FakeServer, sample_video

PROVIDERS = ("oxen", "aimlapi", "sunra", "fal")
IMAGE = "https://example.com/hiker.png"
REQUESTS = {
    "oxen": ("run_text_to_video", {"prompt": "a fox"}),
    "aimlapi": ("run_image_to_video", {"prompt": "a hiker", "image_url": IMAGE}),
    "sunra": ("run_image_to_video", {"prompt": "a hiker", "start_image_url": IMAGE}),
    "fal": ("run_text_to_video", {"prompt": "a fox"}),
}
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers = pytest.mark.parametrize("provider", PROVIDERS)
pytestmark = pytest.mark.usefixtures("fresh_fake")


def _run_method(provider: str) -> tuple[str, dict[str, Any]]:
    return REQUESTS[provider]


@both
@providers
async def test_each_generated_client_runs_a_job_against_the_fake(
    fake: FakeServer, provider: str, is_async: bool, tmp_path: Path
) -> None:
    client = fake.client(provider, is_async=is_async, api_key=API_KEY)
    method, body = _run_method(provider)
    seen: list[str] = []
    result = await call(client, method, body, on_progress=lambda p: seen.append(p.state))
    path = await call(client, "download", result, tmp_path / "out.mp4")
    assert Path(path).read_bytes() == sample_video()
    assert seen[-1] == "succeeded" and fake.app.count(provider, "submit") == 1
    assert list(fake.app.submit_counts(provider).values()) == [1]
