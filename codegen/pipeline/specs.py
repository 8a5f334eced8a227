"""Read vendored documents, resolve JSON pointers and `$ref`s, and report spec defects as warnings.

Nothing here follows a reference out of the document: our own `$ref` resolution takes `#/...` only, and the OpenAPI
validator runs on a copy without the others, with handlers that refuse every URI scheme. Files are read only when
they are regular files below a size cap, so a FIFO or a device named in a manifest cannot block a run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.pipeline.diagnostics import (
    Diagnostics,
    GenerationError,
    Location,
    escape_pointer_token,
    join_pointer,
    reading,
)
from codegen.pipeline.manifest import SpecSource

MAX_DOCUMENT_BYTES = 20_000_000
MAX_DOCUMENT_DEPTH = 128  # JSON nesting; real OpenAPI documents stay below 40
MAX_SCHEMA_DEPTH = 64  # schemas within schemas, through $refs too
_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
_BASE_KEYS = (
    "$id",
    "$schema",
    "$anchor",
    "$dynamicAnchor",
)  # change where references resolve: dropped for the validator


def read_regular(path: Path, where: Location, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else an error naming `where`.

    A FIFO, device, directory, symlink loop or oversized file is refused from its `stat`, before any open that could
    block or read without end.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise GenerationError(where, "file not found") from None
    except OSError as exc:
        raise GenerationError(where, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise GenerationError(where, "not a regular file")
    if info.st_size > limit:
        raise GenerationError(where, f"{info.st_size} bytes: larger than the {limit}-byte limit")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise GenerationError(where, f"larger than the {limit}-byte limit")
    return data


def parse_json(raw: bytes, where: Location) -> Any:
    """Strict JSON: no NaN or infinities, numbers Python can hold, bounded nesting, no lone surrogates."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise GenerationError(where, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise GenerationError(where, f"not UTF-8 text: {exc}") from None
    except RecursionError:
        raise GenerationError(where, f"JSON nested more than {MAX_DOCUMENT_DEPTH} levels deep") from None
    except ValueError as exc:  # an integer too long to convert, NaN, Infinity
        raise GenerationError(where, f"invalid JSON number: {str(exc).split(';')[0]}") from None
    for pointer, value, depth in _walk(data):
        if depth > MAX_DOCUMENT_DEPTH:
            raise GenerationError(
                Location(where.file, pointer), f"JSON nested more than {MAX_DOCUMENT_DEPTH} levels deep"
            )
        if isinstance(value, str) and _has_lone_surrogate(value):
            raise GenerationError(Location(where.file, pointer), "a string holds a lone UTF-16 surrogate (not text)")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a float")
    return value


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(data: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value and object key of a JSON document with its pointer and depth, without recursion."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        pointer, value, depth = stack.pop()
        yield pointer, value, depth
        if isinstance(value, dict):
            for key, item in value.items():
                child = join_pointer(pointer, key)
                yield child, key, depth + 1
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((join_pointer(pointer, i), item, depth + 1) for i, item in enumerate(value))


@dataclass(frozen=True)
class Document:
    """A parsed vendored document and where it came from.

    `data` is the document itself; `base` is where it sits in the vendored file: "" for a file that is the
    document, the spec's `extract` pointer for a file that is the provider's whole answer (a catalogue entry
    vendored byte for byte). Pointers into `data` are document pointers; `at()` gives their place in the file.
    """

    source: SpecSource
    data: Any
    sha256: str
    base: str = ""

    @property
    def location(self) -> Location:
        """The document root."""
        return Location(self.source.path, self.base)

    def at(self, pointer: str) -> Location:
        """Where a document pointer sits in the vendored file."""
        return Location(self.source.path, self.base + pointer)

    def resolve(self, pointer: str) -> Any:
        """The node at `pointer`; a dangling pointer is an error naming file and pointer."""
        try:
            return resolve_pointer(self.data, pointer, Location(self.source.path))
        except GenerationError as exc:
            raise GenerationError(self.at(pointer), exc.message) from None


def is_whole_answer(source: SpecSource, data: Any) -> bool:
    """Whether a vendored file is the provider's whole answer (a catalogue entry), the document at `extract` in it."""
    return source.extract is not None and not (isinstance(data, dict) and "openapi" in data)


def has_pointer(data: Any, pointer: str) -> bool:
    """Whether an RFC 6901 pointer leads somewhere in `data`."""
    try:
        resolve_pointer(data, pointer, Location(""))
    except GenerationError:
        return False
    return True


def resolve_pointer(data: Any, pointer: str, where: Location) -> Any:
    """Follow an RFC 6901 pointer into `data`."""
    if pointer in ("", "#"):
        return data
    if not pointer.startswith("/"):
        raise GenerationError(Location(where.file, pointer), "a JSON pointer must start with '/'")
    node = data
    walked = ""
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        walked += "/" + escape_pointer_token(token)
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise GenerationError(Location(where.file, pointer), f"nothing at {walked!r}")
    return node


def load_document(source: SpecSource, root: Path, raw: bytes | None = None) -> Document:
    """Read one vendored file (or `raw`, a candidate copy); invalid JSON is an error naming file, line and column."""
    if raw is None:
        raw = read_regular(root / source.path, Location(source.path))
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise GenerationError(Location(source.path), f"larger than the {MAX_DOCUMENT_BYTES}-byte limit")
    with reading(Location(source.path)):
        data = parse_json(raw, Location(source.path))
    base = ""
    if is_whole_answer(source, data):
        # The provider's whole answer, vendored as it came: the document is the part `extract` names.
        base = source.extract or ""
        data = resolve_pointer(data, base, Location(source.path))
    if source.format == "openapi" and not is_supported_openapi(data):
        version = data.get("openapi") if isinstance(data, dict) else None
        raise GenerationError(
            Location(source.path, base + "/openapi"), f"unsupported OpenAPI version {version!r} (3.0.x and 3.1.x are)"
        )
    return Document(source=source, data=data, sha256=hashlib.sha256(raw).hexdigest(), base=base)


def is_supported_openapi(data: Any) -> bool:
    """Whether `data` declares OpenAPI 3.0.x or 3.1.x."""
    version = data.get("openapi") if isinstance(data, dict) else None
    return isinstance(version, str) and version.startswith(("3.0", "3.1"))


def validate_document(doc: Document, diagnostics: Diagnostics) -> None:
    """Validate an OpenAPI document; each defect becomes a warning with its pointer."""
    if doc.source.format != "openapi":
        return
    with reading(doc.location):
        _validate_openapi(doc, diagnostics)


def _validate_openapi(doc: Document, diagnostics: Diagnostics) -> None:
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    base = OpenAPIV31SpecValidator if str(doc.data["openapi"]).startswith("3.1") else OpenAPIV30SpecValidator
    local, refused = local_only(doc.data)
    for pointer, message in refused:
        diagnostics.warn(doc.at(pointer), message, rule="reference-leaves-document")
    validator_cls = type("LocalOnly" + base.__name__, (base,), {"resolver_handlers": _RefuseEveryScheme()})
    try:
        errors = list(validator_cls(local).iter_errors())
    except Exception as exc:  # the validator gives up on e.g. a dangling $ref; parsing reports it with its pointer
        diagnostics.warn(
            doc.location, f"OpenAPI validation stopped early: {type(exc).__name__}", rule="openapi-validation-stopped"
        )
        return
    for error in errors:
        detail = _most_specific(error)
        pointer = "".join("/" + escape_pointer_token(t) for t in detail.absolute_path) or _operation_named(detail)
        diagnostics.warn(
            doc.at(pointer), f"not valid OpenAPI {doc.data['openapi']}: {detail.message}", rule="openapi-invalid"
        )


# The validator's path-parameter errors carry no JSON path, only the operation in their text.
_OPERATION_IN_MESSAGE = re.compile(r"for '(get|put|post|delete|options|head|patch|trace)' operation in '(/[^']*)'")


def _operation_named(detail: Any) -> str:
    """The pointer of the operation a validator message names (`.../paths/~1a~1{id}/get`), else the root."""
    found = _OPERATION_IN_MESSAGE.search(str(getattr(detail, "message", "")))
    return "" if found is None else "/paths/" + escape_pointer_token(found[2]) + "/" + found[1]


class ExternalReferenceRefused(Exception):
    """The validator tried to leave the document."""


def _refuse(uri: str) -> Any:
    raise ExternalReferenceRefused(uri)


class _RefuseEveryScheme(dict[str, Any]):
    """Resolver handlers for the validator: every URI scheme (also none) refused, no fall-back to urlopen."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Any:
        return _refuse

    def get(self, scheme: str, default: Any = None) -> Any:
        return _refuse


def local_only(data: Any) -> tuple[Any, list[tuple[str, str]]]:
    """A copy of a document without references that leave it, and (pointer, warning) for each one removed.

    A schema holding a `$ref` (or `$dynamicRef`) to anything but '#/...' becomes `{}`; `$id`, `$schema` and anchors,
    which would move the base references resolve against, are dropped.
    """
    refused: list[tuple[str, str]] = []
    dirty = sorted(
        (pointer for pointer, node, _ in _walk(data) if isinstance(node, dict) and _leaves(node, pointer)),
        key=lambda pointer: pointer.count("/"),
    )
    if not dirty:
        return data, refused
    clean = copy.deepcopy(data)
    for pointer in dirty:
        try:
            node = resolve_pointer(clean, pointer, Location(""))
        except GenerationError:
            continue  # below a node already replaced
        for key in _REFERENCE_KEYS:
            if key in node and not _is_local(key, node[key]):
                message = f"reference {node[key]!r} leaves the document: not followed (only '#/...' references are)"
                refused.append((join_pointer(pointer, key), message))
                node.clear()
        for key in _BASE_KEYS:
            node.pop(key, None)
    return clean, refused


def _is_local(key: str, ref: Any) -> bool:
    return key == "$ref" and isinstance(ref, str) and ref.startswith("#")


def _leaves(node: dict[str, Any], pointer: str) -> bool:
    """Whether a schema node holds a reference out of the document or a keyword that moves the base URI."""
    return any(k in node and not _is_local(k, node[k]) for k in _REFERENCE_KEYS) or (
        pointer != "" and any(k in node for k in _BASE_KEYS)
    )


def _most_specific(error: Any) -> Any:
    """Descend into oneOf/anyOf failures to the informative branch (not the "'$ref' is required" one)."""
    from jsonschema.exceptions import best_match

    candidates = [
        c for c in (error.context or []) if not (c.validator == "required" and c.message.startswith("'$ref'"))
    ]
    if not candidates:
        return error
    return _most_specific(best_match(candidates))


def validate_json_schema(schema: Any, where: Location, diagnostics: Diagnostics) -> None:
    """Check a bare JSON Schema against the 2020-12 meta-schema; defects become warnings."""
    from jsonschema import Draft202012Validator

    for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
        diagnostics.warn(
            where.child(*error.absolute_path), f"not a valid JSON Schema: {error.message}", rule="json-schema-invalid"
        )


def schema_ref_target(doc: Document, ref: str, where: Location) -> tuple[str, Any]:
    """Resolve a local `$ref` ('#/...') in `doc`; returns (pointer, node)."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise GenerationError(where, f"unsupported $ref {ref!r}: only local references ('#/...') are supported")
    pointer = ref[1:]
    try:
        return pointer, resolve_pointer(doc.data, pointer, Location(doc.source.path))
    except GenerationError:
        raise GenerationError(where, f"dangling $ref {ref!r}: nothing at that pointer in {doc.source.path}") from None
