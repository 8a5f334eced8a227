"""What the CLI shows on stderr while jobs run: a live view on a terminal, one line per change elsewhere.

One job (`JobDisplay`): state, elapsed time, queue position, the provider's last log line (what `on_progress`
receives), and a byte bar only while the video downloads. A batch (`BatchDisplay`): a live table of lines (state,
provider, job reference, elapsed, the last log line or byte count) under a summary line, from the first moment on.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from kling_sdk._runtime.jobs import Job
from kling_sdk._runtime.jobs import Progress as JobProgress
from kling_sdk.unified import job_ref

__all__ = ["BatchDisplay", "JobDisplay", "LineView", "allowed_text", "describe", "elapsed_text", "size_text"]

# Lines a batch is still working on, in the order they move through.
ACTIVE = ("submitting", "queued", "running", "downloading")


def describe(state: str, queue_position: int | None = None) -> str:
    """A job state as the display words it: `queued (position 3)`, `running`, ..."""
    if state == "queued" and queue_position is not None:
        return f"queued (position {queue_position})"
    return state


def elapsed_text(seconds: float) -> str:
    """`7s`, `2m05s`, `1h02m`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def size_text(done: int, total: int | None) -> str:
    """`12,345/67,890 bytes`, or `12,345 bytes` when the size is not known."""
    return f"{done:,}/{total:,} bytes" if total else f"{done:,} bytes"


@dataclass
class LineView:
    """What is known of one job right now (one batch line, or the one job of a command)."""

    state: str = "submitting"
    provider: str | None = None
    ref: str | None = None
    queue_position: int | None = None
    log: str | None = None
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the job was started (or until it ended)."""
        return (self.ended or time.monotonic()) - self.started

    def words(self) -> str:
        """The state as shown: `queued (position 2)`, `downloading`, ..."""
        return describe(self.state, self.queue_position)

    def detail(self) -> str:
        """The byte count while downloading, else the provider's last log line."""
        if self.state == "downloading":
            return size_text(self.done, self.total)
        return self.log or ""

    def observe(self, update: JobProgress) -> None:
        """Take what `on_progress` received."""
        self.state, self.queue_position = update.state, update.queue_position
        if update.logs:
            self.log = update.logs[-1]


class _Live:
    """A rich Live view on a terminal (nothing elsewhere, or when quiet); `print` goes above it."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self._live: Live | None = None

    @property
    def live(self) -> bool:
        """Whether the view is drawn in place (a terminal, not quiet)."""
        return self.console.is_terminal and not self.quiet

    def start(self, renderable: Any) -> None:
        if self.live:
            self._live = Live(renderable, console=self.console, refresh_per_second=8, transient=True)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def refresh(self) -> None:
        """Draw now: a short phase (a small download) is seen at least once."""
        if self._live is not None:
            self._live.refresh()

    def print(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, highlight=False)


class _Shown:
    """A display that is live while in a `with` block (on a terminal) and prints plain lines elsewhere."""

    _out: _Live

    def __enter__(self) -> Self:
        self._out.start(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._out.stop()


class JobDisplay(_Shown):
    """Follows one job: submitted → queued → running (log lines) → downloading (a byte bar) → saved."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.view = LineView()
        self._out = _Live(console, quiet)
        self._said: tuple[str, str | None] | None = None

    def __rich__(self) -> RenderableType:
        return job_line(self.view, Spinner("dots"))

    def line(self, text: str) -> None:
        """A line above the live view (or alone, off a terminal)."""
        self._out.print(text)

    def submitted(self, job: Job[Any]) -> None:
        """The job exists: its reference is printed at once, so it is never lost."""
        self.view.ref, self.view.provider, self.view.state = job_ref(job), job.provider, "submitted"
        self.line(f"submitted [bold]{escape(job_ref(job))}[/bold]")

    def following(self, job: Job[Any]) -> None:
        """An existing job is followed (`kling wait`)."""
        self.view.ref, self.view.provider, self.view.state = job_ref(job), job.provider, "checking"
        self.line(f"following [bold]{escape(job_ref(job))}[/bold]")

    def progress(self, update: JobProgress) -> None:
        """An observation of the job; off a terminal a line only when the state or the last log line changed."""
        self.view.observe(update)
        words = self.view.words()
        if self._said is None or words != self._said[0]:
            self.line(f"{escape(words)}  [dim]{elapsed_text(self.view.elapsed)}[/dim]")
        elif self.view.log != self._said[1] and self.view.log and not self._out.live:
            self.line(f"  [dim]{escape(self.view.log)}[/dim]")
        self._said = (words, self.view.log)

    def downloaded(self, done: int, total: int | None) -> None:
        """Bytes of the video written so far."""
        if self.view.state != "downloading":
            self.view.state = "downloading"
            self.line(f"downloading{f' {total:,} bytes' if total else ''}")
            self.view.done, self.view.total = done, total
            self._out.refresh()  # redrawn at once: a short download is still seen
        self.view.done, self.view.total = done, total

    def saved(self, path: Path) -> None:
        """The video is in place."""
        self.view.state, self.view.ended = "saved", time.monotonic()
        self.line(f"saved [bold]{escape(str(path))}[/bold] ({path.stat().st_size:,} bytes)")


