"""Resumable downloads as pure policy: what a `.part` file may be resumed against, and what an answer allows.

A `.part` is resumed only from the same URL and only against a validator (ETag, else Last-Modified) recorded
beside it in `<name>.part.json` when it was started; the request then carries `If-Range`, so a server whose file
changed answers with the whole new file. A resumed (206) answer must say it starts exactly where the `.part` ends
and that the whole is the size the provider stated; anything else starts over. Two different videos can never be
spliced into one file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

__all__ = ["ContentRange", "PartRecord", "Verdict", "judge_answer", "parse_content_range", "record_path"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class PartRecord:
    """What a `.part` file holds: the URL it came from and the validators the server gave for it."""

    url: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def validator(self) -> str | None:
        """The value for `If-Range`: a strong ETag, else Last-Modified; None: the part cannot be resumed safely."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def save(self, path: Path) -> None:
        """Write the record atomically."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> PartRecord | None:
        """The record at `path`, or None when there is none or it is unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(url=str(data["url"]), etag=data.get("etag"), last_modified=data.get("last_modified"))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def record_path(part: Path) -> Path:
    """Where the record of a `.part` file lives."""
    return part.with_name(part.name + ".json")


@dataclass(frozen=True)
class ContentRange:
    """`Content-Range: bytes first-last/total` (total None for `*`; first/last None for `bytes */total`)."""

    first: int | None
    last: int | None
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """The parsed header, or None when it is missing or malformed."""
    if not value or not value.startswith("bytes "):
        return None
    span, _, total_text = value[6:].strip().partition("/")
    total = int(total_text) if total_text.isdigit() else None
    if total is None and total_text != "*":
        return None
    if span == "*":
        return ContentRange(None, None, total)
    first, _, last = span.partition("-")
    if not (first.isdigit() and last.isdigit()) or int(last) < int(first):
        return None
    return ContentRange(int(first), int(last), total)


@dataclass(frozen=True)
class Verdict:
    """What to do with a download answer: `append` to the part, `write` it anew, the part is `complete`, or
    `restart` without a Range; `error`: the server offers another size than the provider stated (tried again like
    a dropped connection, then a `DownloadError` naming both sizes)."""

    action: Literal["append", "write", "complete", "restart", "error"]
    total: int | None = None
    reason: str = ""


def judge_answer(
    status: int,
    content_range: str | None,
    content_length: str | None,
    etag: str | None,
    *,
    offset: int,
    expected: int | None,
    record: PartRecord | None,
) -> Verdict:
    """Judge the answer to a download request sent with `offset` bytes already in the part (a pure policy)."""
    length = int(content_length) if content_length and content_length.isdigit() else None
    if status == 416:
        span = parse_content_range(content_range)
        whole = span.total if span is not None else None
        if offset and whole == offset and expected in (None, offset):
            return Verdict("complete", whole)
        return Verdict("restart", reason=f"the server refused the range from {offset} (its size: {whole})")
    if status == 206:
        span = parse_content_range(content_range)
        if offset == 0 or span is None or span.first != offset:
            return Verdict("restart", reason=f"a partial answer that does not start at {offset}: {content_range!r}")
        if record is not None and etag and record.etag and etag != record.etag:
            return Verdict("restart", reason="the file changed since the part was started (ETag)")
        total = span.total
        if expected is not None and total is not None and total != expected:
            return Verdict("error", total, f"the server offers {total} bytes; the provider stated {expected}")
        if total is not None and span.last != total - 1:
            return Verdict("restart", reason=f"a partial answer that does not run to the end: {content_range!r}")
        return Verdict("append", total)
    total = length
    if expected is not None and total is not None and total != expected:
        return Verdict("error", total, f"the server offers {total} bytes; the provider stated {expected}")
    return Verdict("write", total)
