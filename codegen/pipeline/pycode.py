"""The one escaping path from spec and manifest text to Python source: literals, docstrings, comments, identifiers.

`Code` marks a fragment that is safe to paste into a generated module. Only the functions here make one (and the
`trusted` filter, which a test allows on template literals and macro calls only). Every other operation on a
`Code` value - concatenation, slicing, a Jinja filter - gives back a plain `str`, which the Jinja environment refuses
to output (`finalize`), so text that skipped escaping fails the generation instead of reaching the source. This is
deliberately not `markupsafe.Markup`: Markup HTML-escapes the plain strings it is joined with, which would turn a
forgotten escape into silently corrupted Python rather than an error.
"""

from __future__ import annotations

import keyword
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

# Characters that end a line for some tool (str.splitlines, editors, ruff), are invisible (bidi overrides,
# zero-width marks) or cannot be encoded (lone surrogates): always written as escapes.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class Code(str):
    """A fragment of Python source that is safe to emit as it is."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Code({str.__repr__(self)})"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape_char(char: str) -> str:
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def pystr(value: str) -> Code:
    """A double-quoted string literal that evaluates to `value` exactly."""
    if not isinstance(value, str):
        raise TypeError(f"pystr expects a string, got {type(value).__name__}")
    out = ['"']
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif _unsafe(char):
            out.append(_escape_char(char))
        else:
            out.append(char)
    out.append('"')
    return Code("".join(out))


def pyrepr(value: Any) -> Code:
    """A literal for a JSON-like value (None, bool, int, finite float, str, list, tuple, dict of those)."""
    if value is None or isinstance(value, bool):
        return Code(repr(value))
    if isinstance(value, int):
        return Code(int.__repr__(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no literal")
        return Code(float.__repr__(value))
    if isinstance(value, str):
        return pystr(value)
    if isinstance(value, tuple):
        inner = ", ".join(pyrepr(v) for v in value)
        return Code(f"({inner},)" if len(value) == 1 else f"({inner})")
    if isinstance(value, list):
        return Code("[" + ", ".join(pyrepr(v) for v in value) + "]")
    if isinstance(value, Mapping):
        return Code("{" + ", ".join(f"{pystr(k)}: {pyrepr(v)}" for k, v in value.items()) + "}")
    raise TypeError(f"no literal for a {type(value).__name__}")


def doc(text: str | None, indent: int = 0) -> Code:
    """Text for the inside of a triple-double-quoted docstring that can never close it or turn into code.

    Backslashes are doubled; a quote next to another quote or at either end is escaped, so no run of three can
    form (also not with the delimiters); control, invisible and line-separator characters become escapes; new lines
    stay new lines, continued at `indent` spaces. The string value equals `text` up to that indentation.
    """
    if not text:
        return Code("")
    out = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            quoted = i == 0 or i == last or text[i - 1] == '"' or text[i + 1] == '"'
            out.append('\\"' if quoted else '"')
        elif char == "\n" or char == "\t":
            out.append(char)
        elif _unsafe(char):
            out.append(_escape_char(char))
        else:
            out.append(char)
    lines = "".join(out).split("\n")
    return Code("\n".join([lines[0], *(" " * indent + line if line else "" for line in lines[1:])]))


def comment(text: str) -> Code:
    """Text for a `#` comment: one line, whatever `text` holds (line breaks and controls become visible escapes)."""
    out = []
    for char in str(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r" or _unsafe(char):
            out.append(_escape_char(char))
        else:
            out.append(char)
    return Code("".join(out))


def is_identifier(name: str) -> bool:
    """True for an ASCII Python identifier that is not a keyword."""
    return isinstance(name, str) and name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


def ident(name: str) -> Code:
    """An identifier, checked: names are made by codegen.pipeline.names, so anything else is a generator bug."""
    if not is_identifier(name):
        raise ValueError(f"{name!r} is not a valid Python identifier")
    return Code(name)


def trusted(text: str) -> Code:
    """Template text: allowed (tests/test_templates.py) only on string literals and macro calls in templates."""
    return Code(text)
