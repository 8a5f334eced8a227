"""`python -m kling_sdk.testing demo`: the generated clients run real jobs against the fake, with progress."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .._runtime.jobs import Progress
from .serve import serve

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


def run_demo(out_dir: Path, providers: list[str], queued: float, running: float) -> list[Path]:
    """Submit one job per provider to a fresh fake server, follow it to the end and save each video."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with serve(queued=queued, running=running) as fake:
        print(f"fake providers on {fake.url} (jobs: {queued:g}s queued, {running:g}s running)", flush=True)
        for provider in providers:
            method, body = request_for(fake.app.protocols[provider])
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
    return 0 if len(written) == len(chosen) else 1
