"""The `kling` command, run as a real process against the fake provider on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import API_KEY, find_leaks
from manifest_support import (
    at,
    base_url_env,
    can_cancel,
    has_mapping,
    not_serving,
    provider,
    providers,
    servers,
    serving,
    stream_kind,
    unified_fields,
    units,
    with_fact,
)
from test_inputs import png

from kling_sdk.cli import main
from kling_sdk.testing import FakeServer
from kling_sdk.unified import DEFAULT_MODEL, ImageToVideo, TextToVideo

ENV_KEYS = tuple(provider(name).auth.env for name in providers())
TEXT = TextToVideo(prompt="x").task
IMAGE = ImageToVideo(prompt="x", start_image="https://example.com/a.png").task


def first(found: list[str], what: str) -> str:
    """The first provider of a list; skips the test when the manifest has none."""
    if not found:
        pytest.skip(f"no provider in the manifest {what}")
    return found[0]


def key_env(name: str, fake: FakeServer | None = None) -> dict[str, str]:
    """The environment that gives a provider its key (and points it at the fake)."""
    env = {provider(name).auth.env: API_KEY}
    if fake is not None:
        env[base_url_env(name)] = fake.base_url(name)
    return env


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


@pytest.mark.parametrize(
    "name", with_fact(lambda p: p.name in serving(TEXT) and stream_kind(p) != "events", "serves text-to-video")
)
def test_text_to_video_writes_an_mp4_with_a_progress_display(fake: FakeServer, tmp_path: Path, name: str) -> None:
    # (a user-wide event stream announces only the end: no `running` line to expect)
    done = kling(
        "text-to-video", "a fox in the snow", "--provider", name, "--duration", "5", "-o", "clip.mp4",
        "--base-url", fake.base_url(name), "--poll-interval", "0.05",
        cwd=tmp_path, env={provider(name).auth.env: API_KEY},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "clip.mp4").read_bytes() == fake.app.video
    assert done.stdout.strip() == "clip.mp4"
    lines = done.stderr.splitlines()
    order = [next(i for i, line in enumerate(lines) if line.startswith(word)) for word in
             (f"submitted {name}:", "queued", "running", "succeeded", "downloading", "saved clip.mp4")]  # fmt: skip
    assert order == sorted(order), done.stderr
    assert not find_leaks([done.stdout + done.stderr])
    assert list(fake.app.submit_counts(name).values()) == [1]


def test_on_a_terminal_the_progress_is_a_live_bar(fake: FakeServer, tmp_path: Path) -> None:
    name = first(serving(TEXT), "serves text-to-video")
    done = kling(
        "text-to-video", "a fox", "-p", name, "-o", "clip.mp4", "--poll-interval", "0.05",
        cwd=tmp_path, env={**key_env(name, fake), "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b[2K" in done.stderr  # rich redraws the live line in place
    assert "━" in done.stderr and f"/{len(fake.app.video):,} bytes" in done.stderr  # a byte bar while downloading
    assert (tmp_path / "clip.mp4").stat().st_size == len(fake.app.video)


@pytest.mark.parametrize(
    "name", with_fact(lambda p: p.name in serving(IMAGE) and p.files.mode != "url", "takes local images")
)
def test_image_to_video_sends_a_local_image(fake: FakeServer, tmp_path: Path, name: str) -> None:
    (tmp_path / "photo.png").write_bytes(png(400, 400))
    done = kling(
        "image-to-video", "the photo comes alive", "--image", "photo.png", "-p", name, "--json",
        "--poll-interval", "0.05", "-o", "out.mp4",
        cwd=tmp_path, env=key_env(name, fake),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["state"] == "succeeded" and answer["job"].startswith(f"{name}:") and answer["file"] == "out.mp4"
    [job] = fake.app.jobs.values()
    sent = at(job.body, unified_fields(name, IMAGE)["start_image"])
    if provider(name).files.mode == "upload":
        assert fake.app.count(name, "upload") == 1 and list(fake.app.uploads.values()) == [png(400, 400)]
    else:
        assert sent.startswith("data:image/png;base64,")
    assert (tmp_path / "out.mp4").read_bytes() == fake.app.video


def test_status_and_cancel_follow_a_job_by_reference(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = first(providers(lambda p: p.name in serving(TEXT) and can_cancel(p)), "serves text and can cancel")
    env = key_env(name, fake)
    # Long from its creation: the job outlives the three process starts (submit, status, cancel) on a loaded machine.
    monkeypatch.setattr(fake.app, "running", 600.0)
    submitted = kling("text-to-video", "slow", "-p", name, "--no-wait", "--json", cwd=tmp_path, env=env)
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


def test_a_reference_without_an_id_says_so(tmp_path: Path) -> None:
    name = providers()[0]
    empty = kling("status", f"{name}:", cwd=tmp_path)
    assert empty.returncode == 2 and f"[{name}] job_id: is empty" in empty.stderr, empty.stderr
    assert "names no provider" not in empty.stderr
    bare = kling("cancel", name, cwd=tmp_path)
    assert bare.returncode == 2 and f"names a provider but no job: write it as {name}:<id>" in bare.stderr, bare.stderr


def test_status_saves_the_video_of_a_finished_job(fake: FakeServer, tmp_path: Path) -> None:
    name = first(serving(TEXT), "serves text-to-video")
    env = key_env(name, fake)
    submitted = kling("text-to-video", "a cat", "-p", name, "--no-wait", cwd=tmp_path, env=env)
    ref = submitted.stdout.strip()
    job_id = ref.split(":", 1)[1]
    fake.app.jobs[(name, job_id)].created -= 10  # let it finish now
    done = kling("status", job_id, "-p", name, "-o", "later.mp4", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout and (tmp_path / "later.mp4").read_bytes() == fake.app.video


def _bad_inputs() -> list[tuple[list[str], int, str]]:
    """Arguments that must exit 2 before any request, and what the message says."""
    found: list[tuple[list[str], int, str]] = []
    found += [
        (["text-to-video", "x", "-p", name], 2, f"{name} does not serve text-to-video")
        for name in not_serving(TEXT)[:1]
    ]
    for task in (TEXT, IMAGE):  # --voice-id exists where some provider takes voice ids; elsewhere it is unknown
        image = ["--image", "https://example.com/a.png"] if task == IMAGE else []
        said = "does not support voice_ids" if serving(task, "voice_ids") else "No such option: --voice-id"
        found += [([task, "x", *image, "-p", name, "--voice-id", "v1"], 2, said)
                  for name in not_serving(task, "voice_ids")[:1]]  # fmt: skip
    for name in serving(TEXT)[:1]:
        found += [
            (["text-to-video", "x", "-p", name, "--duration", "7"], 2, "duration"),
            (["text-to-video", "x", "-p", name, "--param", "seed"], 2, "NAME=VALUE"),
        ]
    found += [(["image-to-video", "x", "--image", "missing.png", "-p", name], 2, "neither a URL nor an existing file")
              for name in serving(IMAGE)[:1]]  # fmt: skip
    found += [
        (["text-to-video", "x", "-p", "not-a-provider"], 2, "unknown provider"),
        (["status", "1234"], 2, "provider:id"),
    ]
    return found


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("args", "code", "message"), _bad_inputs())
def test_bad_input_exits_2_before_any_request(
    fake: FakeServer, args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name, url in fake.base_urls.items():
        monkeypatch.setenv(base_url_env(name), url)
    assert main(args) == code
    assert message in " ".join(capsys.readouterr().err.split())
    assert sum(fake.app.calls.values()) == 0


def test_exit_codes_for_refused_failed_and_unknown(
    fake: FakeServer, keys: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = first(serving(TEXT), "serves text-to-video")
    env = provider(name).auth.env
    base = ["--base-url", fake.base_url(name), "-p", name, "--poll-interval", "0.05"]
    monkeypatch.setenv(env, "wrong-key")
    assert main(["text-to-video", "x", *base]) == 3  # refused: no job exists
    monkeypatch.setenv(env, API_KEY)
    fake.app.inject(name, "submit", fail_generation=True, times=1)
    assert main(["text-to-video", "x", *base]) == 1  # the job ran and failed
    fake.app.inject(name, "submit", status=500, times=1)
    assert main(["text-to-video", "y", *base]) == 4  # the outcome is unknown: never resubmitted
    assert main(["text-to-video", "z", *base, "--deadline", "0.1"]) == 5  # still running
    err = capsys.readouterr().err
    assert f"kling wait {name}:" in err  # the job reference is never lost, with the command that follows it
    assert "wrong-key" not in err
    for variable in ENV_KEYS:
        monkeypatch.delenv(variable, raising=False)
    assert main(["text-to-video", "x"]) == 2  # no provider chosen, no key set
    message = " ".join(capsys.readouterr().err.split())
    would_do = [provider(p).auth.env for p in servers(DEFAULT_MODEL, TEXT)]
    assert would_do and all(variable in message for variable in would_do)  # it says which keys would do


def test_providers_lists_capabilities(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["providers", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)  # model -> provider -> task -> parameter -> allowed
    for name, model in units(has_mapping):
        for task in (TEXT, IMAGE):
            served = table.get(model, {}).get(name, {})
            assert (task in served) is bool(unified_fields(name, task, model))
            if task in served:
                assert set(served[task]) == set(unified_fields(name, task, model))
    assert main(["providers"]) == 0
    shown = capsys.readouterr().out
    unserved = [(n, m, t) for n, m in units(has_mapping) for t in (TEXT, IMAGE) if not unified_fields(n, t, m)]
    assert ("(task not served)" in shown) is bool(unserved)
    assert all(model in shown for model in table)
    assert all(variable in shown for variable in ENV_KEYS)


@pytest.mark.parametrize(("args", "shows"), [([], "title"), (["text-to-video"], "name"), (["batch"], "name")])
def test_the_help_names_every_provider_of_the_manifest(args: list[str], shows: str) -> None:
    done = subprocess.run([sys.executable, "-m", "kling_sdk.cli", *args, "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "400"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    help_text = " ".join(done.stdout.split())
    for name in providers():
        assert (provider(name).title if shows == "title" else name) in help_text, name


@pytest.mark.parametrize("argv", [["--no-such-option"], ["no-such-command"], ["text-to-video"], ["status"]])
def test_a_usage_error_is_a_message_and_exit_2_not_a_traceback(argv: list[str], tmp_path: Path) -> None:
    done = kling(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip(), "a usage error says what is wrong"
