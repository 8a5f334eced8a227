"""`python -m kling_sdk.testing demo`: every model of every provider runs a real job against the fake through its
generated client, with progress."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .._runtime.jobs import Progress
from .serve import serve

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


def run_demo(out_dir: Path, providers: list[str], queued: float, running: float) -> list[Path]:
    """Submit one job per (provider, model) to a fresh fake server through that model's generated client, follow
    it to the end and save each video as kling-<provider>-<model>.mp4."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with serve(queued=queued, running=running) as fake:
        print(f"fake providers on {fake.url} (jobs: {queued:g}s queued, {running:g}s running)", flush=True)
        for provider, model in units(fake.app.protocols, providers):
            label = f"{provider}/{model}"
            method, body = request_for(provider, model)
            print(f"{label}: {method}({body})", flush=True)
            started = time.monotonic()
            with fake.client(provider, model=model) as client:
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
        calls = fake.app.stats()["submits"]
        print(f"submits per body on the fake: {sorted(calls.values())} (each job sent exactly once)")
    return written


def main(out: str, providers: list[str] | None, queued: float, running: float) -> int:
    """Run the demo; exit status 0 when every provider produced an MP4."""
    from .app import load_protocols

    known = list(load_protocols()["providers"])
    chosen = providers or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        print(f"unknown provider(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    written = run_demo(Path(out), chosen, queued, running)
    return 0 if len(written) == len(units(load_protocols()["providers"], chosen)) else 1
