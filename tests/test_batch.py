"""`kling batch`: bounded concurrency through the async client, a SQLite journal, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import API_KEY
from manifest_support import has_fake, not_serving, provider, providers, serving

from kling_sdk.cli.journal import Journal, JournalMismatchError
from kling_sdk.testing import FakeServer
from kling_sdk.unified import TextToVideo

TEXT = TextToVideo(prompt="x").task
# A provider that lists its jobs (Oxen: [jobs] lookup), so a submit whose answer died with the process is found again;
# and one that lists nothing, where such a submit stays in doubt.
LISTING = [p for p in providers(lambda d: d.jobs and d.jobs.lookup and has_fake(d)) if p in serving(TEXT)]
UNLISTED = [p for p in providers(lambda d: d.jobs and not d.jobs.lookup and has_fake(d)) if p in serving(TEXT)]
PROVIDER = LISTING[0] if LISTING else None
LINES = 200
KEYS = {provider(name).auth.env: API_KEY for name in providers()}
needs_listing = pytest.mark.skipif(PROVIDER is None, reason="no provider in the manifest lists its jobs")


LIVE_TIMING = {"queued": 0.2, "running": 0.4, "tick": 0.1}  # seconds each job stays queued / runs on the real-time fake


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


def write_jobs(path: Path, count: int) -> Path:
    with path.open("w") as out:
        for n in range(count):
            line = {"prompt": f"shot {n}: a paper boat on a river", "duration": 5 if n % 3 else 10}
            out.write(json.dumps(line) + "\n")
    return path


def batch_command(jobs: Path, out: Path, fake: FakeServer, *extra: str, provider: str | None = PROVIDER) -> list[str]:
    assert provider is not None
    return [
        sys.executable, "-m", "kling_sdk.cli", "batch", str(jobs), "--out", str(out), "--provider", provider,
        "--base-url", fake.base_url(provider), "--concurrency", "16", "--poll-interval", "0.05",
        "--timeout", "2", *extra,  # the fake answers in milliseconds: a lost submit is known lost after 2 s
    ]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, **KEYS, "COLUMNS": "120"}


def states(out: Path) -> dict[str, int]:
    with sqlite3.connect(out / "journal.sqlite") as db:
        return dict(db.execute("SELECT state, count(*) FROM lines GROUP BY state").fetchall())


@needs_listing
def test_200_jobs_killed_twice_at_random_moments_are_each_submitted_exactly_once(
    fake: FakeServer, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    jobs = write_jobs(tmp_path / "jobs.jsonl", LINES)
    out = tmp_path / "out"
    app = fake.app
    app.inject(PROVIDER, "submit", status=429, retry_after=0.05, times=15)
    app.inject(PROVIDER, "submit", fail_generation=True, times=4)
    app.inject(PROVIDER, "status", status=503, times=20)
    app.inject(PROVIDER, "status", drop=True, times=10)
    app.inject(PROVIDER, "download", truncate=2000, times=6)
    command = batch_command(jobs, out, fake)
    kills = []
    for _ in range(2):
        process = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moment = rng.uniform(0.8, 4.0)
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        kills.append((round(moment, 2), states(out)))
    assert all(sum(n for state, n in seen.items() if state != "succeeded") for _, seen in kills), kills  # mid-run
    done = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=300)
    context = f"seed {seed}, kills {kills}\n{done.stderr[-3000:]}"
    report = json.loads((out / "report.json").read_text())
    submits = app.submit_counts(PROVIDER)
    assert sum(submits.values()) == LINES, context  # the fake's submit counter: one per line
    assert sorted(set(submits.values())) == [1], context  # ... and no body twice
    assert report["states"]["succeeded"] == LINES - 4 and report["states"]["failed"] == 4, context
    assert done.returncode == 1, context  # some lines failed (the injected generation failures)
    assert all(item["error"] for item in report["failed"])
    assert len(report["files"]) == LINES - 4
    for file in report["files"]:
        assert Path(file).read_bytes() == app.video
    assert not list(out.glob("*.part"))
    # a rerun has nothing left to do
    again = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and sum(app.submit_counts(PROVIDER).values()) == LINES


@needs_listing
def test_a_second_batch_on_the_same_out_refuses_at_once_naming_the_run_that_holds_it(
    fake: FakeServer, tmp_path: Path
) -> None:
    lines = 40
    jobs = write_jobs(tmp_path / "jobs.jsonl", lines)
    out = tmp_path / "out"
    fake.app.inject(PROVIDER, "submit", latency=2.0, times=16)  # the first run is busy for a while
    command = batch_command(jobs, out, fake, "--timeout", "5")
    first = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    waited = time.monotonic()
    while fake.app.count(PROVIDER, "submit") == 0 and time.monotonic() - waited < 30:
        time.sleep(0.02)
    started = time.monotonic()
    second = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=60)
    refused_in = time.monotonic() - started
    assert first.poll() is None, "the first run ended before the second could be refused"
    message = " ".join(second.stderr.split())
    assert second.returncode == 2, message
    assert f"pid {first.pid}" in message and socket.gethostname() in message and "since" in message, message
    assert refused_in < 10
    assert first.wait(120) == 0, first.stderr.read() if first.stderr else ""
    if first.stderr:
        first.stderr.close()
    submits = fake.app.submit_counts(PROVIDER)
    assert sum(submits.values()) == lines and sorted(set(submits.values())) == [1]  # nothing was sent twice


def test_the_journal_lock_is_exclusive_and_dies_with_its_process(tmp_path: Path) -> None:
    from kling_sdk.cli.journal import JournalBusyError, JournalLock

    with JournalLock(tmp_path) as held:
        with pytest.raises(JournalBusyError, match=f"pid {os.getpid()}"):
            JournalLock(tmp_path).acquire()
        assert held.holder["pid"] == os.getpid()
    JournalLock(tmp_path).acquire().release()  # released: free again
    # a process killed while holding it leaves the file but not the lock
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from kling_sdk.cli.journal import JournalLock;"
         f" lock = JournalLock(Path({str(tmp_path)!r})).acquire(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(JournalBusyError, match=f"pid {holder.pid}"):
        JournalLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    holder.stdout.close()
    assert str(holder.pid) in (tmp_path / "journal.lock").read_text()  # the stale record is still there ...
    with JournalLock(tmp_path) as taken:  # ... and does not block
        assert taken.holder["pid"] == os.getpid()


@needs_listing
def test_a_lost_answer_is_found_in_the_providers_list_and_a_lost_request_is_resent(
    fake: FakeServer, tmp_path: Path
) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 4)
    out = tmp_path / "out"
    fake.app.inject(PROVIDER, "submit", drop=True, times=1)  # the job is made, its answer never arrives
    fake.app.inject(PROVIDER, "submit", status=500, times=1)  # no job is made, but the client cannot know
    done = subprocess.run(batch_command(jobs, out, fake), env=environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    messages = " ".join(done.stderr.split())
    assert "found the job of the lost submit" in messages and "never arrived; submitting again" in messages
    # the fake counts the submits that made a job: the dropped one once, the refused one only when resent
    assert sorted(fake.app.submit_counts(PROVIDER).values()) == [1, 1, 1, 1]
    assert fake.app.count(PROVIDER, "submit") == 4 + 1
    assert json.loads((out / "report.json").read_text())["states"]["succeeded"] == 4


@needs_listing
def test_a_slow_accept_cut_off_by_a_kill_is_found_and_never_submitted_twice(fake: FakeServer, tmp_path: Path) -> None:
    lines = 3
    jobs = write_jobs(tmp_path / "jobs.jsonl", lines)
    out = tmp_path / "out"
    fake.app.inject(PROVIDER, "submit", latency=3.0, times=lines)  # the provider takes 3 s to accept each submit
    command = batch_command(jobs, out, fake, "--timeout", "4")
    first = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waited = time.monotonic()
    while fake.app.count(PROVIDER, "submit") < lines and time.monotonic() - waited < 30:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # every submit is on its way; none has been accepted yet
    first.wait(30)
    assert fake.app.jobs == {} and set(states(out)) == {"submitting"}
    done = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)  # resume at once
    assert done.returncode == 0, done.stderr
    assert fake.app.count(PROVIDER, "submit") == lines, done.stderr  # not one submit request more
    time.sleep(max(0.0, waited + 3.5 - time.monotonic()))  # by now every submit that was on its way has landed
    assert sorted(fake.app.submit_counts(PROVIDER).values()) == [1] * lines  # one job per line
    report = json.loads((out / "report.json").read_text())
    assert [len(item["jobs"]) for item in report["jobs"]] == [1] * lines and report["duplicates"] == []


@needs_listing
def test_a_line_with_two_jobs_is_reported_never_hidden(fake: FakeServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    out = tmp_path / "out"
    command = batch_command(jobs, out, fake, "--timeout", "1")
    fake.app.inject(PROVIDER, "submit", drop=True, times=1)  # the job is made, its answer never arrives ...
    # ... and the list shows it only much later than the provider says: absence is "proven" wrongly. The lag outlasts
    # the first run whatever the machine's speed; it ends before the rerun.
    fake.app.list_lag = 3600.0
    try:
        first = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert sum(fake.app.submit_counts(PROVIDER).values()) == 3  # line 1 twice
    finally:
        fake.app.list_lag = 0.0
    again = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)  # looks again
    assert again.returncode == 0, again.stderr
    report = json.loads((out / "report.json").read_text())
    twice = {job.id for job in fake.app.jobs.values()} - {item["job"].split(":", 1)[1] for item in report["jobs"][1:]}
    assert [(item["line"], sorted(ref.split(":", 1)[1] for ref in item["jobs"])) for item in report["duplicates"]] == [
        (1, sorted(twice))
    ]
    assert "has 2 jobs at the provider" in " ".join(again.stderr.split())
    assert sum(fake.app.submit_counts(PROVIDER).values()) == 3  # the rerun sent nothing


@pytest.mark.parametrize(
    "name", UNLISTED[:1] or [pytest.param(None, marks=pytest.mark.skip(reason="every provider lists its jobs"))]
)
def test_where_jobs_cannot_be_listed_a_lost_submit_stays_in_doubt(fake: FakeServer, tmp_path: Path, name: str) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    out = tmp_path / "out"
    fake.app.inject(name, "submit", status=500, times=1)
    command = batch_command(jobs, out, fake, provider=name)
    first = subprocess.run(command, env=environment(), capture_output=True, text=True)
    assert first.returncode == 4, first.stderr
    assert len(json.loads((out / "report.json").read_text())["in_doubt"]) == 1
    assert "--resubmit-in-doubt" in first.stderr
    second = subprocess.run(command, env=environment(), capture_output=True, text=True)
    assert second.returncode == 4 and fake.app.count(name, "submit") == 3  # the in-doubt line was not sent again
    forced = subprocess.run([*command, "--resubmit-in-doubt"], env=environment(), capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    assert fake.app.count(name, "submit") == 4 and sum(fake.app.submit_counts(name).values()) == 3


def test_bad_lines_stop_the_batch_before_anything_is_sent(fake: FakeServer, tmp_path: Path) -> None:
    unable = [p for p in not_serving(TEXT, "voice_ids") if has_fake(provider(p))]
    if not unable:
        pytest.skip("every provider takes voice ids for text-to-video")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        '{"prompt": "ok"}\n{"prompt": "x", "duration": 7}\nnot json\n{"task": "text-to-video", "prompt": "v", "voice_ids": ["a"]}\n'
    )
    done = subprocess.run(
        batch_command(jobs, tmp_path / "out", fake, provider=unable[0]),
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    # line 2's duration is one the provider's model refuses: the error names the line, then (provider and) parameter
    assert re.search(r"jobs\.jsonl:2: (\[[^]]+\] )?duration", message), message
    assert "jobs.jsonl:3:" in message and "jobs.jsonl:4:" in message
    assert sum(fake.app.calls.values()) == 0


def test_a_changed_jobs_file_is_refused_by_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.load([(1, '{"prompt": "a"}'), (2, '{"prompt": "b"}')])
    journal.load([(1, '{ "prompt":"a" }'), (2, '{"prompt": "b"}')])  # the same JSON, spelled differently
    with pytest.raises(JournalMismatchError, match="line 2"):
        journal.load([(1, '{"prompt": "a"}'), (2, '{"prompt": "c"}')])
    journal.close()


def test_journal_states_survive_the_process(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.load([(1, '{"prompt": "a"}')])
    journal.submitting(1, "some-provider")
    journal.accepted(1, "some-provider", "job-1", "text-to-video")
    reopened = Journal(tmp_path / "journal.sqlite")  # another connection sees it at once: it is committed
    row = reopened.row(1)
    assert (row.state, row.provider, row.job_id, row.attempts) == ("accepted", "some-provider", "job-1", 1)
    journal.close()
    reopened.close()
