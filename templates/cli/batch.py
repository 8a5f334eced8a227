"""`kling batch`: every line of a JSONL file through the async client, journalled so that a rerun resumes.

A line is submitted only from `pending` (never sent, or certainly refused). The journal says `submitting` before
the request leaves and `accepted` with the job id as soon as the answer arrives; a line found `submitting` after
a crash may have reached the provider, so it becomes `in_doubt`. Where the provider lists jobs (the manifest's
`lookup`), an in-doubt line is looked up: found, it is followed by id; proven absent (the list read twice, no
earlier than the submit's own time limit plus the provider's listing delay after it left), it is submitted again
and audited once more at the end. Elsewhere, or when a lookup fails, it stays in doubt and is not resubmitted
unless asked. Every job a lookup found for a line is reported: a line with two is never hidden.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from kling_sdk import PROVIDER_MODELS
from kling_sdk._runtime.errors import (
    APIConnectionError,
    GenerationFailedError,
    InvalidRequestError,
    JobDeadlineExceededError,
    KlingError,
    NoProviderAcceptedError,
    RateLimitError,
    SubmitOutcomeUnknownError,
)
from kling_sdk._runtime.retry import DEFAULT_RATE_LIMIT_BUDGET, backoff_delay, may_fail_over
from kling_sdk.unified import AsyncKling, Request, plan

from .display import BatchDisplay
from .inputs import neutral_request, poll_every
from .journal import Journal, JournalLock, Row, iter_states
from .messages import ExitCode, explain

__all__ = ["BatchOptions", "read_jobs", "run_batch"]

REPORT = "report.json"
JOURNAL = "journal.sqlite"


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch."""

    providers: tuple[str, ...]
    base_urls: Mapping[str, str] = field(default_factory=dict)
    api_keys: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 4
    timeout: float = 60.0  # seconds per request; a submit's request takes at most this long in total
    deadline: float = 1800.0
    poll_interval: float | None = None
    resubmit_in_doubt: bool = False
    submit_attempts: int = 6
    lookup_grace: float = 0.0  # wait at least this long after a lost submit (it only lengthens the proven minimum)
    clock_skew: float = 60.0  # the provider's clock may differ from ours by this much
    rate_limit_wait: float = DEFAULT_RATE_LIMIT_BUDGET  # seconds a rate-limited submit keeps being sent again


def read_jobs(path: Path, providers: tuple[str, ...]) -> tuple[list[tuple[int, str]], dict[int, Request]]:
    """Every non-blank line and its request; any bad line stops the batch before anything is sent."""
    lines: list[tuple[int, str]] = []
    requests: dict[int, Request] = {}
    problems: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("a line must be a JSON object")
            request = neutral_request(data, path.parent)
            plan(request, providers)  # some chosen provider takes it
        except InvalidRequestError as exc:  # named by the line's own field, not the provider's wire name
            problems.append(f"{path}:{number}: {explain(exc, task=data.get('task'), by_field=True).text}")
            continue
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        lines.append((number, text))
        requests[number] = request
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError("bad lines, nothing was sent:\n" + "\n".join(problems[:5]) + more)
    if not lines:
        raise ValueError(f"{path} has no jobs")
    return lines, requests


