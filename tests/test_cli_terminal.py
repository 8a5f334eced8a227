"""The `kling` command on a real pseudo-terminal against the fake: what the screen shows while a job is queued, running
(the provider's log line), downloading (a byte count), and what Ctrl-C leaves (issue 17, items 1 and 6)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import API_KEY
from manifest_support import base_url_env, job_field, protocol, provider, providers, serving, stream_kind
from test_cli import ENV_KEYS, TEXT, kling

from kling_sdk.testing import FakeServer

LIVE_TIMING = {"queued": 4.0, "running": 4.0, "tick": 0.1}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
PATIENCE = 90.0  # seconds a screen may take to show something on a loaded machine


class Terminal:
    """A process on its own pseudo-terminal (its controlling terminal, so ^C is SIGINT); the screen read as text."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))

        def controlling() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                                        preexec_fn=controlling, close_fds=True)  # fmt: skip
        os.close(slave)
        self.raw = b""

    @property
    def screen(self) -> str:
        """Everything drawn so far, escape sequences removed."""
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process ended and closed its side
                    return
                if not chunk:
                    return
                self.raw += chunk

    def wait_for(self, pattern: str, since: int = 0) -> re.Match[str]:
        """The first match of `pattern` on the screen after position `since`; fails after PATIENCE seconds."""
        end = time.monotonic() + PATIENCE
        while time.monotonic() < end:
            found = re.compile(pattern).search(self.screen, since)
            if found:
                return found
            if self.process.poll() is not None:
                self.read(0.5)
                found = re.compile(pattern).search(self.screen, since)
                if found:
                    return found
                break
            self.read(0.3)
        raise AssertionError(f"the screen never showed {pattern!r}:\n{self.screen[-3000:]}")

    def finish(self) -> int:
        """Read to the end; the exit code."""
        end = time.monotonic() + PATIENCE
        while self.process.poll() is None and time.monotonic() < end:
            self.read(0.3)
        self.read(0.5)
        os.close(self.master)
        return self.process.wait(10)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


def environment(name: str, fake: FakeServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and not k.endswith("_BASE_URL")}
    for variable in ("COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TERM"):
        env.pop(variable, None)
    env.update({"TERM": "xterm-256color", provider(name).auth.env: API_KEY, base_url_env(name): fake.base_url(name)})
    return env


def logging_provider() -> str:
    """A provider serving text-to-video whose status carries log lines the fake fills in (not a user-wide stream)."""
    found = providers(lambda p: p.name in serving(TEXT) and protocol(p.name)["logs"] and stream_kind(p) != "events")
    if not found:
        pytest.skip("no provider in the manifest serves text-to-video with log lines")
    return found[0]


def test_one_job_on_a_terminal_shows_queued_running_with_its_log_and_a_byte_count(
    fake: FakeServer, tmp_path: Path
) -> None:
    name = logging_provider()
    fake.app.inject(name, "download", stall=6.0)  # half the video, then a pause: the byte bar is seen mid-way
    argv = [sys.executable, "-m", "kling_sdk.cli", TEXT, "a fox", "-p", name, "-o", "clip.mp4",
            "--poll-interval", "0.2"]  # fmt: skip
    term = Terminal(argv, tmp_path, environment(name, fake))
    try:
        submitted = term.wait_for(rf"submitted {name}:(\S+)")
        ref = f"{name}:{submitted[1]}"
        position = r" \(position \d+\)" if job_field(provider(name), "queue_position") else ""
        queued = term.wait_for(rf"queued{position} +\d+s +" + re.escape(ref), submitted.end())  # the live line
        running = term.wait_for(r"running +\d+s +" + re.escape(ref) + r" +running: \d+%", queued.end())  # its log line
        half = len(fake.app.video) // 2
        term.wait_for(r"downloading +\d+s +\S+ +" + f"{half:,}/{len(fake.app.video):,} bytes", running.end())  # a bar
        assert term.finish() == 0, term.screen
    finally:
        term.kill()
    assert f"saved clip.mp4 ({len(fake.app.video):,} bytes)" in term.screen
    assert (tmp_path / "clip.mp4").read_bytes() == fake.app.video


def test_a_batch_on_a_terminal_shows_a_live_table_and_ctrl_c_leaves_a_resumable_run(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = logging_provider()
    monkeypatch.setattr(fake.app, "queued", 600.0)  # the jobs stay at the provider through the interrupt
    lines = [{"task": TEXT, "prompt": f"line {n}"} for n in (1, 2)]
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    argv = [sys.executable, "-m", "kling_sdk.cli", "batch", "jobs.jsonl", "--out", "runs", "-p", name,
            "--concurrency", "2", "--poll-interval", "0.2"]  # fmt: skip
    term = Terminal(argv, tmp_path, environment(name, fake))
    try:
        start = term.wait_for(r"batch: 2 lines: ")  # the summary, from the start
        for line in (1, 2):  # each line in the table: its state, provider and job reference
            term.wait_for(rf"\b{line} +queued(?: \(position \d+\))? +{name} +{name}:\S+ +\d+s", start.start())
        assert sum(fake.app.submit_counts(name).values()) == 2
        os.write(term.master, b"\x03")  # Ctrl-C, through the terminal
        term.wait_for(r"interrupted: 2 jobs keep running; rerun the same command to resume")
        assert term.finish() == 130, term.screen
    finally:
        term.kill()
    report = json.loads((tmp_path / "runs" / "report.json").read_text())
    assert [entry["state"] for entry in report["unfinished"]] == ["accepted", "accepted"]
    for job in fake.app.jobs.values():
        job.created -= 1000  # they finish while nobody watches
    again = kling("batch", "jobs.jsonl", "--out", "runs", "-p", name, "--poll-interval", "0.2", cwd=tmp_path,
                  env={provider(name).auth.env: API_KEY, base_url_env(name): fake.base_url(name)})  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert sorted(fake.app.submit_counts(name).values()) == [1, 1]  # the rerun submitted nothing new
    assert len(json.loads((tmp_path / "runs" / "report.json").read_text())["files"]) == 2


def test_the_readme_picture_of_the_live_display_is_made_by_its_script(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "live.svg"
    done = subprocess.run([sys.executable, str(root / "scripts" / "live_display_svg.py"), "--out", str(target)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    drawn = target.read_text(encoding="utf-8")
    assert drawn.startswith("<svg") and "running:&#160;42%" in drawn and "batch:&#160;5&#160;lines" in drawn
    assert "docs/live-display.svg" in (root / "README.md").read_text(encoding="utf-8")
    assert (root / "docs" / "live-display.svg").read_text(encoding="utf-8").startswith("<svg")