def job_line(view: LineView, spinner: RenderableType) -> RenderableType:
    """The live line of one job: spinner, state, elapsed, queue position or log line, and a byte bar while
    downloading."""
    grid = Table.grid(padding=(0, 1))
    cells: list[RenderableType] = [spinner, Text(view.words(), style="bold"), Text(elapsed_text(view.elapsed), "dim")]
    if view.state == "downloading":
        cells += [ProgressBar(total=float(view.total or 0) or None, completed=view.done, width=30),
                  Text(size_text(view.done, view.total), "green")]  # fmt: skip
    else:
        cells += [Text(view.ref or "", "cyan"), Text(view.log or "", "italic")]
    for _ in cells:
        grid.add_column(no_wrap=True)
    grid.add_row(*cells)
    return grid


class BatchDisplay(_Shown):
    """The lines of a batch: a live table and a summary on a terminal; one line per event elsewhere."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.lines: dict[int, LineView] = {}
        self.started = time.monotonic()
        self._out = _Live(console, quiet)

    def __rich__(self) -> RenderableType:
        return batch_view(self.lines, time.monotonic() - self.started, max(5, self.console.height - 6))

    def load(self, rows: Iterable[tuple[int, str, str | None, str | None]]) -> None:
        """The journal's lines as the run starts: (line, state, provider, job reference)."""
        for line, state, provider, ref in rows:
            shown = {"accepted": "queued", "succeeded": "saved"}.get(state, state)
            self.lines[line] = LineView(state=shown, provider=provider, ref=ref, ended=None)
            if shown not in ACTIVE:
                self.lines[line].ended = self.lines[line].started
        if not self._out.live:
            self._out.print(f"batch: {summary(self.lines)}")

    def say(self, text: str) -> None:
        """An event worth a line of its own (above the table on a terminal)."""
        self._out.print(text)

    def update(self, line: int, **facts: Any) -> None:
        """New facts about a line (state, provider, ref, log, done, total)."""
        view = self.lines.setdefault(line, LineView())
        if view.ended is not None and facts.get("state") in ACTIVE:
            view.started, view.ended = time.monotonic(), None  # picked up again in this run
        for name, value in facts.items():
            setattr(view, name, value)
        if view.state not in ACTIVE and view.ended is None:
            view.ended = time.monotonic()

    def progress(self, line: int, update: JobProgress) -> None:
        """What `on_progress` received for a line's job."""
        self.lines.setdefault(line, LineView()).observe(update)

    def downloaded(self, line: int, done: int, total: int | None) -> None:
        """Bytes of a line's video written so far."""
        self.update(line, state="downloading", done=done, total=total)


def summary(lines: dict[int, LineView], seconds: float | None = None) -> str:
    """`4 lines: 1 queued, 2 running, 1 saved` (and the time so far)."""
    counts = Counter(view.state for view in lines.values())
    order = [*ACTIVE, "pending", "saved", "failed", "in_doubt"]
    parts = [f"{counts[state]} {state}" for state in sorted(counts, key=lambda s: order.index(s) if s in order else 99)]
    took = f" · {elapsed_text(seconds)}" if seconds is not None else ""
    return f"{len(lines)} lines: {', '.join(parts)}{took}"


def batch_view(lines: dict[int, LineView], seconds: float, rows: int) -> RenderableType:
    """The live table of a batch (active lines first, at most `rows`) under its summary line."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in ("line", "state", "provider", "job", "elapsed", ""):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    ordered = sorted(lines.items(), key=lambda item: (item[1].state not in ACTIVE, item[0]))
    for line, view in ordered[:rows]:
        table.add_row(str(line), view.words(), view.provider or "", view.ref or "", elapsed_text(view.elapsed),
                      view.detail())  # fmt: skip
    if len(ordered) > rows:
        table.add_row("…", f"{len(ordered) - rows} more lines", "", "", "", "")
    return Group(Text(f"batch: {summary(lines, seconds)}", style="bold"), table)


def allowed_text(limits: Any) -> str:
    """What a model allows for a parameter, briefly: " 3-15", " 5|10", " 0-1", " (<= 2500 chars)", or nothing."""
    if isinstance(limits, list):
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in limits)
        if whole and len(limits) > 2 and sorted(limits) == list(range(min(limits), max(limits) + 1)):
            return f" {min(limits)}-{max(limits)}"
        return " " + "|".join(str(v) for v in limits)
    if isinstance(limits, dict):
        parts = []
        if "minimum" in limits or "maximum" in limits:
            parts.append(f"{_number(limits.get('minimum'))}-{_number(limits.get('maximum'))}")
        if "max_length" in limits:
            parts.append(f"<= {limits['max_length']} chars")
        if "max_items" in limits:
            parts.append(f"<= {limits['max_items']} items")
        return " " + ", ".join(parts) if parts else ""
    return ""


def _number(value: Any) -> str:
    return "" if value is None else f"{value:g}"
