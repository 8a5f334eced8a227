"""The batch journal: one SQLite row per input line, written before and after every step that costs money.

States and what a rerun does with them:

    pending     never sent, or certainly refused before a job existed   -> submitted
    submitting  committed just before the submit left; no answer yet   -> in doubt (it may have arrived)
    in_doubt    a submit that may have created a job we have no id for  -> reported, never resubmitted by default
    accepted    the provider answered with a job id                     -> followed by id, never resubmitted
    succeeded   the video is on disk                                    -> skipped
    failed      the job (or its request) failed for good                -> skipped, reported

Every change is committed before the next step starts: a crash at any moment leaves the truth on disk. One run
owns a journal at a time (`JournalLock`, an OS file lock that dies with its process).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "STATES",
    "Journal",
    "JournalBusyError",
    "JournalLock",
    "JournalMismatchError",
    "Row",
    "iter_states",
    "line_digest",
]

STATES = ("pending", "submitting", "in_doubt", "accepted", "succeeded", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lines (
    line INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    provider TEXT,
    job_id TEXT,
    task TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    error TEXT,
    output TEXT,
    url TEXT,
    updated_at REAL NOT NULL,
    found TEXT,
    lost_at REAL
);
"""
# Columns added after the first release: a journal written before them gets them on open.
_ADDED = {"found": "TEXT", "lost_at": "REAL"}  # found: job ids lookups saw; lost_at: a submit judged absent

_SELECT = (
    "SELECT line, request, state, provider, job_id, task, attempts, sent_at, error, output, url, found, lost_at "
    "FROM lines"
)


class JournalMismatchError(ValueError):
    """The jobs file is not the one this journal was started with."""


class JournalBusyError(RuntimeError):
    """Another run holds the journal of this folder."""


