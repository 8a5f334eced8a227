"""Keep API keys out of logs, reprs, exceptions and recorded exchanges.

A key is held in a `Secret`, which never prints. Every key a client was given is registered, and `redact_text`
replaces it in any of the forms it can come back in: raw, JSON-escaped (`\\/`, `\\uXXXX`, also nested) or URL-encoded
(`quote`, `quote_plus`, any mix and hex case). `KlingError` passes its message and every attribute through
`redact`, so no error needs to remember to do it.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "RedactingFilter",
    "Secret",
    "logger",
    "redact",
    "redact_headers",
    "redact_text",
    "redact_url",
    "register_secret",
    "url_secrets",
]

REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "set-cookie"})
MIN_SECRET_LENGTH = 4  # shorter strings would redact ordinary words

_known_secrets: set[str] = set()


class Secret:
    """A credential that never prints: repr, str and format give `<redacted>`; it cannot be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a secret is a string, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)
        register_secret(value)

    def reveal(self) -> str:
        """The plain value, for the one place that sends it."""
        value: str = object.__getattribute__(self, "_value")
        return value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self.reveal())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    def __hash__(self) -> int:
        return hash((Secret, self.reveal()))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Secret is immutable")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        # Pickles end up in caches, queues and files: a key must be passed again, not serialised.
        raise TypeError("a Secret cannot be pickled; pass the key again where it is needed")


def register_secret(secret: str) -> None:
    """Remember a key so that every error, log line and recorded exchange scrubs it wherever it appears."""
    if len(secret) >= MIN_SECRET_LENGTH:
        _known_secrets.add(secret)


def _char_forms(char: str) -> str:
    """A regex matching one character of a secret in every encoding it may come back in."""
    # Backslash escapes may be nested (a JSON document carried as a string in another): `\\+`.
    forms = {re.escape(char), "".join(f"%(?i:{byte:02x})" for byte in char.encode())}
    code = ord(char)
    if code < 0x10000:
        forms.add(rf"\\+u(?i:{code:04x})")
    else:  # JSON writes astral characters as a surrogate pair
        code -= 0x10000
        forms.add(rf"\\+u(?i:{0xD800 + (code >> 10):04x})\\+u(?i:{0xDC00 + (code & 0x3FF):04x})")
    if char in '/"\\':
        forms.add(r"\\+" + re.escape(char))
    if char == " ":
        forms.add(r"\+")  # quote_plus
    return "(?:" + "|".join(sorted(forms)) + ")"


@functools.lru_cache(maxsize=32)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    # Longest first, so a key that contains another is replaced whole.
    ordered = sorted(secrets, key=lambda s: (-len(s), s))
    return re.compile("|".join("".join(_char_forms(c) for c in secret) for secret in ordered))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret (and the given ones), in any of its encoded forms, in `text`."""
    pattern = _pattern(frozenset(s for s in (*secrets, *_known_secrets) if len(s) >= MIN_SECRET_LENGTH))
    return text if pattern is None or not text else pattern.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """`value` with secrets replaced in every string it holds (mappings, lists and tuples are copied)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        clean = redact_text(text)
        return value if clean == text else clean.encode()
    if isinstance(value, Mapping):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(redact(v) for v in value)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with credential headers replaced and known secrets scrubbed from the others."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else redact_text(v)) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """`url` with its user information (`user:password@`) replaced, for reprs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials a URL carries: its password, or a user name standing alone as a token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    if parts.password:
        return (parts.password,)
    return (parts.username,) if parts.username else ()


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs registered secrets from every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message (and any traceback) once, redacted, so handlers never see the raw key."""
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


logger = logging.getLogger("kling_sdk")
logger.addFilter(RedactingFilter())
