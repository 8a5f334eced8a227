"""Caller input checked at the SDK boundary, before it shapes a request: job ids and image URLs.

Pure policy: `id_problem` and `url_problem` say what is wrong (or None); `check_id` and `check_url` raise the
`InvalidRequestError` naming the provider and the field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from urllib.parse import unquote, urlsplit

from .errors import InvalidRequestError

__all__ = [
    "DEFAULT_URL_SCHEMES",
    "MAX_ID_LENGTH",
    "MAX_URL_LENGTH",
    "check_id",
    "check_url",
    "id_problem",
    "url_problem",
]

MAX_ID_LENGTH = 1024  # provider ids are tens of characters; a longer one is not an id
MAX_URL_LENGTH = 64 * 1024  # for http(s) URLs; a data: URI is bounded by the byte limit of its field
DEFAULT_URL_SCHEMES = ("https", "http", "data")
_SEGMENT = re.compile(r"[/\\]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_ASCII_BAD = re.compile(r"[\x00-\x20\x7f]")


def _bad_character(text: str) -> str | None:
    """The first whitespace, control, format or unassigned character of `text`, if any."""
    if text.isascii():  # the common case, at regex speed
        match = _ASCII_BAD.search(text)
        return match.group() if match else None
    for char in text:
        if char.isspace() or unicodedata.category(char).startswith("C"):
            return char
    return None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def id_problem(value: str) -> str | None:
    """What makes `value` unusable as a job id in a URL path or query, or None.

    httpx drops `.` and `..` path segments even after quoting, so `status("..")` would address another
    resource; ids are also checked once percent-decoded, for servers that decode before routing.
    """
    if not value:
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; a job id has at most {MAX_ID_LENGTH}"
    for form in dict.fromkeys((value, unquote(value))):
        char = _bad_character(form)
        if char is not None:
            shown = f"{_shown(value)} contains {char!r} (U+{ord(char):04X})"
            return f"{shown}; a job id has no whitespace or control characters"
        if any(segment in (".", "..") for segment in _SEGMENT.split(form)):
            return f"{_shown(value)} has a '.' or '..' path segment"
    return None


def check_id(value: object, *, provider: str, field: str = "job_id") -> str:
    """`value` as a job id (a non-empty string fit for one URL path segment), or `InvalidRequestError`."""
    if not isinstance(value, str):
        raise InvalidRequestError(provider, field, f"expected a job id string or a Job, got {type(value).__name__}")
    problem = id_problem(value)
    if problem is not None:
        raise InvalidRequestError(provider, field, problem)
    return value


def url_problem(value: str, schemes: Collection[str]) -> str | None:
    """What makes `value` unacceptable as an image URL for a provider taking `schemes`, or None.

    The empty string carries no scheme and is left to the provider's own validation (Sunra's documented
    example sends one). A data: URI's payload is checked as a file (size, format), not here.
    """
    if not value:
        return None
    accepted = ", ".join(f"{s}:" for s in schemes)
    match = _SCHEME.match(value[:64])
    if match is None:
        return f"{_shown(value)} is not a URL (accepted: {accepted}); pass a pathlib.Path for a local file"
    scheme = match.group(1).lower()
    if scheme not in schemes:
        return f"uses the {scheme}: scheme; accepted: {accepted}"
    comma = value.find(",") if scheme == "data" else -1
    checked = value[:comma] if comma >= 0 else value  # a data: payload is neither copied nor scanned here
    if len(checked) > MAX_URL_LENGTH:
        return f"is {len(checked)} characters long; the limit for a URL is {MAX_URL_LENGTH}"
    char = _bad_character(checked)
    if char is not None:
        return f"{_shown(value)} contains {char!r} (U+{ord(char):04X}); a URL has no whitespace or control characters"
    if scheme in ("http", "https"):
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:
            return f"is not a valid URL ({exc})"
        if not host:
            return f"{_shown(value)} has no host"
    return None


def check_url(value: str, schemes: Collection[str], *, provider: str, field: str) -> None:
    """Raise `InvalidRequestError` unless `value` is an acceptable image URL."""
    problem = url_problem(value, schemes)
    if problem is not None:
        raise InvalidRequestError(provider, field, problem)
