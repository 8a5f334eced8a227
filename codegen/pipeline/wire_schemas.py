"""A schema node of a vendored spec -> a self-contained JSON Schema (2020-12): `$ref`s inlined, `nullable` as null."""

from __future__ import annotations

from typing import Any

from codegen.pipeline.diagnostics import GenerationError, Location
from codegen.pipeline.specs import MAX_SCHEMA_DEPTH, Document, schema_ref_target

# Keywords whose values are schemas (or maps / lists of schemas) and get inlined too.
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "propertyNames", "unevaluatedProperties")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# Annotations that say nothing about validity; dropped to keep the shipped copies small. With every `$ref` inlined,
# the keywords that set a base URI or a dialect have nothing left to do: dropped so no validator looks them up.
_DROPPED = (
    "description", "title", "examples", "example", "x-order", "x-sr-order", "x-fal-order-properties",
    "$id", "$schema", "$anchor", "$dynamicAnchor", "$comment",
)  # fmt: skip
MAX_INLINED_NODES = 100_000  # a document whose $refs fan out (each used twice, ten levels down) would explode


def inline_schema(doc: Document, pointer: str, any_at: frozenset[str] = frozenset()) -> Any:
    """The schema at `pointer` in `doc`, with every local `$ref` replaced by its target.

    `any_at`: locations (`file#pointer`) the manifest retyped as any JSON value; they become `{}` here too, so the
    fake and the contract suite check what the SDK accepts.
    """
    budget = [MAX_INLINED_NODES]
    return _inline(doc, doc.resolve(pointer), doc.at(pointer), (), budget, any_at)


def _inline(
    doc: Document,
    node: Any,
    where: Location,
    stack: tuple[str, ...],
    budget: list[int],
    any_at: frozenset[str] = frozenset(),
) -> Any:
    if any_at and str(where) in any_at:
        return {}
    budget[0] -= 1
    if budget[0] < 0:
        raise GenerationError(
            where, f"the schema expands to more than {MAX_INLINED_NODES} nodes once its $refs are inlined"
        )
    if len(stack) > MAX_SCHEMA_DEPTH:
        raise GenerationError(where, f"$refs nested more than {MAX_SCHEMA_DEPTH} levels deep")
    if isinstance(node, list):
        return [_inline(doc, item, where.child(i), stack, budget, any_at) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    for key in ("$dynamicRef", "$recursiveRef"):
        if key in node:
            raise GenerationError(where.child(key), f"unsupported schema construct {key!r}")
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            # A recursive schema cannot be inlined; accept anything at the point of recursion.
            return {}
        pointer, target = schema_ref_target(doc, ref, where.child("$ref"))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        resolved = _inline(doc, target, doc.at(pointer), (*stack, ref), budget, any_at)
        if _validating(siblings):
            return {"allOf": [resolved], **_inline(doc, siblings, where, stack, budget, any_at)}
        return resolved
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key == "nullable":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {
                name: _inline(doc, sub, where.child(key, name), stack, budget, any_at) for name, sub in value.items()
            }
        elif key in _SCHEMA_LISTS or key in _SCHEMA_KEYS:
            out[key] = _inline(doc, value, where.child(key), stack, budget, any_at)
        else:
            out[key] = value
    if node.get("nullable") is True:
        out = _nullable(out)
    return out


def _validating(siblings: dict[str, Any]) -> bool:
    return any(key not in _DROPPED and key != "nullable" for key in siblings) or siblings.get("nullable") is True


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 `nullable: true` in JSON Schema terms."""
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}
