"""Compare a vendored document with a candidate semantically: every change with a rule, severity and direction.

A request schema is judged as a client sending it, a response schema as a client reading it (oasdiff's
request/response levels): the same edit can break one direction and be harmless in the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from codegen.pipeline.diagnostics import GenerationError, Location, escape_pointer_token
from codegen.pipeline.specs import has_pointer, resolve_pointer

Severity = Literal["breaking", "warning", "info"]
Direction = Literal["request", "response", "none"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "warning", "info")
DIRECTIONS: tuple[Direction, ...] = ("request", "response", "none")

# kind -> severity by direction. Schema kinds apply in both directions; the others in the one listed.
RULES: dict[str, dict[Direction, Severity]] = {
    # properties
    "property-added": {"request": "info", "response": "info"},
    "required-property-added": {"request": "breaking", "response": "info"},
    "property-removed": {"request": "warning", "response": "warning"},
    "required-property-removed": {"request": "warning", "response": "breaking"},
    "property-became-required": {"request": "breaking", "response": "info"},
    "property-became-optional": {"request": "info", "response": "breaking"},
    # types and nullability
    "type-changed": {"request": "breaking", "response": "breaking"},
    "type-widened": {"request": "info", "response": "breaking"},
    "type-narrowed": {"request": "breaking", "response": "info"},
    "became-nullable": {"request": "info", "response": "breaking"},
    "became-not-nullable": {"request": "breaking", "response": "info"},
    # enums
    "enum-value-added": {"request": "info", "response": "warning"},
    "enum-value-removed": {"request": "breaking", "response": "info"},
    "enum-added": {"request": "breaking", "response": "info"},
    "enum-removed": {"request": "info", "response": "warning"},
    # constraints: a tighter bound breaks senders, a looser one breaks readers
    "max-length-decreased": {"request": "breaking", "response": "info"},
    "max-length-increased": {"request": "info", "response": "breaking"},
    "min-length-increased": {"request": "breaking", "response": "info"},
    "min-length-decreased": {"request": "info", "response": "breaking"},
    "maximum-decreased": {"request": "breaking", "response": "info"},
    "maximum-increased": {"request": "info", "response": "breaking"},
    "minimum-increased": {"request": "breaking", "response": "info"},
    "minimum-decreased": {"request": "info", "response": "breaking"},
    "exclusive-maximum-decreased": {"request": "breaking", "response": "info"},
    "exclusive-maximum-increased": {"request": "info", "response": "breaking"},
    "exclusive-minimum-increased": {"request": "breaking", "response": "info"},
    "exclusive-minimum-decreased": {"request": "info", "response": "breaking"},
    "max-items-decreased": {"request": "breaking", "response": "info"},
    "max-items-increased": {"request": "info", "response": "breaking"},
    "min-items-increased": {"request": "breaking", "response": "info"},
    "min-items-decreased": {"request": "info", "response": "breaking"},
    "multiple-of-changed": {"request": "warning", "response": "warning"},
    "pattern-added": {"request": "warning", "response": "info"},
    "pattern-removed": {"request": "info", "response": "warning"},
    "pattern-changed": {"request": "warning", "response": "info"},
    "format-added": {"request": "warning", "response": "info"},
    "format-removed": {"request": "info", "response": "warning"},
    "format-changed": {"request": "breaking", "response": "breaking"},
    "additional-properties-forbidden": {"request": "breaking", "response": "info"},
    "additional-properties-allowed": {"request": "info", "response": "warning"},
    # defaults and lifecycle
    "default-added": {"request": "info", "response": "info"},
    "default-removed": {"request": "warning", "response": "info"},
    "default-changed": {"request": "info", "response": "info"},
    "became-deprecated": {"request": "warning", "response": "info"},
    # composition
    "variant-added": {"request": "info", "response": "breaking"},
    "variant-removed": {"request": "breaking", "response": "info"},
    # operations and paths
    "path-added": {"none": "info"},
    "path-removed": {"none": "breaking"},
    "operation-added": {"none": "info"},
    "operation-removed": {"none": "breaking"},
    "operation-id-changed": {"none": "info"},
    "server-url-changed": {"none": "warning"},
    "security-changed": {"none": "warning"},
    # parameters
    "parameter-added": {"request": "info"},
    "required-parameter-added": {"request": "breaking"},
    "parameter-removed": {"request": "warning"},
    "parameter-became-required": {"request": "breaking"},
    "parameter-became-optional": {"request": "info"},
    # bodies, status codes and content types
    "request-body-added": {"request": "info"},
    "required-request-body-added": {"request": "breaking"},
    "request-body-removed": {"request": "warning"},
    "request-body-became-required": {"request": "breaking"},
    "request-body-became-optional": {"request": "info"},
    "content-type-added": {"request": "info", "response": "warning"},
    "content-type-removed": {"request": "breaking", "response": "breaking"},
    "success-status-added": {"response": "warning"},
    "success-status-removed": {"response": "breaking"},
    "error-status-added": {"response": "info"},
    "error-status-removed": {"response": "info"},
    # documents: JSON documents (Oxen model objects) and what the generator needs of them
    "schema-removed": {"request": "breaking", "response": "breaking"},
    "metadata-changed": {"none": "info"},
    "generation-failed": {"none": "breaking"},
}

MAX_COMPARISONS = 200_000  # schema pairs per document; far above any real document's
_BOUNDS = (  # keyword, kind prefix, is an upper bound, value when absent
    ("maxLength", "max-length", True, None),
    ("minLength", "min-length", False, 0),
    ("maximum", "maximum", True, None),
    ("minimum", "minimum", False, None),
    ("exclusiveMaximum", "exclusive-maximum", True, None),
    ("exclusiveMinimum", "exclusive-minimum", False, None),
    ("maxItems", "max-items", True, None),
    ("minItems", "min-items", False, 0),
)
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Change:
    """One semantic difference between the vendored document and its candidate."""

    provider: str
    document: str
    pointer: str
    kind: str
    direction: Direction
    message: str
    operations: tuple[str, ...] = ()

    @property
    def severity(self) -> Severity:
        """How much the change matters to a client, in its direction."""
        return RULES[self.kind][self.direction]

    @property
    def rule(self) -> str:
        """The rule id: the kind, prefixed by the direction it was judged in."""
        return self.kind if self.direction == "none" else f"{self.direction}-{self.kind}"

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape of one change."""
        return {
            "provider": self.provider,
            "document": self.document,
            "pointer": self.pointer,
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "direction": self.direction,
            "message": self.message,
            "operations": list(self.operations),
        }


