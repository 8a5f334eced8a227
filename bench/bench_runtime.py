"""The generated runtime against the bar: per-job overhead, polling cost and notice latency, download memory.

Everything runs against a real HTTP server on loopback (bench/local_server.py, fal's queue protocol):

    python bench/bench_runtime.py [--jobs 200] [--download-gib 1]

1. overhead: `FalClient.run_image_to_video()` (submit + wait + result) against a hand-written minimal httpx
   loop sending the same three requests; the job completes at once, so only client time differs. Goal <= 1.1x.
2. polling: jobs of 30 s, 2 min and 10 min on a virtual clock (each status check is a real request that says
   what time it is); status requests and notice latency of our polling, of our event-stream mode, and of the
   fixed 0.1 s poll loop of fal-client 1.0.3 / sunra-client 0.6.0 (re-enacted: their sleep is real time).
   Goal: >= 50x fewer requests, notice latency <= max(1 s, 10 % of the job).
3. download: peak memory growth while streaming a 1 GiB body to disk, ours against `httpx.get(...).content`.
   Goal <= 32 MiB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_server import serve

from kling_sdk._runtime.base_client import Clock
from kling_sdk.fal import FalClient

KEY = "bench-key-not-a-secret"
SUBMIT = "/fal-ai/kling-video/v2.6/pro/image-to-video"
REQUEST = {"prompt": "a hiker on a summit", "start_image_url": "https://example.com/hiker.png"}


def minimal_loop(http: httpx.Client, base: str) -> str:
    """What a careful user writes by hand: submit, poll until COMPLETED, read the result."""
    headers = {"Authorization": f"Key {KEY}"}
    request_id = http.post(base + SUBMIT, json=REQUEST, headers=headers).json()["request_id"]
    status_url = f"{base}/fal-ai/kling-video/requests/{request_id}/status"
    while http.get(status_url, headers=headers).json()["status"] != "COMPLETED":
        time.sleep(0.1)
    return str(http.get(f"{base}/fal-ai/kling-video/requests/{request_id}", headers=headers).json()["video"]["url"])


def bench_overhead(base: str, jobs: int, rounds: int = 5) -> dict[str, float]:
    ours_times, minimal_times = [], []
    with FalClient(api_key=KEY, base_url=base) as client, httpx.Client() as http:
        for _ in range(20):  # warm both connection pools and imports
            client.run_image_to_video(REQUEST, stream=False)
            minimal_loop(http, base)
        for i in range(rounds):
            # Alternate which side goes first, job by job, so drift in the machine's speed hits both alike.
            ours_total = minimal_total = 0.0
            for j in range(jobs):
                for side in (0, 1) if (i + j) % 2 else (1, 0):
                    start = time.perf_counter()
                    if side:
                        client.run_image_to_video(REQUEST, stream=False)
                        ours_total += time.perf_counter() - start
                    else:
                        minimal_loop(http, base)
                        minimal_total += time.perf_counter() - start
            ours_times.append(ours_total / jobs)
            minimal_times.append(minimal_total / jobs)
    ours, minimal = statistics.median(ours_times), statistics.median(minimal_times)
    return {"ours_ms": ours * 1000, "minimal_ms": minimal * 1000, "ratio": ours / minimal}


class VirtualClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def bench_polling(base: str, app: Any) -> list[dict[str, Any]]:
    clock = VirtualClock()
    hooks = {"request": [lambda request: request.headers.__setitem__("X-Fake-Now", repr(clock.now()))]}
    rows = []
    with httpx.Client(event_hooks=hooks) as http:
        client = FalClient(api_key=KEY, base_url=base, http_client=http)
        client._clock = clock
        headers = {"Authorization": f"Key {KEY}"}
        for seconds in (30, 120, 600):
            job_headers = {"X-Bench-Job-Seconds": str(seconds)}
            row: dict[str, Any] = {"job_s": seconds}
            # ours, polling only
            app.calls.clear()
            job = client.submit_image_to_video(REQUEST, extra_headers=job_headers)
            end = clock.now() + seconds
            client.wait(job, stream=False, deadline=None)
            row["ours_poll_requests"], row["ours_poll_latency_s"] = app.calls["status"], clock.now() - end
            # ours, with fal's status stream (falls back to polling if it drops)
            app.calls.clear()
            job = client.submit_image_to_video(REQUEST, extra_headers=job_headers)
            end = clock.now() + seconds
            status = client.wait(job, deadline=None)
            row["ours_stream_requests"] = app.calls["stream"] + app.calls["status"]
            row["ours_stream_latency_s"] = float(status.document.get("notice_at", clock.now())) - end
            # fal-client / sunra-client: GET status, sleep 0.1 s, repeat until COMPLETED
            app.calls.clear()
            job_id = http.post(base + SUBMIT, json=REQUEST, headers={**headers, **job_headers}).json()["request_id"]
            end = clock.now() + seconds
            url = f"{base}/fal-ai/kling-video/requests/{job_id}/status"
            while http.get(url, headers=headers).json()["status"] != "COMPLETED":
                clock.t += 0.1
            row["fixed_requests"], row["fixed_latency_s"] = app.calls["status"], clock.now() - end
            row["poll_ratio"] = row["fixed_requests"] / row["ours_poll_requests"]
            row["stream_ratio"] = row["fixed_requests"] / row["ours_stream_requests"]
            row["latency_goal_s"] = max(1.0, 0.1 * seconds)
            rows.append(row)
    return rows


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import httpx
from kling_sdk.fal import FalClient
from kling_sdk._runtime.jobs import VideoResult

def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])

base, size, target, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
url = f"{base}/files/{size}"
client = FalClient(api_key="bench-key-not-a-secret", base_url=base)
client.download(VideoResult("warm", "fal", f"{base}/files/1048576", file_size=1048576), target)
httpx.get(f"{base}/files/1048576").content
before = rss_kib("VmRSS:")
start = time.perf_counter()
if mode == "ours":
    client.download(VideoResult("job", "fal", url, file_size=size), target)
else:
    Path(target).write_bytes(httpx.get(url, timeout=600).content)
seconds = time.perf_counter() - start
assert Path(target).stat().st_size == size
print(json.dumps({"growth_mib": (rss_kib("VmHWM:") - before) / 1024, "seconds": seconds}))
"""


