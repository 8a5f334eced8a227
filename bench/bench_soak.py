"""Soak: N jobs across every provider through one AsyncKling at concurrency C, against the fake provider running as a
separate process, with a mix of faults injected over its control endpoint.

    python bench/bench_soak.py [--jobs 1000] [--concurrency 100] [--queued 1] [--running 2]

Prints jobs/s, duplicate submits, lost ids, untyped errors, leftovers (.part files, open jobs) and the peak RSS of the
client and of the fake. Every job has its own prompt, so the fake's per-body submit counter finds any duplicate.

- duplicate submits: bodies the fake received more than once as a job;
- lost ids: jobs the fake holds that the client never got an id for, neither from `on_submitted`, nor from an
  error's `job_id`, nor (for an answer the injected drop cut off) from the provider's job list where it has one;
- in doubt: submits whose answer was lost (injected) at providers that cannot list jobs: reported, not lost by the SDK;
- untyped errors: anything raised that is not a `KlingError`;
- leftovers: `.part` / `.part.json` files in the output folder, jobs still queued or running at the fake at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from kling_sdk._runtime.errors import KlingError, SubmitOutcomeUnknownError
from kling_sdk.testing import load_protocols, sample_video
from kling_sdk.unified import CLIENTS, AsyncKling, ImageToVideo

KEY = "soak-key"
IMAGE = "https://example.com/start.png"


def fault_mix(protocols: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(provider, route, fault) for every provider, from what its protocol has: about 25 faults each."""
    mix: list[tuple[str, str, dict[str, Any]]] = []
    for name, proto in protocols.items():
        kinds = {route["kind"] for route in proto["routes"]}
        limit = proto["rate_limit_status"][-1]
        mix += [(name, "submit", {"status": limit, "retry_after": 0.2, "times": 4, "skip": 5})]
        mix += [(name, "submit", {"status": 502, "times": 2, "skip": 40})]  # refused or not? unknown: in doubt
        mix += [(name, "submit", {"drop": True, "times": 2, "skip": 70})]  # the job is made, its answer lost
        mix += [(name, "submit", {"fail_generation": True, "times": 3, "skip": 20})]
        mix += [(name, "status", {"status": 503, "times": 4, "skip": 30})]
        mix += [(name, "status", {"drop": True, "times": 2, "skip": 60})]
        mix += [(name, "status", {"latency": 3.0, "times": 2, "skip": 90})]
        if proto["stream"]:
            mix += [(name, "stream", {"drop": True, "times": 2, "skip": 10})]
        if "result" in kinds:
            mix += [(name, "result", {"status": 500, "times": 1, "skip": 15})]
        mix += [(name, "download", {"truncate": 3000, "times": 3, "skip": 25})]
        if "video_size" in json.dumps(proto["documents"]):  # only a stated size can tell an honest cut
            mix += [(name, "download", {"truncate": 3000, "honest": True, "times": 1, "skip": 50})]
    return mix


@dataclass
class Tally:
    started: float = field(default_factory=time.monotonic)
    ids: dict[str, str] = field(default_factory=dict)  # prompt -> job id known to the client
    outcomes: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    in_doubt: dict[str, tuple[str, ImageToVideo]] = field(default_factory=dict)  # prompt -> (provider, request)
    bad_files: int = 0


def start_fake(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "kling_sdk.testing", "serve", "--port", "0", "--queued", str(args.queued),
        "--running", str(args.running), "--tick", "0.2", "--keepalive", "5", "--api-key", KEY, "--log-level", "error",
    ]  # fmt: skip
    fake = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    first = fake.stdout.readline()
    if not first.startswith("fake Kling providers on "):
        raise RuntimeError(f"the fake did not start: {first!r}")
    return fake, first.split()[4]


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, or of this one."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one(kling: AsyncKling, n: int, provider: str, out: Path, tally: Tally, gate: asyncio.Semaphore) -> None:
    prompt = f"soak {n}: a paper boat on a river"
    request = ImageToVideo(prompt=prompt, start_image=IMAGE)
    async with gate:
        try:
            result = await kling.run(
                request, providers=provider, deadline=600,
                on_submitted=lambda job: tally.ids.__setitem__(prompt, job.id),
            )  # fmt: skip
            saved = await kling.download(result, out / f"{n}.mp4")
            tally.bad_files += saved.read_bytes() != sample_video()
            tally.outcomes["succeeded"] += 1
        except SubmitOutcomeUnknownError:
            tally.outcomes["in doubt (answer lost)"] += 1
            tally.in_doubt[prompt] = (provider, request)
        except KlingError as exc:
            tally.outcomes[type(exc).__name__] += 1
            if exc.job_id is not None:
                tally.ids.setdefault(prompt, exc.job_id)
        except Exception as exc:  # what the SDK must never raise
            tally.untyped.append(f"{type(exc).__name__}: {exc}")


