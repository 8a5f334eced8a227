"""`python -m kling_sdk.testing demo`: every model of every provider runs a real job against the fake through its
generated client, with progress."""

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


def request_for(provider: str, model: str) -> tuple[str, dict[str, Any]]:
    """(run method, request body) of one (provider, model): text-to-video where it serves it, else image-to-video,
    as the neutral layer maps it (`to_wire`: the body is built from the manifest's mapping, nested where the
    provider wraps its parameters)."""
    from ..unified import ADAPTERS, TASKS, to_wire

    tasks = [task for (p, m, task) in ADAPTERS if (p, m) == (provider, model)]
    task = "text-to-video" if "text-to-video" in tasks else tasks[0]
    values: dict[str, Any] = {"model": model, "prompt": PROMPT}
    if "start_image" in TASKS[task].model_fields:
        values["start_image"] = IMAGE
    operation, body = to_wire(TASKS[task](**values), provider)
    return operation.replace("submit_", "run_", 1), body


def units(protocols: dict[str, Any], providers: list[str]) -> list[tuple[str, str]]:
    """(provider, model) for every model each chosen provider serves, its default first."""
    found = []
    for provider in providers:
        models = protocols[provider]["models"]
        default = protocols[provider]["default_model"]
        found += [(provider, model) for model in sorted(models, key=lambda m: m != default)]
    return found


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

    def client(self, provider: str, model: str | None = None) -> Any:
        """A generated sync client of `provider` (for `model`, default: its package's) pointed at the running fake."""
        protocol = self.protocols[provider]
        module = protocol["models"][model]["module"] if model else protocol["client"]["module"]
        cls = getattr(importlib.import_module(module), protocol["client"]["sync"])
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

    def client(self, provider: str, model: str | None = None) -> Any:
        return self.fake.client(provider, model=model)

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self.fake.app.stats()
        return found


def run_demo(
    out_dir: Path, providers: list[str], queued: float, running: float, server: str | None = None,
    api_key: str = FAKE_KEY,
) -> list[Path]:  # fmt: skip
    """Submit one job per (provider, model) to the fake (a running `serve`, or a fresh one) through that model's
    generated client, follow it to the end and save each video as kling-<provider>-<model>.mp4."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with fake_for_demo(server, api_key, queued, running) as fake:
        for provider, model in units(fake.protocols, providers):
            label = f"{provider}/{model}"
            method, body = request_for(provider, model)
            print(f"{label}: {method}({body})", flush=True)
            started = time.monotonic()
            with fake.client(provider, model) as client:
                result = getattr(client, method)(body, on_progress=_printer(label))
                target = out_dir / f"kling-{provider}-{model}.mp4"

                def bar(done: int, total: int | None, label: str = label) -> None:
                    if total and done == total:
                        print(f"  [{label}] download  {done}/{total} bytes", flush=True)

                path = client.download(result, target, on_bytes=bar)
            head = path.read_bytes()[4:8]
            kind = "MP4" if head == b"ftyp" else "not an MP4"
            took = time.monotonic() - started
            print(f"  [{label}] saved {path} ({path.stat().st_size} bytes, {kind}) in {took:.1f}s")
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
    return 0 if len(written) == len(units(load_protocols()["providers"], chosen)) else 1