def bench_download(base: str, gib: float) -> dict[str, float]:
    size = int(gib * (1 << 30))
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("ours", "naive"):
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, base, str(size), str(Path(tmp) / f"{mode}.mp4"), mode],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(proc.stdout)
            out[f"{mode}_growth_mib"], out[f"{mode}_s"] = result["growth_mib"], result["seconds"]
    out["ratio"] = out["naive_growth_mib"] / max(out["ours_growth_mib"], 0.001)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200, help="jobs per round for the overhead benchmark")
    parser.add_argument("--download-gib", type=float, default=1.0)
    args = parser.parse_args()
    with serve() as (base, app):
        overhead = bench_overhead(base, args.jobs)
        print("1. per-job client overhead (submit + wait + result, job done at once; median of 5 rounds)")
        print(f"   ours {overhead['ours_ms']:.2f} ms/job, minimal httpx loop {overhead['minimal_ms']:.2f} ms/job: "
              f"{overhead['ratio']:.2f}x (goal <= 1.1x)")  # fmt: skip
        print("2. polling: status requests per job and notice latency (virtual clock, real requests)")
        print("   job     fixed 0.1 s          ours, polling                 ours, event stream")
        for r in bench_polling(base, app):
            fixed = f"{r['fixed_requests']:>5} req {r['fixed_latency_s']:5.2f} s"
            poll = f"{r['ours_poll_requests']:>3} req {r['ours_poll_latency_s']:5.2f} s ({r['poll_ratio']:5.1f}x fewer)"
            push = f"{r['ours_stream_requests']:>2} req {r['ours_stream_latency_s']:5.2f} s"
            push += f" ({r['stream_ratio']:6.1f}x fewer)"
            print(f"   {r['job_s']:>4} s  {fixed}   {poll}   {push}   latency goal {r['latency_goal_s']:.0f} s")
        dl = bench_download(base, args.download_gib)
        print(f"3. download of {args.download_gib:g} GiB: peak memory growth ours {dl['ours_growth_mib']:.1f} MiB "
              f"({dl['ours_s']:.1f} s), httpx .content {dl['naive_growth_mib']:.0f} MiB ({dl['naive_s']:.1f} s): "
              f"{dl['ratio']:.0f}x less (goal <= 32 MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
