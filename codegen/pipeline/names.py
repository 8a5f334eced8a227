"""The one sanitiser from wire names to Python names: valid, ASCII and unreserved by construction, never `field_5`.

A wire name that is already a fine attribute name is kept (`start_image_url`, `requestId`). Anything else is
NFKC-folded (as Python folds identifiers: `ﬁle_url` is `file_url`), transliterated to ASCII where a letter has an
ASCII base (`größe` -> `grosse`; other letters become `uXXXX` words), split into words and snake_cased; a leading
digit gets an `n`, a keyword or reserved name a trailing `_` (a name in one of pydantic's protected namespaces, which
no suffix can leave, a leading `field_`); a leading underscore (private to pydantic) is dropped.
Soft keywords (`match`, `case`, `type`) are valid in every place a name is generated, so they are kept. The wire name
stays the alias. Two wire names that land on one Python name are told apart by `assign()`: the one spelled exactly
like the name keeps it, the others get `_2`, `_3`, ... in document order.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from collections.abc import Container, Iterable
from functools import cache
from pathlib import Path

from codegen.pipeline.pycode import is_identifier

_WORD = re.compile(r"[A-Za-z][a-z0-9]*|[A-Z]+(?![a-z])|\d+")
_CLASS = re.compile(r"[A-Z][A-Za-z0-9]*")
_MODULE = re.compile(r"[a-z][a-z0-9_]*")
_METHOD = re.compile(r"[a-z][A-Za-z0-9_]*")

# The generated package's own modules: a provider may not be called like one of them.
# (tests/test_names.py checks the list against what generation puts at the package root.)
PACKAGE_MODULES = frozenset({"_runtime", "cli", "errors", "testing", "types", "unified"})
# Names the client template gives its methods' own parameters or reads inside their bodies and annotations; a
# path or query parameter must not take one (tests/test_names.py checks this against the rendered clients).
METHOD_NAMES = frozenset(
    {
        "self", "request", "extra_body", "extra_query", "extra_headers", "idempotency_key", "timeout",
        "deadline", "cancel_on_deadline", "on_progress", "on_submitted", "stream", "poll", "body", "Callable", "object",
        "Any", "Mapping", "Literal", "Timeout", "NotGiven", "NOT_GIVEN", "DEFAULT_DEADLINE", "Job", "VideoResult",
        "PollPolicy", "ProgressCallback", "dict", "str", "int", "float", "bool", "list", "None",
    }
)  # fmt: skip
# Names a models module reads in its annotations: a field called like one would shadow it inside the class.
ANNOTATION_NAMES = frozenset({"Annotated", "Any", "ClassVar", "Literal", "Field", "str", "int", "float", "bool",
                              "list", "dict", "frozenset", "None"})  # fmt: skip


def words(text: str) -> list[str]:
    """Split any identifier-ish text into words: 'start_image-URL2' -> ['start', 'image', 'URL', '2']."""
    return _WORD.findall(_ascii(text))


def pascal_case(text: str) -> str:
    """'image-to-video' -> 'ImageToVideo'; keeps an already-Pascal name as it is."""
    if _CLASS.fullmatch(text):
        return text
    return "".join(w[:1].upper() + w[1:] for w in words(text))


def snake_case(text: str) -> str:
    """'ImageToVideo' -> 'image_to_video'; 'aspect-ratio' -> 'aspect_ratio'."""
    return "_".join(w.lower() for w in words(text))


def _ascii(text: str) -> str:
    """NFKC-fold, then map each non-ASCII letter to its ASCII base or a `uXXXX` word; other characters separate."""
    out = []
    for char in unicodedata.normalize("NFKC", text):
        if char.isascii():
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char.casefold()) if not unicodedata.combining(c))
        if base.isascii() and base.isalnum():
            out.append(base)
        elif char.isalnum():
            out.append(f" u{ord(char):04x} ")
        else:
            out.append(" ")
    return "".join(out)


class Reserved:
    """Names a namespace may not use: exact names and prefixes."""

    def __init__(self, names: Iterable[str] = (), prefixes: Iterable[str] = ()) -> None:
        self.names = frozenset(names)
        self.prefixes = tuple(prefixes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.names or self.by_prefix(name))

    def by_prefix(self, name: str) -> bool:
        """Whether `name` falls in a reserved namespace (no suffix can take it out)."""
        return bool(self.prefixes) and name.startswith(self.prefixes)

    def __or__(self, names: Iterable[str]) -> Reserved:
        return Reserved(self.names | frozenset(names), self.prefixes)


def python_name(wire: str, reserved: Container[str] = frozenset()) -> str:
    """A valid, ASCII, non-keyword, unreserved name for `wire` (before de-duplication)."""
    if is_identifier(wire) and not wire.startswith("_") and wire not in reserved:
        return wire
    name = snake_case(wire) or "value"
    if name[0].isdigit():
        name = "n" + name
    if isinstance(reserved, Reserved) and reserved.by_prefix(name):
        name = "field_" + name
    while keyword.iskeyword(name) or name in reserved:
        name += "_"
    return name


def assign(wires: Iterable[str], reserved: Container[str] = frozenset()) -> tuple[dict[str, str], list[str]]:
    """Python names for wire names sharing one namespace, and the wire names that lost their wanted name to another.

    Wire names spelled exactly like their Python name claim it first; the others follow in document order and take
    `_2`, `_3`, ... when theirs is taken. (`python_name(wire) != python_name(wire, reserved)` tells which names moved
    because they are reserved.)
    """
    order = list(dict.fromkeys(wires))
    wanted = {wire: python_name(wire, reserved) for wire in order}
    names: dict[str, str] = {}
    taken: set[str] = set()
    for wire in sorted(order, key=lambda w: wanted[w] != w):
        name, n = wanted[wire], 2
        while name in taken or name in reserved:
            name, n = f"{wanted[wire]}_{n}", n + 1
        names[wire] = name
        taken.add(name)
    return {wire: names[wire] for wire in order}, [wire for wire in order if names[wire] != wanted[wire]]


def class_name(text: str) -> str:
    """A PascalCase class name for any text: 'image-to-video' -> 'ImageToVideo', '1st' -> 'Model1st'."""
    name = pascal_case(text)
    if not name or name[0].isdigit():
        name = "Model" + name
    if keyword.iskeyword(name):
        name += "Model"
    return name


def is_class_name(text: str) -> bool:
    """True for a PascalCase identifier usable as a class name as it is."""
    return bool(_CLASS.fullmatch(text)) and not keyword.iskeyword(text)


def is_module_name(text: str) -> bool:
    """True for a lower-case identifier usable as a provider's module name."""
    return bool(_MODULE.fullmatch(text)) and not keyword.iskeyword(text) and text not in PACKAGE_MODULES


