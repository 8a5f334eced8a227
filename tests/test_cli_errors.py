"""What the `kling` command says when something fails, its exit codes, and following a job by reference (issue 17)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import API_KEY
from manifest_support import (
    base_url_env,
    can_cancel,
    protocol,
    provider,
    providers,
    serving,
    unified_fields,
    with_fact,
)
from test_cli import ENV_KEYS, IMAGE, TEXT, first, key_env, kling
from test_inputs import png

from kling_sdk.cli import main
from kling_sdk.cli.app import default_output
from kling_sdk.cli.messages import ExitCode, flag_for
from kling_sdk.testing import FakeServer
from kling_sdk.unified import capabilities

LIVE_TIMING = {"queued": 0.3, "running": 1.2, "tick": 0.1}


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def task_args(name: str) -> list[str]:
    """A request the provider serves: text-to-video where it can, else image-to-video from a URL."""
    if name in serving(TEXT):
        return [TEXT, "a fox"]
    return [IMAGE, "a fox", "--image", "https://example.com/a.png"]


# ---------------------------------------------------------------------------------------------- item 3: who, where, what next
@pytest.mark.parametrize("name", with_fact(lambda p: p.name in serving(TEXT) + serving(IMAGE), "serves a task"))
def test_a_rejected_key_names_the_provider_and_its_variable(
    fake: FakeServer, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(provider(name).auth.env, "wrong-key")
    assert main([*task_args(name), "-p", name, "--base-url", fake.base_url(name), "-q"]) == ExitCode.REFUSED
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: {name} rejected the key (HTTP 401"), line
    assert line.endswith(f": check {provider(name).auth.env}") or f": check {provider(name).auth.env}" in line, line
    assert "error:  " not in line and "HTTP 401 401" not in line and "wrong-key" not in line


def test_an_unreachable_provider_names_host_port_and_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = first(serving(TEXT) + serving(IMAGE), "serves a task")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(provider(name).auth.env, API_KEY)
    code = main([*task_args(name), "-p", name, "--base-url", f"http://127.0.0.1:{port}/x", "-q"])
    assert code == ExitCode.REFUSED
    [line] = error_lines(capsys.readouterr().err)
    assert (
        line == f"error: cannot reach 127.0.0.1:{port} (connection refused): check {base_url_env(name)} or --base-url"
    )


def test_no_key_names_the_variable_before_anything_is_sent(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = first(serving(TEXT) + serving(IMAGE), "serves a task")
    monkeypatch.chdir(tmp_path)
    for variable in ENV_KEYS:
        monkeypatch.delenv(variable, raising=False)
    assert main([*task_args(name), "-p", name, "--base-url", fake.base_url(name)]) == ExitCode.USAGE
    assert error_lines(capsys.readouterr().err) == [
        f"error: no API key for {name}: set {provider(name).auth.env} (nothing was sent)"
    ]
    assert sum(fake.app.calls.values()) == 0


@pytest.mark.parametrize(
    "name", with_fact(lambda p: p.name in serving(IMAGE) and p.files.mode == "url", "takes image URLs only")
)
def test_errors_name_the_flag_typed_not_the_wire_field(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(provider(name).auth.env, API_KEY)
    (tmp_path / "photo.png").write_bytes(png(400, 400))
    assert main([IMAGE, "x", "--image", "photo.png", "-p", name]) == ExitCode.USAGE
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith("error: --image: "), line
    wire = unified_fields(name, IMAGE)["start_image"]
    assert wire == "start_image" or wire not in line, line


def test_flags_are_derived_from_the_adapters() -> None:
    for name in providers():
        for task in (TEXT, IMAGE):
            for param, wire in unified_fields(name, task).items():
                assert flag_for(wire, name, task) == flag_for(param), (name, task, wire)
    assert flag_for("start_image") == "--image" and flag_for("negative_prompt") == "--negative-prompt"


# ---------------------------------------------------------------------------------------------- item 4: cancel, unknown ids
@pytest.mark.parametrize("name", with_fact(lambda p: p.name in serving(TEXT) and can_cancel(p), "can cancel"))
def test_cancelling_a_finished_job_says_there_is_nothing_to_cancel(fake: FakeServer, tmp_path: Path, name: str) -> None:
    env = key_env(name, fake)
    submitted = kling(TEXT, "done soon", "-p", name, "--no-wait", cwd=tmp_path, env=env)
    ref = submitted.stdout.strip()
    fake.app.jobs[(name, ref.split(":", 1)[1])].created -= 100  # it has finished
    done = kling("cancel", ref, cwd=tmp_path, env=env)
    assert done.returncode == ExitCode.FAILED, done.stderr
    [line] = error_lines(done.stderr)
    assert line.startswith("error: job already finished: nothing to cancel"), line
    refusal = protocol(name)["errors"].get("already_completed")
    if refusal is not None:  # the provider refuses with a body: it is kept, not "HTTP 400: HTTP 400"
        assert json.dumps(refusal["body"]) in line, line
    assert "HTTP 400: HTTP 400" not in line


@pytest.mark.parametrize("command", ["status", "cancel", "wait"])
def test_an_unknown_job_id_is_a_bad_argument_not_a_refused_submit(
    fake: FakeServer, tmp_path: Path, command: str
) -> None:
    name = first(providers(lambda p: p.name in serving(TEXT) and can_cancel(p)), "can cancel")
    done = kling(command, f"{name}:no-such-job-0000", cwd=tmp_path, env=key_env(name, fake))
    assert done.returncode == ExitCode.USAGE, done.stderr
    [line] = error_lines(done.stderr)
    assert line.startswith(f"error: {name} knows no job {name}:no-such-job-0000 (HTTP 404"), line


# ---------------------------------------------------------------------------------------------- item 5: wait, status -o
def test_status_o_on_an_unfinished_job_exits_5_and_wait_saves_it(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = first(serving(TEXT), "serves text-to-video")
    env = key_env(name, fake)
    monkeypatch.setattr(fake.app, "running", 600.0)  # unfinished through the status call, on a loaded machine
    ref = kling(TEXT, "slow", "-p", name, "--no-wait", cwd=tmp_path, env=env).stdout.strip()
    shown = kling("status", ref, "-o", "later.mp4", cwd=tmp_path, env=env)
    assert shown.returncode == ExitCode.UNFINISHED, shown.stderr
    assert f"kling wait {ref} -o later.mp4" in shown.stderr and not (tmp_path / "later.mp4").exists()
    job = fake.app.jobs[(name, ref.split(":", 1)[1])]
    job.running = 1.0  # it ends while `wait` follows it
    waited = kling("wait", ref, "-o", "later.mp4", "--poll-interval", "0.1", "--json", cwd=tmp_path, env=env)
    assert waited.returncode == ExitCode.OK, waited.stderr
    assert json.loads(waited.stdout) | {"url": None} == {"job": ref, "state": "succeeded", "file": "later.mp4",
                                                         "url": None}  # fmt: skip
    assert (tmp_path / "later.mp4").read_bytes() == fake.app.video
    assert list(fake.app.submit_counts(name).values()) == [1]


# ---------------------------------------------------------------------------------------------- item 10: the smaller ones
def test_voice_id_is_offered_only_where_some_provider_takes_it() -> None:
    for task in (TEXT, IMAGE):
        done = subprocess.run([sys.executable, "-m", "kling_sdk.cli", task, "--help"], capture_output=True, text=True,
                              timeout=60, env={"COLUMNS": "200", "PATH": ""})  # fmt: skip
        taken = any(
            "voice_ids" in tasks.get(task, {}) for served in capabilities().values() for tasks in served.values()
        )
        assert ("--voice-id" in done.stdout) is taken, (task, done.stdout)


@pytest.mark.parametrize("command", [TEXT, IMAGE, "status", "wait", "cancel", "batch", "providers"])
def test_help_reads_plainly(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "kling_sdk.cli", command, "--help"], capture_output=True, text=True,
                          timeout=60, env={"COLUMNS": "200", "PATH": ""})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not re.search(r"<list\[|\{[a-z_]+\}|\{'", done.stdout), done.stdout
    if command in ("status", "wait", "cancel"):
        assert "failover" not in done.stdout and "preference" not in done.stdout


@pytest.mark.parametrize(
    ("job_id", "name"),
    [
        ("0a0062fd-3c0f-48db-b6dd-27e9d6ea7f07:klingai/video-v2-6-pro-image-to-video", "0a0062fd-3c0f-48db-b6dd-27e9d6ea7f07"),
        ("6d5fbbbd-1111-2222-3333-444455556666", "6d5fbbbd-1111-2222-3333-444455556666"),
        ("../../etc/passwd", "etc"),
        ("x" * 100, "x" * 40),
    ],
)  # fmt: skip
def test_the_default_file_name_is_short_and_safe(job_id: str, name: str) -> None:
    class Job:
        provider = "p"
        id = job_id

    assert default_output(Job()) == Path(f"p-{name}.mp4")  # type: ignore[arg-type]


def test_the_serve_banner_says_which_key_works(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "kling_sdk.testing", "serve", "--port", "0", "--log-level", "warning"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(len(providers()) + 4)]
        process.terminate()
    [keys] = [line for line in lines if line.split()[:1] == ["keys"]]
    assert "any non-empty key works" in keys
    assert all(f"{variable}=" in keys for variable in ENV_KEYS), keys
    assert any("demo --server http://" in line for line in lines), lines


def test_the_demo_uses_a_running_serve(fake: FakeServer, tmp_path: Path) -> None:
    names = [name for name in providers() if name in fake.app.protocols]
    done = subprocess.run(
        [sys.executable, "-m", "kling_sdk.testing", "demo", "--server", fake.url, "--api-key", API_KEY, "--out",
         str(tmp_path)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"using the fake providers running on {fake.url}" in done.stdout
    models = sum(len(fake.app.protocols[name]["models"]) for name in names)
    assert sum(sum(fake.app.submit_counts(name).values()) for name in names) == models  # one job per model, here
