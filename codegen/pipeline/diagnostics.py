"""Warnings and errors that name the spec file and JSON pointer they concern."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Literal

Level = Literal["warning", "info"]


def escape_pointer_token(token: str | int) -> str:
    """Escape one JSON-pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: str | int) -> str:
    """Append tokens to a JSON pointer."""
    return pointer + "".join("/" + escape_pointer_token(t) for t in tokens)


@dataclass(frozen=True)
class Location:
    """A place in a vendored document: file path (as written in the manifest) and JSON pointer."""

    file: str
    pointer: str = ""

    def __str__(self) -> str:
        return f"{self.file}#{self.pointer}" if self.pointer else self.file

    def child(self, *tokens: str | int) -> Location:
        """The location of a node below this one."""
        return Location(self.file, join_pointer(self.pointer, *tokens))

    @staticmethod
    def parse(text: str) -> Location:
        """The location `str()` wrote: `file#pointer` (IR nodes keep theirs as `source`)."""
        file, _, pointer = text.partition("#")
        return Location(file, pointer)


@dataclass(frozen=True)
class Diagnostic:
    """A spec problem the generator handled; printed, never fatal.

    `rule` names the kind of problem (what an acknowledgement in the manifest matches); `known` is the manifest's
    reason for accepting it — an acknowledgement's or an override's — or None for a defect nobody has looked at.
    """

    level: Level
    location: Location
    message: str
    rule: str
    known: str | None = None

    def __str__(self) -> str:
        return f"{self.level}: {self.location}: {self.message}"


class GenerationError(Exception):
    """An input the generator cannot turn into code; nothing is written."""

    def __init__(self, location: Location | None, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)


@dataclass
class Diagnostics:
    """Collects diagnostics in the order they are found."""

    items: list[Diagnostic] = field(default_factory=list)

    def warn(self, location: Location, message: str, *, rule: str, known: str | None = None) -> None:
        """Record a warning of kind `rule` once (`known`: the manifest's reason, where it handles the defect itself).

        Once: each model a provider serves reads its shared operations again.
        """
        self._add(Diagnostic("warning", location, _bounded(message), rule, known))

    def info(self, location: Location, message: str, *, rule: str, known: str | None = None) -> None:
        """Record an informational note of kind `rule` (once)."""
        self._add(Diagnostic("info", location, _bounded(message), rule, known))

    def _add(self, item: Diagnostic) -> None:
        if item not in self.items:
            self.items.append(item)


@dataclass(frozen=True)
class KnownDefect:
    """A spec defect the manifest acknowledges (`[[providers.<name>.known_defects]]`), with the reason it is fine.

    It matches a diagnostic of its `rule` in one of `files` (the provider's vendored documents, or the one its
    `spec` names) whose pointer matches the `pointer` glob and whose message matches the `message` glob.
    """

    where: Location
    files: tuple[str, ...]
    rule: str
    pointer: str
    message: str
    reason: str

    def matches(self, item: Diagnostic) -> bool:
        """Whether this acknowledgement covers `item`."""
        return (
            item.rule == self.rule
            and item.location.file in self.files
            and fnmatchcase(item.location.pointer, self.pointer)
            and fnmatchcase(item.message, self.message)
        )


@dataclass(frozen=True)
class Acknowledged:
    """Diagnostics sorted by what the manifest says of them."""

    new: tuple[Diagnostic, ...]
    known: tuple[Diagnostic, ...]
    stale: tuple[KnownDefect, ...]


def acknowledge(items: Iterable[Diagnostic], defects: Iterable[KnownDefect]) -> Acknowledged:
    """Mark each diagnostic an acknowledgement covers as known (with its reason); list those that cover nothing."""
    items, defects = tuple(items), tuple(defects)
    new, known = [], []
    for item in items:
        match = None if item.known is not None else next((d for d in defects if d.matches(item)), None)
        if item.known is None and match is None:
            new.append(item)
        else:
            known.append(item if match is None else replace(item, known=match.reason))
    stale = tuple(d for d in defects if not any(d.matches(item) for item in items))
    return Acknowledged(tuple(new), tuple(known), stale)


MAX_MESSAGE = 400


def _bounded(message: str) -> str:
    """A message quoting a 2000-value enum or a megabyte of spec text stays one readable line."""
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


@contextmanager
def reading(location: Location | str) -> Iterator[None]:
    """Mark what is being read: an unexpected exception inside is tagged with the innermost such location."""
    try:
        yield
    except GenerationError:
        raise
    except BaseException as exc:
        if not hasattr(exc, "codegen_location"):
            try:
                exc.codegen_location = location if isinstance(location, Location) else Location(location)  # type: ignore[attr-defined]
            except AttributeError:  # an exception type with __slots__
                pass
        raise


def internal_error(exc: BaseException) -> str:
    """How an unexpected exception is reported: where it happened as closely as known, never a traceback."""
    where = getattr(exc, "codegen_location", None)
    kind = "input nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
    return f"internal error while reading {where or 'the inputs'}: {kind}"