def model_module(model_id: str) -> str:
    """The module of a neutral model id ('kling-v2.6-pro' -> 'kling_v2_6_pro'; the manifest checks the result)."""
    # every run of characters that are not lower-case letters or digits becomes one `_`
    return re.sub(r"[^a-z0-9]+", "_", model_id).strip("_")


def is_unified_param(text: str) -> bool:
    """True for a name a neutral task model can use as a field."""
    # not `task` (its class variable in unified.py.jinja) nor `model` (the field that names the neutral model)
    from pydantic import BaseModel

    return (
        is_identifier(text)
        and not text.startswith("_")
        and text not in dir(BaseModel)
        and not text.startswith(protected_namespaces())
        and text not in ANNOTATION_NAMES | {"task", "model"}
    )


def is_method_name(text: str) -> bool:
    """True for a public method name (an identifier, not a keyword, no leading underscore)."""
    return bool(_METHOD.fullmatch(text)) and not keyword.iskeyword(text)


@cache
def model_attributes(runtime_models: Path) -> frozenset[str]:
    """Attribute names of a generated model: pydantic's BaseModel's and the runtime's (templates/runtime/models.py)."""
    from pydantic import BaseModel

    names = {n for n in dir(BaseModel)}
    tree = ast.parse(runtime_models.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return frozenset(names)


def field_reserved(runtime_models: Path, classes: Iterable[str] = ()) -> Reserved:
    """Names a model field may not take: attributes, protected namespaces, annotation names, the module's classes.

    A field named like a class of its module would shadow that class in the annotations of the class body.
    """
    return Reserved(model_attributes(runtime_models) | ANNOTATION_NAMES | frozenset(classes), protected_namespaces())


def protected_namespaces() -> tuple[str, ...]:
    """Pydantic's protected field-name prefixes (a field starting with one is refused when the class is made)."""
    try:
        from pydantic._internal._config import config_defaults

        found = config_defaults["protected_namespaces"]
    except (ImportError, KeyError):  # pragma: no cover - a pydantic that moved its defaults
        found = ("model_validate", "model_dump")
    return tuple(p for p in found if isinstance(p, str))
