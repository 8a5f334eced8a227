"""Read vendored documents, resolve JSON pointers and `$ref`s, and report spec defects as warnings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.diagnostics import Diagnostics, GenerationError, Location, escape_pointer_token
from codegen.manifest import SpecSource


@dataclass(frozen=True)
class Document:
    """A parsed vendored document and where it came from."""

    source: SpecSource
    data: Any
    sha256: str

    @property
    def location(self) -> Location:
        """The document root."""
        return Location(self.source.path)

    def resolve(self, pointer: str) -> Any:
        """The node at `pointer`; a dangling pointer is an error naming file and pointer."""
        return resolve_pointer(self.data, pointer, self.location)


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
        try:
            raw = (root / source.path).read_bytes()
        except FileNotFoundError:
            raise GenerationError(Location(source.path), "vendored spec file not found") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GenerationError(
            Location(source.path), f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise GenerationError(Location(source.path), f"not UTF-8 text: {exc}") from None
    if source.format == "openapi" and not is_supported_openapi(data):
        version = data.get("openapi") if isinstance(data, dict) else None
        raise GenerationError(
            Location(source.path, "/openapi"), f"unsupported OpenAPI version {version!r} (3.0.x and 3.1.x are)"
        )
    return Document(source=source, data=data, sha256=hashlib.sha256(raw).hexdigest())


def is_supported_openapi(data: Any) -> bool:
    """Whether `data` declares OpenAPI 3.0.x or 3.1.x."""
    version = data.get("openapi") if isinstance(data, dict) else None
    return isinstance(version, str) and version.startswith(("3.0", "3.1"))


def validate_document(doc: Document, diagnostics: Diagnostics) -> None:
    """Validate an OpenAPI document; each defect becomes a warning with its pointer."""
    if doc.source.format != "openapi":
        return
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    validator_cls = OpenAPIV31SpecValidator if str(doc.data["openapi"]).startswith("3.1") else OpenAPIV30SpecValidator
    try:
        errors = list(validator_cls(doc.data).iter_errors())
    except Exception as exc:  # the validator gives up on e.g. a dangling $ref; parsing reports it with its pointer
        diagnostics.warn(doc.location, f"OpenAPI validation stopped early: {type(exc).__name__}")
        return
    for error in errors:
        detail = _most_specific(error)
        pointer = "".join("/" + escape_pointer_token(t) for t in detail.absolute_path)
        diagnostics.warn(
            Location(doc.source.path, pointer), f"not valid OpenAPI {doc.data['openapi']}: {detail.message}"
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
        diagnostics.warn(where.child(*error.absolute_path), f"not a valid JSON Schema: {error.message}")


def schema_ref_target(doc: Document, ref: str, where: Location) -> tuple[str, Any]:
    """Resolve a local `$ref` ('#/...') in `doc`; returns (pointer, node)."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise GenerationError(where, f"unsupported $ref {ref!r}: only local references ('#/...') are supported")
    pointer = ref[1:]
    try:
        return pointer, resolve_pointer(doc.data, pointer, doc.location)
    except GenerationError:
        raise GenerationError(where, f"dangling $ref {ref!r}: nothing at that pointer in {doc.source.path}") from None