class JournalLock:
    """The exclusive right to run the batch of a folder: an OS lock on `<folder>/journal.lock`, held for the run.

    The kernel drops it when the process ends however it ends (SIGKILL included), so a killed run never blocks its
    resume; the file keeps who held it last (pid, host, since) to name the holder when a second run is refused.
    """

    NAME = "journal.lock"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.NAME
        self.holder: dict[str, Any] = {}
        self._file: IO[str] | None = None

    def acquire(self) -> JournalLock:
        """Take the lock at once, or raise `JournalBusyError` naming the run that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        if not _try_lock(handle):
            handle.seek(0)
            text = handle.read()
            handle.close()
            raise JournalBusyError(f"{self.path.parent} is in use by another kling batch ({_describe_holder(text)}): "
                                   "wait for it to finish or stop it; nothing was sent")  # fmt: skip
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat()}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(self.holder) + "\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        """Give the lock up (closing the file drops it)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JournalLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _try_lock(handle: IO[str]) -> bool:
    """An exclusive, non-blocking lock on the whole file, owned by this open file (flock; LockFileEx on Windows)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _describe_holder(text: str) -> str:
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on {holder['host']}, running since {holder['since']}"
    except (ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


@dataclass(frozen=True)
class Row:
    """One line of the batch as the journal knows it."""

    line: int
    request: dict[str, Any]
    state: str
    provider: str | None
    job_id: str | None
    task: str | None
    attempts: int
    sent_at: float | None
    error: str | None
    output: str | None
    url: str | None
    found: tuple[str, ...] = ()  # every job id a lookup found for this line (its own job included)
    lost_at: float | None = None  # when a submit that a lookup then judged absent was sent


def line_digest(text: str) -> str:
    """A line's identity: the sha256 of its canonical JSON."""
    canonical = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Journal:
    """The SQLite journal of one batch (`<out>/journal.sqlite`)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # autocommit: every statement is durable once it returns (a killed process loses nothing it wrote)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(lines)")}
        for column, kind in _ADDED.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE lines ADD COLUMN {column} {kind}")

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def load(self, lines: list[tuple[int, str]]) -> None:
        """Record the batch's lines (number, JSON text) once; a rerun must bring the same lines."""
        known = {line: digest for line, digest in self._db.execute("SELECT line, digest FROM lines")}
        now = time.time()
        with self._transaction():
            for number, text in lines:
                digest = line_digest(text)
                if number in known:
                    if known[number] != digest:
                        raise JournalMismatchError(
                            f"line {number} differs from the one journalled in {self.path}: "
                            "use a new --out folder for a different jobs file"
                        )
                    continue
                self._db.execute(
                    "INSERT INTO lines (line, digest, request, state, updated_at) VALUES (?, ?, ?, 'pending', ?)",
                    (number, digest, text, now),
                )
            extra = set(known) - {number for number, _ in lines}
            if extra:
                raise JournalMismatchError(
                    f"the journal in {self.path} has lines the jobs file lacks (line {min(extra)}): use a new --out"
                )

    def rows(self) -> list[Row]:
        """Every line, in order."""
        return [_row(r) for r in self._db.execute(_SELECT + " ORDER BY line")]

    def row(self, line: int) -> Row:
        """One line."""
        return _row(self._db.execute(_SELECT + " WHERE line = ?", (line,)).fetchone())

    def submitting(self, line: int, provider: str) -> None:
        """Written before a submit leaves: from here on the line may exist at the provider."""
        self._set(line, state="submitting", provider=provider, sent_at=time.time(), attempts_plus=1)

    def accepted(self, line: int, provider: str, job_id: str, task: str | None) -> None:
        """The provider answered with a job id: the line is never submitted again."""
        self._set(line, state="accepted", provider=provider, job_id=job_id, task=task, error=None)

    def refused(self, line: int, reason: str) -> None:
        """The submit was certainly refused before a job existed: the line may be submitted again."""
        self._set(line, state="pending", error=reason)

    def absent(self, line: int, reason: str, lost_at: float) -> None:
        """A lookup proved the submit sent at `lost_at` never arrived: pending again (and audited at the end)."""
        kept = self.row(line).lost_at
        self._set(line, state="pending", error=reason, lost_at=lost_at if kept is None else min(kept, lost_at))

    def saw(self, line: int, job_ids: list[str]) -> None:
        """Remember every job a lookup found for the line (a line with two is reported, never hidden)."""
        known = list(self.row(line).found)
        self._set(line, found=json.dumps(list(dict.fromkeys([*known, *job_ids]))))

    def in_doubt(self, line: int, reason: str) -> None:
        """The submit may have created a job whose id we never saw."""
        self._set(line, state="in_doubt", error=reason)

    def note(self, line: int, reason: str) -> None:
        """Keep the state, record why the line is not finished yet (deadline, download)."""
        self._set(line, error=reason)

    def succeeded(self, line: int, output: str, url: str) -> None:
        """The video is on disk."""
        self._set(line, state="succeeded", output=output, url=url, error=None)

    def failed(self, line: int, reason: str) -> None:
        """The line is finished without a video."""
        self._set(line, state="failed", error=reason)

    def _set(self, line: int, *, attempts_plus: int = 0, **values: Any) -> None:
        columns = "".join(f"{name} = ?, " for name in values)
        self._db.execute(
            f"UPDATE lines SET {columns}attempts = attempts + ?, updated_at = ? WHERE line = ?",
            (*values.values(), attempts_plus, time.time(), line),
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _row(r: tuple[Any, ...]) -> Row:
    line, request, state, provider, job_id, task, attempts, sent_at, error, output, url, found, lost_at = r
    return Row(line, json.loads(request), state, provider, job_id, task, attempts, sent_at, error, output, url,
               found=tuple(json.loads(found)) if found else (), lost_at=lost_at)  # fmt: skip


def iter_states(rows: list[Row]) -> Iterator[tuple[str, int]]:
    """(state, count) for every state, in lifecycle order."""
    for state in STATES:
        yield state, sum(1 for row in rows if row.state == state)
