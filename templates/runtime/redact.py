"""Keep API keys out of logs, reprs, exceptions and recorded exchanges."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "set-cookie"})

_known_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Remember a key so that the logging filter scrubs it wherever it appears."""
    if len(secret) >= 4:
        _known_secrets.add(secret)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret (and the given ones) in `text`."""
    for secret in sorted({*secrets, *_known_secrets}, key=len, reverse=True):
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with credential headers replaced."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs registered secrets from every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted, so handlers never see the raw key."""
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


logger = logging.getLogger("kling_sdk")
logger.addFilter(RedactingFilter())