def run_batch(jobs: Path, out: Path, options: BatchOptions, console: Console, *, quiet: bool = False) -> int:
    """Run (or resume) a batch; writes videos, the journal and report.json to `out`; returns the exit code."""
    lines, requests = read_jobs(jobs, options.providers)
    out.mkdir(parents=True, exist_ok=True)
    interrupted = False
    with JournalLock(out):  # one run per folder, held to the end; a second one is refused before anything is sent
        journal = Journal(out / JOURNAL)
        try:
            journal.load(lines)
            started = time.monotonic()
            display = BatchDisplay(console, quiet=quiet)
            display.load((row.line, row.state, row.provider, _ref(row)) for row in journal.rows())
            try:
                with display:
                    asyncio.run(_Batch(journal, requests, options, out, display).run())
            except KeyboardInterrupt:  # Ctrl-C: every await was cancelled; the journal holds each line's truth
                interrupted = True
            rows = journal.rows()
        finally:
            journal.close()
        report = _report(jobs, out, options, rows, time.monotonic() - started)
        (out / REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if interrupted:
        console.print(_interrupted(rows), highlight=False)
        console.print(f"report: {out / REPORT}", highlight=False)
        return int(ExitCode.INTERRUPTED)
    if not quiet:
        _summary(console, report, out)
    return _exit_code(report)


def _interrupted(rows: list[Row]) -> str:
    """What an interrupted run leaves behind, and how to pick it up."""
    running = sum(1 for row in rows if row.state in ("accepted", "submitting"))
    unsent = sum(1 for row in rows if row.state == "pending")
    later = f" ({unsent} lines not sent yet)" if unsent else ""
    return f"interrupted: {running} jobs keep running; rerun the same command to resume{later}"


def _ref(row: Row) -> str | None:
    return f"{row.provider}:{row.job_id}" if row.job_id is not None else None


class _Batch:
    def __init__(
        self,
        journal: Journal,
        requests: dict[int, Request],
        options: BatchOptions,
        out: Path,
        display: BatchDisplay,
    ) -> None:
        self.journal = journal
        self.requests = requests
        self.options = options
        self.out = out
        self.display = display
        self.claiming = asyncio.Lock()
        self.poll = poll_every(options.poll_interval)

    async def run(self) -> None:
        todo: asyncio.Queue[Row] = asyncio.Queue()
        for row in self.journal.rows():
            if row.state == "submitting":
                # The process died between "about to send" and the answer: the job may exist.
                self.journal.in_doubt(row.line, "interrupted while submitting: the provider may have the job")
                row = self.journal.row(row.line)
            if row.state == "in_doubt" and self.options.resubmit_in_doubt:
                self.journal.refused(row.line, f"resubmitted on request after: {row.error}")
                row = self.journal.row(row.line)
            if row.state in ("pending", "accepted", "in_doubt") or (row.state == "succeeded" and not _saved(row)):
                todo.put_nowait(row)
        if todo.empty() and not any(row.lost_at is not None for row in self.journal.rows()):
            return  # nothing to run, nothing to look at again
        kling = AsyncKling(
            self.options.providers,
            api_keys=self.options.api_keys,
            base_urls=self.options.base_urls,
            timeout=httpx.Timeout(self.options.timeout, connect=min(10.0, self.options.timeout)),
            concurrency=self.options.concurrency,
            rate_limit_budget=self.options.rate_limit_wait,
        )
        async with kling:
            workers = [asyncio.create_task(self._worker(kling, todo)) for _ in range(self.options.concurrency)]
            try:
                await todo.join()
            finally:  # done, or interrupted: no worker outlives the clients
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            await self._audit(kling)

    async def _worker(self, kling: AsyncKling, todo: asyncio.Queue[Row]) -> None:
        while True:
            row = await todo.get()
            try:
                await self._line(kling, row)
            except Exception as exc:  # one line's surprise must not stop the others; the journal keeps its state
                self.journal.note(row.line, f"{type(exc).__name__}: {exc}")
            finally:
                todo.task_done()

    def _say(self, text: str) -> None:
        self.display.say(text)

    def _model(self, line: int, provider: str) -> str | None:
        """The line's neutral model, where the provider serves it (a journal of another manifest: its default)."""
        model = self.requests[line].model
        return model if model in PROVIDER_MODELS.get(provider, ()) else None

    async def _line(self, kling: AsyncKling, row: Row) -> None:
        line = row.line
        if row.state == "in_doubt":
            await self._resolve(kling, row)
            row = self.journal.row(line)
        if row.state == "pending":
            await self._submit(kling, line)
            row = self.journal.row(line)
        if row.state not in ("accepted", "succeeded"):
            return  # refused, failed or still in doubt: the journal says why
        provider, job_id, task = row.provider, row.job_id, row.task
        assert provider is not None and job_id is not None
        self.display.update(line, state="queued", provider=provider, ref=f"{provider}:{job_id}")
        # The line's own model's client: its result operation is the one that job's answer fits.
        handle = kling.client(provider, self._model(row.line, provider)).job(job_id, task=task)
        try:
            final = await kling.wait(
                handle, deadline=self.options.deadline, poll=self.poll, stream=False,
                on_progress=lambda update: self.display.progress(line, update),
            )  # fmt: skip
        except GenerationFailedError as exc:
            self.journal.failed(line, exc.message if exc.code is None else f"{exc.code}: {exc.message}")
            self.display.update(line, state="failed", log=exc.message)
            self._say(f"line {line}: failed ({exc.message})")
            return
        except JobDeadlineExceededError as exc:
            self.journal.note(line, str(exc))
            self.display.update(line, state="accepted", log="deadline passed: still running")
            return
        except KlingError as exc:
            self.journal.note(line, f"following the job: {exc}")
            self.display.update(line, state="accepted", log=str(exc))
            return
        target = self.out / f"line-{line:04d}.mp4"
        try:
            result = await kling.result(handle, status=final)
            saved = await kling.download(
                result, target, on_bytes=lambda done, total: self.display.downloaded(line, done, total)
            )
        except GenerationFailedError as exc:
            self.journal.failed(line, exc.message)
            self.display.update(line, state="failed", log=exc.message)
            return
        except KlingError as exc:
            self.journal.note(line, f"saving the video: {exc}")
            self.display.update(line, state="succeeded", log=f"not saved: {exc}")
            return
        self.journal.succeeded(line, str(saved), result.url)
        self.display.update(line, state="saved", log=saved.name)
        self._say(f"line {line}: saved {saved.name} ({provider}:{job_id})")

    async def _submit(self, kling: AsyncKling, line: int) -> None:
        """Submit a pending line until the journal says accepted, in doubt, failed, or refused for good."""
        request = self.requests[line]
        for attempt in range(self.options.submit_attempts):
            try:
                job = await kling.submit(request, before_submit=lambda provider: self._submitting(line, provider))
            except SubmitOutcomeUnknownError as exc:
                self.journal.in_doubt(line, str(exc))
                self.display.update(line, state="in_doubt", log=exc.message)
                self._say(f"line {line}: in doubt ({exc})")
                await self._resolve(kling, self.journal.row(line))
                if self.journal.row(line).state == "pending":
                    continue  # certainly not at the provider: submit again
                return
            except KlingError as exc:
                if not (isinstance(exc, NoProviderAcceptedError) or may_fail_over(exc)):
                    self.journal.failed(line, str(exc))  # the request itself was refused (400/422)
                    self.display.update(line, state="failed", log=str(exc))
                    self._say(f"line {line}: refused ({exc})")
                    return
                self.journal.refused(line, str(exc))
                self.display.update(line, state="pending", log=str(exc))
                if not _worth_retrying(exc) or attempt + 1 == self.options.submit_attempts:
                    return
                await asyncio.sleep(backoff_delay(attempt, _retry_after(exc)))
                continue
            self.journal.accepted(line, job.provider, job.id, job.task)
            self.display.update(line, state="queued", ref=f"{job.provider}:{job.id}")
            return

    def _submitting(self, line: int, provider: str) -> None:
        self.journal.submitting(line, provider)  # committed before the request leaves
        self.display.update(line, state="submitting", provider=provider)

    async def _resolve(self, kling: AsyncKling, row: Row) -> None:
        """Settle an in-doubt line by looking for its job: found, it is accepted; proven absent, pending again.

        Absence is proven only by the provider's list read no earlier than `lookup_delay` (the submit's own time
        limit plus the provider's listing delay, or `--lookup-grace` if longer) after the submit left, and read
        once more a listing delay later. Where the provider cannot list jobs, or a lookup fails, the line stays in
        doubt.
        """
        line, provider, sent_at = row.line, row.provider, row.sent_at
        wait = kling.lookup_delay(provider) if provider is not None else None
        if provider is None or sent_at is None or wait is None:
            return
        await asyncio.sleep(max(0.0, sent_at + max(wait, self.options.lookup_grace) - time.time()))
        recheck = max(1.0, wait - (kling.client(provider).submit_timeout or 0.0))
        for look in range(2):
            if look:
                await asyncio.sleep(recheck)  # "not listed" once may still be the listing's delay
            async with self.claiming:  # identical requests must not claim the same job
                try:
                    found = await self._look(kling, line, provider, sent_at)
                except KlingError as exc:
                    self.journal.note(line, f"looking up the in-doubt submit failed: {exc}")
                    return
                if found:
                    self.journal.accepted(line, provider, found[0], self.requests[line].task)
                    self.display.update(line, state="queued", ref=f"{provider}:{found[0]}")
                    break
        else:
            self.journal.absent(line, f"{provider} lists no job for the lost submit, twice: it never arrived", sent_at)
            self._say(f"line {line}: the lost submit never arrived; submitting again")
            return
        self._say(f"line {line}: found the job of the lost submit ({provider}:{found[0]})")
        if len(found) > 1:
            self._say(f"line {line}: the provider has {len(found)} jobs for this line: {', '.join(found)}")

    async def _look(self, kling: AsyncKling, line: int, provider: str, since: float) -> list[str]:
        """The ids of every listed job the line's request may have made since `since` (others' jobs excluded),
        remembered in the journal."""
        claimed = {r.job_id for r in self.journal.rows() if r.job_id is not None and r.line != line}
        jobs = await kling.find_all_submitted(
            self.requests[line], provider, since=since - self.options.clock_skew, exclude=claimed
        )
        found = [job.id for job in jobs]
        if found:
            self.journal.saw(line, found)
        return found

    async def _audit(self, kling: AsyncKling) -> None:
        """Look once more for lines resubmitted after a lookup judged their first submit absent: a job that the list
        showed too late is then reported beside the line's own, never hidden."""
        for row in self.journal.rows():
            if row.lost_at is None or row.provider is None or not kling.client(row.provider).can_find_jobs:
                continue
            try:
                found = await self._look(kling, row.line, row.provider, row.lost_at)
            except KlingError as exc:
                self.journal.note(row.line, f"the closing lookup failed: {exc}")
                continue
            if len(found) > 1:
                self._say(f"line {row.line}: the provider has {len(found)} jobs for this line: {', '.join(found)}")


def _worth_retrying(error: KlingError) -> bool:
    if isinstance(error, NoProviderAcceptedError):
        return any(_worth_retrying(inner) for _, inner in error.attempts)
    return isinstance(error, RateLimitError | APIConnectionError)


def _retry_after(error: KlingError) -> float | None:
    return error.retry_after if isinstance(error, RateLimitError) else None


def _saved(row: Row) -> bool:
    return row.output is not None and Path(row.output).is_file()


def _report(jobs: Path, out: Path, options: BatchOptions, rows: list[Row], seconds: float) -> dict[str, Any]:
    def entry(row: Row) -> dict[str, Any]:
        found: dict[str, Any] = {"line": row.line, "state": row.state, "jobs": _jobs_of(row, rows)}
        if row.job_id is not None:
            found["job"] = f"{row.provider}:{row.job_id}"
        for key in ("output", "error"):
            if getattr(row, key) is not None:
                found[key] = getattr(row, key)
        return found

    return {
        "jobs_file": str(jobs),
        "out": str(out),
        "providers": list(options.providers),
        "lines": len(rows),
        "states": dict(iter_states(rows)),
        "seconds": round(seconds, 3),
        "files": [row.output for row in rows if row.state == "succeeded"],
        "failed": [entry(row) for row in rows if row.state == "failed"],
        "in_doubt": [entry(row) for row in rows if row.state == "in_doubt"],
        "unfinished": [entry(row) for row in rows if row.state in ("pending", "accepted")],
        "duplicates": [entry(row) for row in rows if len(_jobs_of(row, rows)) > 1],
        "jobs": [entry(row) for row in rows],
    }


def _jobs_of(row: Row, rows: list[Row]) -> list[str]:
    """Every job the line is known to have at its provider: its own and any other a lookup found for it that no
    other line claimed (more than one: the line was submitted twice)."""
    others = {r.job_id for r in rows if r.line != row.line and r.job_id is not None}
    ids = [row.job_id] if row.job_id is not None else []
    ids += [job_id for job_id in row.found if job_id not in others and job_id not in ids]
    return [f"{row.provider}:{job_id}" for job_id in ids]


def _summary(console: Console, report: dict[str, Any], out: Path) -> None:
    table = Table(title=f"batch: {report['lines']} lines in {report['seconds']:.1f}s")
    table.add_column("state")
    table.add_column("lines", justify="right")
    for state, count in report["states"].items():
        if count:
            table.add_row(state, str(count))
    console.print(table)
    for kind in ("failed", "in_doubt", "unfinished"):
        for item in report[kind][:10]:
            console.print(f"  line {item['line']} {item['state']}: {item.get('error', '')}", highlight=False)
    if report["in_doubt"]:
        console.print("in doubt: these may exist at the provider; rerun with --resubmit-in-doubt to send them again")
    for item in report["duplicates"]:
        console.print(f"  line {item['line']} has {len(item['jobs'])} jobs at the provider: {', '.join(item['jobs'])}",
                      highlight=False)  # fmt: skip
    console.print(f"report: {out / REPORT}", highlight=False)


def _exit_code(report: dict[str, Any]) -> int:
    if report["in_doubt"]:
        return 4
    if report["failed"] or report["unfinished"]:
        return 1
    return 0
