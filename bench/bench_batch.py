"""`kling batch` against the fake provider: wall time of 200 jobs, and what the journal costs.

    python bench/bench_batch.py [--jobs 200] [--concurrency 16]

1. faults: the batch as a process (start-up included) with the faults of tests/test_batch.py: 15 rate limits on
   submit, 4 generation failures, 20 failed + 10 dropped status checks, 6 truncated downloads.
2. journal: the same jobs without faults, `kling batch` (SQLite journal, a commit before and after every submit)
   against a bare asyncio loop of `AsyncKling.run()` + `download()` with the same concurrency and no journal.
   Goal: the journal costs <= 1.2x.

Jobs last 0.6 s on the fake (0.2 s queued, 0.4 s running) and are polled every 0.05 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kling_sdk._runtime.jobs import PollPolicy
from kling_sdk.testing import FakeServer, serve
from kling_sdk.unified import AsyncKling, TextToVideo

PROVIDER = "oxen"
KEY = "bench-key"
POLL = 0.05


def write_jobs(folder: Path, count: int) -> Path:
    jobs = folder / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"prompt": f"shot {n}"}) + "\n" for n in range(count)))
    return jobs


def run_cli(fake: FakeServer, jobs: Path, out: Path, concurrency: int) -> tuple[float, int]:
    command = [
        sys.executable, "-m", "kling_sdk.cli", "batch", str(jobs), "--out", str(out), "-p", PROVIDER,
        "--base-url", fake.base_url(PROVIDER), "--concurrency", str(concurrency), "--poll-interval", str(POLL), "-q",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "OXEN_API_KEY": KEY}, check=False)
    return time.perf_counter() - started, done.returncode


async def bare_loop(fake: FakeServer, count: int, out: Path, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    policy = PollPolicy(initial=POLL, cap=POLL)
    started = time.perf_counter()
    async with AsyncKling(PROVIDER, api_keys={PROVIDER: KEY}, base_url=fake.base_url(PROVIDER)) as kling:

        async def one(n: int) -> None:
            async with gate:
                result = await kling.run(TextToVideo(prompt=f"shot {n}"), poll=policy, stream=False)
                await kling.download(result, out / f"{n}.mp4")

        await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve(queued=0.2, running=0.4, tick=0.1, api_key=KEY) as fake:
        folder = Path(tmp)
        jobs = write_jobs(folder, args.jobs)
        app = fake.app
        app.inject(PROVIDER, "submit", status=429, retry_after=0.05, times=15)
        app.inject(PROVIDER, "submit", fail_generation=True, times=4)
        app.inject(PROVIDER, "status", status=503, times=20)
        app.inject(PROVIDER, "status", drop=True, times=10)
        app.inject(PROVIDER, "download", truncate=2000, times=6)
        seconds, code = run_cli(fake, jobs, folder / "faults", args.concurrency)
        submits = sum(app.submit_counts().values())
        print(f"faults: {args.jobs} jobs in {seconds:.1f} s (exit {code}), {submits} submits")

        app.reset()
        journalled, _ = run_cli(fake, jobs, folder / "journal", args.concurrency)
        app.reset()
        (folder / "bare").mkdir()
        bare = asyncio.run(bare_loop(fake, args.jobs, folder / "bare", args.concurrency))
        print(
            f"journal: kling batch {journalled:.1f} s, bare AsyncKling loop {bare:.1f} s, "
            f"ratio {journalled / bare:.2f}x (goal <= 1.2x; the batch figure includes process start)"
        )


if __name__ == "__main__":
    main()