async def recover(kling: AsyncKling, tally: Tally) -> int:
    """Look the in-doubt submits up where the provider lists jobs, after the delay that makes absence proof."""
    found = 0
    for prompt, (provider, request) in list(tally.in_doubt.items()):
        wait = kling.lookup_delay(provider)
        if wait is None:
            continue
        await asyncio.sleep(max(0.0, tally.started + wait - time.monotonic()))
        job = await kling.find_submitted(request, provider, since=time.time() - 3600, exclude=set(tally.ids.values()))
        if job is not None:
            tally.ids[prompt] = job.id
            del tally.in_doubt[prompt]
            found += 1
    return found


async def soak(args: argparse.Namespace, origin: str, out: Path) -> tuple[Tally, float, int]:
    protocols = load_protocols()["providers"]
    providers = [name for name in CLIENTS if name in protocols]
    with httpx.Client() as control:
        for provider, route, fault in fault_mix(protocols):
            control.post(
                f"{origin}/_fake/faults", json={"provider": provider, "route": route, "fault": fault}
            ).raise_for_status()
        base_urls = control.get(f"{origin}/_fake/providers").json()
    tally = Tally()
    gate = asyncio.Semaphore(args.concurrency)
    kling = AsyncKling(
        providers, api_keys=dict.fromkeys(providers, KEY), base_urls=base_urls, concurrency=args.concurrency,
        timeout=httpx.Timeout(10.0, connect=5.0),  # loopback: a lost submit is known lost after 10 s
    )  # fmt: skip
    async with kling:
        await asyncio.gather(
            *(one(kling, n, providers[n % len(providers)], out, tally, gate) for n in range(args.jobs))
        )
        seconds = time.monotonic() - tally.started
        recovered = await recover(kling, tally)
    return tally, seconds, recovered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--queued", type=float, default=1.0, help="seconds each job stays queued on the fake")
    parser.add_argument("--running", type=float, default=2.0, help="seconds each job runs on the fake")
    args = parser.parse_args()
    fake, origin = start_fake(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            tally, seconds, recovered = asyncio.run(soak(args, origin, out))
            leftovers = sorted(p.name for p in out.iterdir() if ".part" in p.name)
            with httpx.Client() as control:
                stats = control.get(f"{origin}/_fake/stats").json()
                listed = control.get(f"{origin}/_fake/jobs").json()["jobs"]
            fake_rss = peak_rss_mib(fake.pid)
    finally:
        fake.terminate()
        fake.wait(10)
        if fake.stdout is not None:
            fake.stdout.close()
    faults = sum(f.get("times", 1) for _, _, f in fault_mix(load_protocols()["providers"]))
    duplicates = sum(n - 1 for n in stats["submits"].values() if n > 1)
    prompts = {job["prompt"] for job in listed}
    doubt = set(tally.in_doubt)
    lost = sorted(prompts - set(tally.ids) - doubt)
    still_open = [job for job in listed if job["state"] in ("queued", "running")]
    print(f"soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}): {args.jobs} jobs, concurrency {args.concurrency}, {faults} injected faults, "
          f"jobs {args.queued:g} s queued + {args.running:g} s running")  # fmt: skip
    print(f"  faults fired         {faults - stats['faults_pending']} of {faults}")
    print(f"  wall time            {seconds:.1f} s ({args.jobs / seconds:.1f} jobs/s)")
    print(f"  outcomes             {dict(sorted(tally.outcomes.items()))}")
    submits = sum(v for k, v in stats["calls"].items() if ".submit." in k)
    print(f"  submit requests      {submits}, jobs made {len(listed)}")
    print(f"  duplicate submits    {duplicates}")
    print(f"  lost ids             {len(lost)}{' ' + str(lost[:5]) if lost else ''}")
    with_job, without = len(doubt & prompts), len(doubt - prompts)
    print(f"  lost submit answers  {len(doubt) + recovered}: {recovered} found again in a job list; in doubt "
          f"{with_job} with a job (at providers that list nothing), {without} without one")  # fmt: skip
    print(f"  untyped errors       {len(tally.untyped)}{' ' + str(tally.untyped[:3]) if tally.untyped else ''}")
    print(f"  wrong files          {tally.bad_files}")
    print(f"  leftovers            {len(leftovers)} .part files, {len(still_open)} open jobs at the fake")
    print(f"  peak RSS             client {peak_rss_mib():.0f} MiB, fake {fake_rss:.0f} MiB")


if __name__ == "__main__":
    main()
