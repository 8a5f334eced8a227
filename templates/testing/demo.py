"""`python -m kling_sdk.testing demo`: the generated clients run real jobs against the fake, with progress."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from .._runtime.jobs import Progress
from .serve import FAKE_KEY, serve

FAKE_URL_ENV = "KLING_FAKE_URL"  # a running `serve` for the demo to use (its banner prints the export line)

PROMPT = "A red fox trots through fresh snow at dawn, breath visible, cinematic"
IMAGE = "https://example.com/fox.png"


def request_for(protocol: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Text-to-video where the provider has it, else image-to-video with the provider's start-image field."""
    tasks = {route["task"]: route for route in protocol["routes"] if route["kind"] == "submit"}
    if "text-to-video" in tasks:
        return "run_text_to_video", {"prompt": PROMPT}
    schema = next(part for part in tasks["image-to-video"]["request"] if "image" in str(part.get("properties")))
    field = next(name for name in schema.get("required", []) if "image" in name)
    return "run_image_to_video", {"prompt": PROMPT, field: IMAGE}


def _printer(provider: str) -> Any:
    last: list[str] = []

    def show(progress: Progress) -> None:
        where = f", queue position {progress.queue_position}" if progress.queue_position is not None else ""
        log = f" | {progress.logs[-1]}" if progress.logs else ""
        line = f"  [{provider}] {progress.state:<9} ({progress.raw_status}{where}) {progress.elapsed:5.1f}s{log}"
        if line != (last[-1] if last else None):
            print(line, flush=True)
            last.append(line)

    return show


class RunningFake:
    """A fake provider already running elsewhere (`serve`): its base URLs and counters over HTTP."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.base_urls: dict[str, str] = httpx.get(f"{self.url}/_fake/providers", timeout=5).json()
        from .app import load_protocols

        self.protocols: dict[str, Any] = load_protocols()["providers"]

    def client(self, provider: str) -> Any:
        """A generated sync client of `provider` pointed at the running fake."""
        info = self.protocols[provider]["client"]
        cls = getattr(importlib.import_module(info["module"]), info["sync"])
        return cls(base_url=self.base_urls[provider], api_key=self.api_key)

    def stats(self) -> dict[str, Any]:
        """The fake's counters."""
        found: dict[str, Any] = httpx.get(f"{self.url}/_fake/stats", timeout=5).json()
        return found


def running_fake(url: str | None) -> str | None:
    """The running fake to use: `url` if given, else `$KLING_FAKE_URL` (serve's banner prints its export line), else
    None (the demo starts its own); a given address where no fake answers stops the demo."""
    candidate = url or os.environ.get(FAKE_URL_ENV)
    if not candidate:
        return None
    try:
        answer = httpx.get(f"{candidate.rstrip('/')}/_fake/stats", timeout=5.0)
        if answer.status_code == 200 and "submits" in answer.json():
            return candidate
    except (httpx.HTTPError, ValueError):
        pass
    raise SystemExit(f"no fake provider answers at {candidate}/_fake/stats: start one with "
                     "`python -m kling_sdk.testing serve`")  # fmt: skip


@contextmanager
def fake_for_demo(server: str | None, api_key: str, queued: float, running: float) -> Iterator[RunningFake | Any]:
    """The running fake at `server` (given or detected), or a fresh one in this process."""
    found = running_fake(server)
    if found is not None:
        print(f"using the fake providers running on {found} (its own job timings)", flush=True)
        yield RunningFake(found, api_key)
        return
    with serve(queued=queued, running=running) as fake:
        print(f"fake providers on {fake.url} (jobs: {queued:g}s queued, {running:g}s running)", flush=True)
        yield _Local(fake)


class _Local:
    """The in-process fake with the same face as `RunningFake`."""

    def __init__(self, fake: Any) -> None:
        self.fake, self.protocols = fake, fake.app.protocols

    def client(self, provider: str) -> Any:
        return self.fake.client(provider)

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self.fake.app.stats()
        return found


def run_demo(
    out_dir: Path, providers: list[str], queued: float, running: float, server: str | None = None,
    api_key: str = FAKE_KEY,
) -> list[Path]:  # fmt: skip
    """Submit one job per provider to the fake (a running `serve`, or a fresh one), follow it to the end and save
    each video."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with fake_for_demo(server, api_key, queued, running) as fake:
        for provider in providers:
            method, body = request_for(fake.protocols[provider])
            print(f"{provider}: {method}({body})", flush=True)
            started = time.monotonic()
            with fake.client(provider) as client:
                result = getattr(client, method)(body, on_progress=_printer(provider))
                target = out_dir / f"kling-{provider}.mp4"

                def bar(done: int, total: int | None, provider: str = provider) -> None:
                    if total and done == total:
                        print(f"  [{provider}] download  {done}/{total} bytes", flush=True)

                path = client.download(result, target, on_bytes=bar)
            head = path.read_bytes()[4:8]
            kind = "MP4" if head == b"ftyp" else "not an MP4"
            took = time.monotonic() - started
            print(f"  [{provider}] saved {path} ({path.stat().st_size} bytes, {kind}) in {took:.1f}s")
            written.append(path)
        calls = fake.stats()["submits"]
        print(f"submits per body on the fake: {sorted(calls.values())} (each job sent exactly once)")
    return written


def main(
    out: str, providers: list[str] | None, queued: float, running: float, server: str | None = None,
    api_key: str = FAKE_KEY,
) -> int:  # fmt: skip
    """Run the demo; exit status 0 when every provider produced an MP4."""
    from .app import load_protocols

    known = list(load_protocols()["providers"])
    chosen = providers or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        print(f"unknown provider(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    written = run_demo(Path(out), chosen, queued, running, server, api_key)
    return 0 if len(written) == len(chosen) else 1
