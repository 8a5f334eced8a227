"""Draw the `kling` live display (one job, then a batch) with rich and save it as SVG for the README.

    python scripts/live_display_svg.py [--out docs/live-display.svg]

The frames are the CLI's own renderables (`kling_sdk.cli.display`) fed with what `on_progress` and `on_bytes` report
for a job; nothing is drawn by hand.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from rich.console import Console
from rich.spinner import Spinner

from kling_sdk.cli.display import LineView, batch_view, job_line
from kling_sdk.unified import CLIENTS

OUT = Path(__file__).resolve().parents[1] / "docs" / "live-display.svg"


def draw(console: Console) -> None:
    """One job through its phases, then a batch's live table."""
    provider = next(iter(CLIENTS))
    ref = f"{provider}:6d5fbbbd-6a0e-4d4c-9f1e-2b8c1f0a7e11"
    now = time.monotonic()
    console.print('$ kling text-to-video "a fox in the snow" -o fox.mp4', style="bold")
    console.print(f"submitted [bold]{ref}[/bold]")
    for view in (
        LineView(state="queued", ref=ref, queue_position=2, started=now - 3),
        LineView(state="running", ref=ref, log="running: 42%", started=now - 41),
        LineView(state="downloading", ref=ref, done=5_242_880, total=9_437_184, started=now - 88),
    ):
        console.print(job_line(view, Spinner("dots")))
    console.print()
    console.print("$ kling batch jobs.jsonl --out runs/monday", style="bold")
    lines = {
        1: LineView(state="saved", provider=provider, ref=f"{provider}:0f3c…a1", log="line-0001.mp4", started=now - 95,
                    ended=now - 5),
        2: LineView(state="downloading", provider=provider, ref=f"{provider}:9b21…7c", done=3_145_728,
                    total=9_437_184, started=now - 90),
        3: LineView(state="running", provider=provider, ref=f"{provider}:44de…e0", log="running: 67%",
                    started=now - 62),
        4: LineView(state="queued", provider=provider, ref=f"{provider}:c7a9…12", queue_position=1, started=now - 8),
        5: LineView(state="pending", started=now, ended=now),
    }  # fmt: skip
    console.print(batch_view(lines, 96.0, rows=10))


def main(argv: list[str] | None = None) -> int:
    """Write the SVG; prints where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    args = parser.parse_args(argv)
    console = Console(record=True, width=110, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    draw(console)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(console.export_svg(title="kling"), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
