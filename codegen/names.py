"""Python names from wire names: valid by construction, never `field_5`."""

from __future__ import annotations

import keyword
import re

_WORD = re.compile(r"[A-Za-z][a-z0-9]*|[A-Z]+(?![a-z])|\d+")
_BUILTIN_MODEL_ATTRS = frozenset(
    {"model_config", "model_fields", "model_dump", "model_validate", "copy", "dict", "json"}
)


def words(text: str) -> list[str]:
    """Split any identifier-ish text into words: 'start_image-URL2' -> ['start', 'image', 'URL', '2']."""
    return _WORD.findall(text)


def pascal_case(text: str) -> str:
    """'image-to-video' -> 'ImageToVideo'; keeps an already-Pascal name as it is."""
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*", text):
        return text
    return "".join(w[:1].upper() + w[1:] for w in words(text))


def snake_case(text: str) -> str:
    """'ImageToVideo' -> 'image_to_video'; 'aspect-ratio' -> 'aspect_ratio'."""
    return "_".join(w.lower() for w in words(text))


def field_name(wire_name: str) -> str:
    """A valid, non-reserved Python attribute name for a JSON property."""
    if wire_name.isidentifier() and not keyword.iskeyword(wire_name) and wire_name not in _BUILTIN_MODEL_ATTRS:
        return wire_name
    name = snake_case(wire_name) or "value"
    if name[0].isdigit():
        name = "n" + name
    if keyword.iskeyword(name) or name in _BUILTIN_MODEL_ATTRS:
        name += "_"
    return name


def is_class_name(text: str) -> bool:
    """True for a PascalCase identifier usable as a class name as it is."""
    return bool(re.fullmatch(r"[A-Z][A-Za-z0-9]*", text))