@dataclass(frozen=True)
class SchemaRoot:
    """A schema inside a JSON document the generator reads, and the direction it travels in."""

    pointer: str
    direction: Direction
    operations: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()  # where else the schema may sit (the first that exists is read)


Emit = Callable[[str, str, Direction, str, tuple[str, ...]], None]  # pointer, kind, direction, message, operations


Labeller = Callable[[str, str], tuple[str, ...]]  # (METHOD, path) -> the SDK methods that operation backs


def compare_openapi(base: Any, candidate: Any, emit: Emit, label: Labeller) -> None:
    """Every change between two OpenAPI documents; `label(method, path)` names the SDK method an operation backs."""
    _Walker(base, candidate, emit, label).openapi()


def compare_json_document(base: Any, candidate: Any, roots: tuple[SchemaRoot, ...], emit: Emit) -> None:
    """Every change between two JSON documents holding bare JSON Schemas at `roots` (e.g. Oxen's model objects)."""
    walker = _Walker(base, candidate, emit, lambda _m, _p: ())
    for root in roots:
        walker.operations = root.operations
        pointers = root.alternatives or (root.pointer,)
        b_at = next((p for p in pointers if _get(base, p) is not _MISSING), None)
        c_at = next((p for p in pointers if _get(candidate, p) is not _MISSING), None)
        if b_at is None:
            continue
        if c_at is None:
            walker.emit(b_at, "schema-removed", root.direction, "the schema the SDK is generated from is gone")
            continue
        walker.schema(b_at, _get(base, b_at), c_at, _get(candidate, c_at), root.direction, frozenset())
    walker.operations = ()
    covered = {_first_token(p) for root in roots for p in (root.alternatives or (root.pointer,))}
    if isinstance(base, dict) and isinstance(candidate, dict):
        for key in sorted(set(base) | set(candidate)):
            if key in covered or _canonical(base.get(key)) == _canonical(candidate.get(key)):
                continue
            walker.emit(
                "/" + escape_pointer_token(key),
                "metadata-changed",
                "none",
                f"{key}: {_short(base.get(key))} → {_short(candidate.get(key))}",
            )


