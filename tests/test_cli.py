"""The `kling` command, run as a real process against the fake provider on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import API_KEY, find_leaks
from test_inputs import png

from kling_sdk.cli import main
from kling_sdk.testing import FakeServer

ENV_KEYS = ("OXEN_API_KEY", "AIMLAPI_KEY", "SUNRA_KEY", "FAL_KEY")


LIVE_TIMING = {"queued": 0.3, "running": 1.2, "tick": 0.1}  # seconds each job stays queued / runs on the real-time fake


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KEYS:
        monkeypatch.setenv(name, API_KEY)


def kling(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `kling` command (as `python -m kling_sdk.cli`, same entry point)."""
    environment = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and not k.endswith("_BASE_URL")}
    environment.update({"COLUMNS": "100", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "kling_sdk.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_text_to_video_writes_an_mp4_with_a_progress_display(fake: FakeServer, tmp_path: Path) -> None:
    done = kling(
        "text-to-video", "a fox in the snow", "--provider", "fal", "--duration", "5", "-o", "clip.mp4",
        "--base-url", fake.base_url("fal"), "--poll-interval", "0.05",
        cwd=tmp_path, env={"FAL_KEY": API_KEY},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "clip.mp4").read_bytes() == fake.app.video
    assert done.stdout.strip() == "clip.mp4"
    lines = done.stderr.splitlines()
    order = [next(i for i, line in enumerate(lines) if line.startswith(word)) for word in
             ("submitted fal:", "queued", "running", "succeeded", "downloading", "saved clip.mp4")]  # fmt: skip
    assert order == sorted(order), done.stderr
    assert not find_leaks([done.stdout + done.stderr])
    assert list(fake.app.submit_counts("fal").values()) == [1]


def test_on_a_terminal_the_progress_is_a_live_bar(fake: FakeServer, tmp_path: Path) -> None:
    done = kling(
        "text-to-video", "a fox", "-p", "aimlapi", "-o", "clip.mp4", "--poll-interval", "0.05",
        cwd=tmp_path, env={"AIMLAPI_KEY": API_KEY, "AIMLAPI_BASE_URL": fake.base_url("aimlapi"),
                           "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b[" in done.stderr and "━" in done.stderr  # rich redraws a bar in place
    assert "kB" in done.stderr  # the download column
    assert (tmp_path / "clip.mp4").stat().st_size == len(fake.app.video)


def test_image_to_video_uploads_a_local_image(fake: FakeServer, tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(png(400, 400))
    done = kling(
        "image-to-video", "the photo comes alive", "--image", "photo.png", "-p", "sunra", "--json",
        "--poll-interval", "0.05", "-o", "out.mp4",
        cwd=tmp_path, env={"SUNRA_KEY": API_KEY, "SUNRA_BASE_URL": fake.base_url("sunra")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["state"] == "succeeded" and answer["job"].startswith("sunra:") and answer["file"] == "out.mp4"
    assert fake.app.count("sunra", "upload") == 1
    assert (tmp_path / "out.mp4").read_bytes() == fake.app.video


def test_status_and_cancel_follow_a_job_by_reference(fake: FakeServer, tmp_path: Path) -> None:
    env = {"FAL_KEY": API_KEY, "FAL_BASE_URL": fake.base_url("fal")}
    submitted = kling("text-to-video", "slow", "-p", "fal", "--no-wait", "--json", cwd=tmp_path, env=env)
    assert submitted.returncode == 0, submitted.stderr
    ref = json.loads(submitted.stdout)["job"]
    shown = kling("status", ref, "--json", cwd=tmp_path, env=env)
    assert json.loads(shown.stdout)["state"] in ("queued", "running")
    cancelled = kling("cancel", ref, cwd=tmp_path, env=env)
    assert cancelled.returncode == 0 and ref in cancelled.stdout
    after = kling("status", ref, cwd=tmp_path, env=env)
    assert after.returncode == 1 and after.stdout.split()[:2] == [ref, "cancelled"], after.stdout
    shown = kling("status", ref, "--json", cwd=tmp_path, env=env)
    assert json.loads(shown.stdout)["state"] == "cancelled"


def test_status_saves_the_video_of_a_finished_job(fake: FakeServer, tmp_path: Path) -> None:
    env = {"OXEN_API_KEY": API_KEY, "OXEN_BASE_URL": fake.base_url("oxen")}
    submitted = kling("text-to-video", "a cat", "-p", "oxen", "--no-wait", cwd=tmp_path, env=env)
    ref = submitted.stdout.strip()
    job_id = ref.split(":", 1)[1]
    fake.app.jobs[("oxen", job_id)].created -= 10  # let it finish now
    done = kling("status", job_id, "-p", "oxen", "-o", "later.mp4", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout and (tmp_path / "later.mp4").read_bytes() == fake.app.video


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["text-to-video", "x", "-p", "sunra"], 2, "sunra does not serve text-to-video"),
        (["text-to-video", "x", "-p", "oxen", "--voice-id", "v1"], 2, "does not support voice_ids"),
        (["text-to-video", "x", "-p", "fal", "--duration", "7"], 2, "duration"),
        (["text-to-video", "x", "-p", "replicate"], 2, "unknown provider"),
        (["image-to-video", "x", "--image", "missing.png", "-p", "fal"], 2, "neither a URL nor an existing file"),
        (["status", "1234"], 2, "provider:id"),
        (["text-to-video", "x", "-p", "fal", "--param", "seed"], 2, "NAME=VALUE"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    fake: FakeServer, args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name, url in fake.base_urls.items():
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", url)
    assert main(args) == code
    assert message in " ".join(capsys.readouterr().err.split())
    assert sum(fake.app.calls.values()) == 0


def test_exit_codes_for_refused_failed_and_unknown(
    fake: FakeServer, keys: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["--base-url", fake.base_url("fal"), "-p", "fal", "--poll-interval", "0.05"]
    monkeypatch.setenv("FAL_KEY", "wrong-key")
    assert main(["text-to-video", "x", *base]) == 3  # refused: no job exists
    monkeypatch.setenv("FAL_KEY", API_KEY)
    fake.app.inject("fal", "submit", fail_generation=True, times=1)
    assert main(["text-to-video", "x", *base]) == 1  # the job ran and failed
    fake.app.inject("fal", "submit", status=500, times=1)
    assert main(["text-to-video", "y", *base]) == 4  # the outcome is unknown: never resubmitted
    assert main(["text-to-video", "z", *base, "--deadline", "0.1"]) == 5  # still running
    err = capsys.readouterr().err
    assert "kling status fal:" in err  # the job reference is never lost
    assert "wrong-key" not in err
    monkeypatch.delenv("FAL_KEY")
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    assert main(["text-to-video", "x"]) == 2  # no provider chosen, no key set
    assert "FAL_KEY" in capsys.readouterr().err


def test_providers_lists_capabilities(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["providers", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert "text-to-video" not in table["sunra"] and "voice_ids" in table["fal"]["image-to-video"]
    assert main(["providers"]) == 0
    shown = capsys.readouterr().out
    assert "(task not served)" in shown and "FAL_KEY" in shown


@pytest.mark.parametrize("argv", [["--no-such-option"], ["no-such-command"], ["text-to-video"], ["status"]])
def test_a_usage_error_is_a_message_and_exit_2_not_a_traceback(argv: list[str], tmp_path: Path) -> None:
    done = kling(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip(), "a usage error says what is wrong"
