"""What the CLI shows on stderr while a job runs: a live rich bar on a terminal, one line per change elsewhere."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from kling_sdk._runtime.jobs import Job
from kling_sdk._runtime.jobs import Progress as JobProgress
from kling_sdk.unified import job_ref

__all__ = ["JobDisplay", "allowed_text", "describe"]


def describe(state: str, queue_position: int | None = None) -> str:
    """A job state as the display words it: `queued (position 3)`, `running`, ..."""
    if state == "queued" and queue_position is not None:
        return f"queued (position {queue_position})"
    return state


class JobDisplay:
    """Follows one job: submitted → queued → running → downloading → saved."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self._last: str | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._downloading = False

    def __enter__(self) -> JobDisplay:
        if self.console.is_terminal and not self.quiet:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("submitting", total=None)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def line(self, text: str, **style: Any) -> None:
        """A line above the bar (or alone, off a terminal)."""
        if not self.quiet:
            self.console.print(text, highlight=False, **style)

    def submitted(self, job: Job[Any]) -> None:
        """The job exists: its reference is printed at once, so it is never lost."""
        self.line(f"submitted [bold]{job_ref(job)}[/bold]")
        self._last = "submitted"
        self._describe("submitted")

    def progress(self, update: JobProgress) -> None:
        """An observation of the job; a line only when something changed."""
        self._set(describe(update.state, update.queue_position), elapsed=update.elapsed)

    def downloaded(self, done: int, total: int | None) -> None:
        """Bytes of the video written so far."""
        if not self._downloading:
            self._downloading = True
            self.line(f"downloading{f' {total:,} bytes' if total else ''}")
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description="downloading", total=total, completed=done)

    def saved(self, path: Path) -> None:
        """The video is in place."""
        self.line(f"saved [bold]{path}[/bold] ({path.stat().st_size:,} bytes)")

    def _set(self, text: str, elapsed: float) -> None:
        if text != self._last:
            self._last = text
            self.line(f"{text}  [dim]{elapsed:.0f}s[/dim]")
        self._describe(text)

    def _describe(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=text)


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