# --------------------------------------------------------------------------------------------- internals
_MISSING: Any = object()


def _get(data: Any, pointer: str) -> Any:
    """The node at `pointer`, or _MISSING."""
    return resolve_pointer(data, pointer, Location("")) if has_pointer(data, pointer) else _MISSING


def _first_token(pointer: str) -> str:
    return pointer.split("/")[1].replace("~1", "/").replace("~0", "~") if pointer.count("/") else ""


def _child(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_pointer_token(str(t)) for t in tokens)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _canonical_or_missing(value: Any) -> str | None:
    return None if value is _MISSING else _canonical(value)


def _short(value: Any, limit: int = 60) -> str:
    text = "absent" if value is None else _canonical(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _View:
    """A schema with `$ref`s followed, `allOf` merged and the three spellings of nullability folded into one."""

    pointer: str
    keywords: dict[str, Any]
    types: frozenset[str]  # empty: any type
    nullable: bool
    properties: dict[str, tuple[str, Any]] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    variants: list[tuple[str, Any]] = field(default_factory=list)
    enum: list[Any] | None = None
    declared: str = ""  # where the schema is written, before `$ref`s are followed and `anyOf: [X, null]` unwrapped


class _Walker:
    def __init__(self, base: Any, candidate: Any, emit: Emit, label: Labeller) -> None:
        self.base = base
        self.cand = candidate
        self.sink = emit
        self.label = label
        self.operations: tuple[str, ...] = ()
        # Each pair of schemas is compared once per operation and place it is written: a document whose $refs fan
        # out (L0 -> L1 twice -> L2 twice ...) would otherwise take 2**depth comparisons.
        self.compared: set[tuple[str, str, Direction, str, tuple[str, ...]]] = set()

    def emit(self, pointer: str, kind: str, direction: Direction, message: str) -> None:
        """Report one change, attributed to the operation being compared."""
        self.sink(pointer, kind, direction, message, self.operations)

    # ------------------------------------------------------------------ OpenAPI structure
    def openapi(self) -> None:
        b, c = self.base, self.cand
        if _canonical([s.get("url") for s in b.get("servers", [])]) != _canonical(
            [s.get("url") for s in c.get("servers", [])]
        ):
            urls = [s.get("url") for s in c.get("servers", [])]
            self.emit("/servers", "server-url-changed", "none", f"servers are now {_short(urls)}")
        if _canonical(b.get("security")) != _canonical(c.get("security")):
            self.emit("/security", "security-changed", "none", f"security is now {_short(c.get('security'))}")
        b_paths, c_paths = _paths_by_shape(b), _paths_by_shape(c)
        for shape in sorted(set(b_paths) | set(c_paths)):
            b_path, c_path = b_paths.get(shape), c_paths.get(shape)
            if b_path is None:
                assert c_path is not None
                self.emit(_child("/paths", c_path), "path-added", "none", f"new path {c_path}")
            elif c_path is None:
                self.emit(_child("/paths", b_path), "path-removed", "none", f"path {b_path} was removed")
            else:
                self.path(b_path, c_path)

    def path(self, b_path: str, c_path: str) -> None:
        b_item = self._deref(self.base, _child("/paths", b_path), self.base["paths"][b_path])[1]
        c_item = self._deref(self.cand, _child("/paths", c_path), self.cand["paths"][c_path])[1]
        for method in _HTTP_METHODS:
            name = f"{method.upper()} {c_path}"
            if method in c_item and method not in b_item:
                self.emit(_child("/paths", c_path, method), "operation-added", "none", f"new operation {name}")
            elif method in b_item and method not in c_item:
                self.emit(_child("/paths", b_path, method), "operation-removed", "none", f"{name} was removed")
            elif method in b_item:
                self.operation(b_path, c_path, method, b_item, c_item)

    def operation(self, b_path: str, c_path: str, method: str, b_item: Any, c_item: Any) -> None:
        b_op, c_op = b_item[method], c_item[method]
        b_ptr, c_ptr = _child("/paths", b_path, method), _child("/paths", c_path, method)
        self.operations = self.label(method.upper(), c_path) or (f"{method.upper()} {c_path}",)
        try:
            if b_op.get("operationId") != c_op.get("operationId"):
                self.emit(
                    _child(c_ptr, "operationId"),
                    "operation-id-changed",
                    "none",
                    f"operationId {b_op.get('operationId')!r} → {c_op.get('operationId')!r}",
                )
            self.parameters(b_path, c_path, b_item, c_item, method)
            self.request_body(b_ptr, c_ptr, b_op, c_op)
            self.responses(b_ptr, c_ptr, b_op, c_op)
        finally:
            self.operations = ()

    def parameters(self, b_path: str, c_path: str, b_item: Any, c_item: Any, method: str) -> None:
        b_params = self._parameters(self.base, _child("/paths", b_path), b_item, method)
        c_params = self._parameters(self.cand, _child("/paths", c_path), c_item, method)
        for key in sorted(set(b_params) | set(c_params), key=lambda k: (k[0], k[1])):
            where, name = key
            if key not in b_params:
                ptr, param = c_params[key]
                required = bool(param.get("required")) or where == "path"
                kind = "required-parameter-added" if required else "parameter-added"
                self.emit(ptr, kind, "request", f"new {'required ' if required else ''}{where} parameter {name!r}")
                continue
            if key not in c_params:
                ptr, _ = b_params[key]
                self.emit(ptr, "parameter-removed", "request", f"{where} parameter {name!r} was removed")
                continue
            (b_ptr, b_param), (c_ptr, c_param) = b_params[key], c_params[key]
            b_req, c_req = bool(b_param.get("required")), bool(c_param.get("required"))
            if c_req and not b_req:
                self.emit(c_ptr, "parameter-became-required", "request", f"{where} parameter {name!r} is now required")
            elif b_req and not c_req:
                self.emit(c_ptr, "parameter-became-optional", "request", f"{where} parameter {name!r} is now optional")
            if "schema" in b_param and "schema" in c_param:
                self.schema(
                    _child(b_ptr, "schema"),
                    b_param["schema"],
                    _child(c_ptr, "schema"),
                    c_param["schema"],
                    "request",
                    frozenset(),
                )

    def _parameters(self, doc: Any, item_ptr: str, item: Any, method: str) -> dict[tuple[str, str], tuple[str, Any]]:
        found: dict[tuple[str, str], tuple[str, Any]] = {}
        for owner_ptr, owner in ((item_ptr, item), (_child(item_ptr, method), item[method])):
            for i, raw in enumerate(owner.get("parameters", [])):
                ptr, param = self._deref(doc, _child(owner_ptr, "parameters", i), raw)
                if isinstance(param, dict) and "name" in param:
                    # Path parameters match by position: renaming {id} to {request_id} changes nothing on the wire.
                    name = str(param["name"]) if param.get("in") != "path" else "{}"
                    found[(str(param.get("in")), name)] = (ptr, param)
        return found

    def request_body(self, b_op_ptr: str, c_op_ptr: str, b_op: Any, c_op: Any) -> None:
        b_raw, c_raw = b_op.get("requestBody"), c_op.get("requestBody")
        if b_raw is None and c_raw is None:
            return
        if b_raw is None:
            ptr, body = self._deref(self.cand, _child(c_op_ptr, "requestBody"), c_raw)
            kind = "required-request-body-added" if body.get("required") else "request-body-added"
            self.emit(ptr, kind, "request", "the operation now takes a request body")
            return
        if c_raw is None:
            ptr, _ = self._deref(self.base, _child(b_op_ptr, "requestBody"), b_raw)
            self.emit(ptr, "request-body-removed", "request", "the operation no longer takes a request body")
            return
        b_ptr, b_body = self._deref(self.base, _child(b_op_ptr, "requestBody"), b_raw)
        c_ptr, c_body = self._deref(self.cand, _child(c_op_ptr, "requestBody"), c_raw)
        if c_body.get("required") and not b_body.get("required"):
            self.emit(c_ptr, "request-body-became-required", "request", "the request body is now required")
        elif b_body.get("required") and not c_body.get("required"):
            self.emit(c_ptr, "request-body-became-optional", "request", "the request body is now optional")
        self.content(b_ptr, c_ptr, b_body, c_body, "request")

    def responses(self, b_op_ptr: str, c_op_ptr: str, b_op: Any, c_op: Any) -> None:
        b_all, c_all = b_op.get("responses", {}), c_op.get("responses", {})
        for status in sorted(set(b_all) | set(c_all), key=str):
            success = str(status).startswith("2")
            if status not in b_all:
                kind = "success-status-added" if success else "error-status-added"
                self.emit(_child(c_op_ptr, "responses", status), kind, "response", f"new response status {status}")
                continue
            if status not in c_all:
                kind = "success-status-removed" if success else "error-status-removed"
                self.emit(_child(b_op_ptr, "responses", status), kind, "response", f"response {status} was removed")
                continue
            b_ptr, b_resp = self._deref(self.base, _child(b_op_ptr, "responses", status), b_all[status])
            c_ptr, c_resp = self._deref(self.cand, _child(c_op_ptr, "responses", status), c_all[status])
            self.content(b_ptr, c_ptr, b_resp, c_resp, "response")

    def content(self, b_ptr: str, c_ptr: str, b_owner: Any, c_owner: Any, direction: Direction) -> None:
        b_content, c_content = b_owner.get("content") or {}, c_owner.get("content") or {}
        for media in sorted(set(b_content) | set(c_content)):
            if media not in b_content:
                self.emit(_child(c_ptr, "content", media), "content-type-added", direction, f"new content type {media}")
            elif media not in c_content:
                self.emit(_child(b_ptr, "content", media), "content-type-removed", direction, f"{media} was removed")
            elif "schema" in b_content[media] and "schema" in c_content[media]:
                self.schema(
                    _child(b_ptr, "content", media, "schema"),
                    b_content[media]["schema"],
                    _child(c_ptr, "content", media, "schema"),
                    c_content[media]["schema"],
                    direction,
                    frozenset(),
                )

    # ------------------------------------------------------------------ schemas
    def schema(
        self, b_ptr: str, b_node: Any, c_ptr: str, c_node: Any, direction: Direction, seen: frozenset[tuple[str, str]]
    ) -> None:
        """Compare two schemas in `direction`, recursing into properties, items and variants."""
        b, c = self._view(self.base, b_ptr, b_node), self._view(self.cand, c_ptr, c_node)
        key = (b.pointer, c.pointer, direction, c.declared, self.operations)
        if (b.pointer, c.pointer) in seen or key in self.compared:
            return
        if len(self.compared) >= MAX_COMPARISONS:
            raise GenerationError(Location("", c.pointer), f"more than {MAX_COMPARISONS} schemas to compare")
        self.compared.add(key)
        seen = seen | {(b.pointer, c.pointer)}
        emit = self.emit

        def say(kind: str, message: str, pointer: str = c.pointer) -> None:
            emit(pointer, kind, direction, message)

        if c.nullable and not b.nullable:
            say("became-nullable", "may now be null", c.declared)
        elif b.nullable and not c.nullable:
            say("became-not-nullable", "may no longer be null", c.declared)
        if b.types != c.types:
            kind = _type_change(b.types, c.types)
            say(kind, f"type {_types(b.types)} → {_types(c.types)}")
            if kind == "type-changed":
                return  # everything below follows from the new type
        self._enum(b, c, say)
        self._bounds(b, c, say)
        self._annotations(b, c, say)
        self._properties(b, c, direction, seen, say)
        self._additional(b, c, direction, seen, say)
        b_items, c_items = b.keywords.get("items"), c.keywords.get("items")
        if isinstance(b_items, (dict, bool)) and isinstance(c_items, (dict, bool)):
            self.schema(_child(b.pointer, "items"), b_items, _child(c.pointer, "items"), c_items, direction, seen)
        self._variants(b, c, direction, seen, say)

    def _enum(self, b: _View, c: _View, say: Callable[..., None]) -> None:
        if b.enum is None and c.enum is None:
            return
        if b.enum is None:
            say("enum-added", f"now limited to {_short(c.enum)}")
        elif c.enum is None:
            say("enum-removed", f"no longer limited to {_short(b.enum)}")
        else:
            b_values = {_canonical(v): v for v in b.enum}
            c_values = {_canonical(v): v for v in c.enum}
            for key in c_values.keys() - b_values.keys():
                say("enum-value-added", f"new enum value {key}")
            for key in b_values.keys() - c_values.keys():
                say("enum-value-removed", f"enum value {key} was removed")

    def _bounds(self, b: _View, c: _View, say: Callable[..., None]) -> None:
        for keyword, prefix, upper, absent in _BOUNDS:
            b_value, c_value = _bound(b.keywords, keyword, absent), _bound(c.keywords, keyword, absent)
            if b_value == c_value:
                continue
            infinite = float("inf") if upper else float("-inf")
            b_num = infinite if b_value is None else b_value
            c_num = infinite if c_value is None else c_value
            direction = "increased" if c_num > b_num else "decreased"
            was = "unbounded" if b_value is None else b_value
            now = "unbounded" if c_value is None else c_value
            say(f"{prefix}-{direction}", f"{keyword} {was} → {now}")
        if _canonical(b.keywords.get("multipleOf")) != _canonical(c.keywords.get("multipleOf")):
            say(
                "multiple-of-changed",
                f"multipleOf {_short(b.keywords.get('multipleOf'))} → {_short(c.keywords.get('multipleOf'))}",
            )

    def _annotations(self, b: _View, c: _View, say: Callable[..., None]) -> None:
        for keyword in ("pattern", "format", "default"):
            was, now = b.keywords.get(keyword, _MISSING), c.keywords.get(keyword, _MISSING)
            if _canonical_or_missing(was) == _canonical_or_missing(now):
                continue
            if was is _MISSING:
                say(f"{keyword}-added", f"{keyword} {_short(now)} added")
            elif now is _MISSING:
                say(f"{keyword}-removed", f"{keyword} {_short(was)} removed")
            else:
                say(f"{keyword}-changed", f"{keyword} {_short(was)} → {_short(now)}")
        if c.keywords.get("deprecated") is True and b.keywords.get("deprecated") is not True:
            say("became-deprecated", "is now deprecated")

    def _properties(
        self, b: _View, c: _View, direction: Direction, seen: frozenset[tuple[str, str]], say: Callable[..., None]
    ) -> None:
        for name in sorted(set(b.properties) | set(c.properties)):
            if name not in b.properties:
                ptr = c.properties[name][0]
                if name in c.required:
                    say("required-property-added", f"new required property {name!r}", ptr)
                else:
                    say("property-added", f"new optional property {name!r}", ptr)
                continue
            if name not in c.properties:
                ptr = b.properties[name][0]
                if name in b.required:
                    say("required-property-removed", f"required property {name!r} was removed", ptr)
                else:
                    say("property-removed", f"optional property {name!r} was removed", ptr)
                continue
            (b_ptr, b_schema), (c_ptr, c_schema) = b.properties[name], c.properties[name]
            if name in c.required and name not in b.required:
                say("property-became-required", f"property {name!r} is now required", c_ptr)
            elif name in b.required and name not in c.required:
                say("property-became-optional", f"property {name!r} is now optional", c_ptr)
            self.schema(b_ptr, b_schema, c_ptr, c_schema, direction, seen)

    def _additional(
        self, b: _View, c: _View, direction: Direction, seen: frozenset[tuple[str, str]], say: Callable[..., None]
    ) -> None:
        if not ({"object"} & (b.types | c.types) or b.properties or c.properties):
            return
        b_extra, c_extra = b.keywords.get("additionalProperties", True), c.keywords.get("additionalProperties", True)
        if b_extra is not False and c_extra is False:
            say("additional-properties-forbidden", "no longer accepts properties it does not declare")
        elif b_extra is False and c_extra is not False:
            say("additional-properties-allowed", "now accepts properties it does not declare")
        elif isinstance(b_extra, dict) and isinstance(c_extra, dict):
            self.schema(
                _child(b.pointer, "additionalProperties"),
                b_extra,
                _child(c.pointer, "additionalProperties"),
                c_extra,
                direction,
                seen,
            )

    def _variants(
        self, b: _View, c: _View, direction: Direction, seen: frozenset[tuple[str, str]], say: Callable[..., None]
    ) -> None:
        if not b.variants and not c.variants:
            return
        b_keys = {self._variant_key(self.base, ptr, node, i): (ptr, node) for i, (ptr, node) in enumerate(b.variants)}
        c_keys = {self._variant_key(self.cand, ptr, node, i): (ptr, node) for i, (ptr, node) in enumerate(c.variants)}
        for key in sorted(set(b_keys) | set(c_keys)):
            if key not in b_keys:
                say("variant-added", f"new oneOf/anyOf member {key}", c_keys[key][0])
            elif key not in c_keys:
                say("variant-removed", f"oneOf/anyOf member {key} was removed", b_keys[key][0])
            else:
                self.schema(*b_keys[key], *c_keys[key], direction, seen)

    def _variant_key(self, doc: Any, ptr: str, node: Any, index: int) -> str:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return str(node["$ref"]).rsplit("/", 1)[-1]
        _, target = self._deref(doc, ptr, node)
        if isinstance(target, dict) and target.get("title"):
            return str(target["title"])
        if isinstance(target, dict) and isinstance(target.get("type"), str):
            return str(target["type"])
        return f"#{index}"

    # ------------------------------------------------------------------ resolution
    def _deref(self, doc: Any, ptr: str, node: Any) -> tuple[str, Any]:
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            ptr = node["$ref"][1:]
            node = _get(doc, ptr)
            hops += 1
            if node is _MISSING or hops > 32:
                return ptr, {}
        return ptr, node

    def _view(self, doc: Any, ptr: str, node: Any) -> _View:
        declared = ptr
        ptr, node = self._deref(doc, ptr, node)
        if node is True or node is _MISSING:
            node = {}
        if not isinstance(node, dict):
            node = {"not": {}}
        keywords = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf", "properties")}
        properties = {name: (_child(ptr, "properties", name), s) for name, s in _mapping(node, "properties").items()}
        required = {name for name in _sequence(node, "required") if isinstance(name, str)}
        types, nullable = _type_set(node.get("type"))
        nullable = nullable or node.get("nullable") is True
        enum = _enum_of(node)
        for i, part in enumerate(_sequence(node, "allOf")):
            sub = self._view(doc, _child(ptr, "allOf", i), part)
            for name, located in sub.properties.items():
                properties.setdefault(name, located)
            required |= sub.required
            for key, value in sub.keywords.items():
                keywords.setdefault(key, value)
            if sub.types:
                types = types & sub.types if types else set(sub.types)
            enum = enum if enum is not None else sub.enum
        variants: list[tuple[str, Any]] = []
        null_member = False
        for key in ("oneOf", "anyOf"):
            for i, member in enumerate(_sequence(node, key)):
                _, target = self._deref(doc, _child(ptr, key, i), member)
                if isinstance(target, dict) and (target.get("type") == "null" or target.get("enum") == [None]):
                    null_member = True
                else:
                    variants.append((_child(ptr, key, i), member))
        nullable = nullable or null_member
        if enum is not None and None in enum:
            nullable = True
            enum = [v for v in enum if v is not None]
        view = _View(
            ptr, keywords, frozenset(types), nullable, properties, frozenset(required), variants, enum, declared
        )
        if null_member and len(variants) == 1 and not types and not properties:
            # `anyOf: [X, {type: null}]` is X, nullable: compare it as X so a spelling change is no change.
            inner = self._view(doc, *variants[0])
            for key, value in keywords.items():
                inner.keywords.setdefault(key, value)
            inner.nullable = inner.nullable or nullable
            inner.declared = declared
            return inner
        return view


def _mapping(node: dict[str, Any], key: str) -> dict[str, Any]:
    """`node[key]` when it is an object; a malformed one (an array of properties) compares as absent."""
    value = node.get(key)
    return value if isinstance(value, dict) else {}


def _sequence(node: dict[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    return value if isinstance(value, list) else []


def _paths_by_shape(doc: Any) -> dict[str, str]:
    """Paths keyed with their parameter names blanked, so a renamed path parameter is the same path."""
    return {re.sub(r"{[^}]*}", "{}", path): path for path in (doc.get("paths") or {})}


def _type_set(value: Any) -> tuple[set[str], bool]:
    if value is None:
        return set(), False
    values = {str(v) for v in value} if isinstance(value, list) else {str(value)}
    return values - {"null"}, "null" in values


def _enum_of(node: dict[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    enum = node.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _bound(keywords: dict[str, Any], keyword: str, absent: Any) -> Any:
    value = keywords.get(keyword, absent)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else absent


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    if not wide:
        return True
    if not narrow:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _type_change(was: frozenset[str], now: frozenset[str]) -> str:
    if _covers(now, was):
        return "type-widened"
    if _covers(was, now):
        return "type-narrowed"
    return "type-changed"


def _types(types: frozenset[str]) -> str:
    return "|".join(sorted(types)) or "any"
