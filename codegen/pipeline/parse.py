"""Manifest + vendored specs -> IR. The only module that knows OpenAPI and JSON Schema."""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from codegen.pipeline import ir, names, pycode
from codegen.pipeline.diagnostics import (
    Diagnostics,
    GenerationError,
    Location,
    escape_pointer_token,
    join_pointer,
    reading,
)
from codegen.pipeline.manifest import Manifest, OperationDecl, ProviderDecl, ServedModel
from codegen.pipeline.specs import (
    MAX_SCHEMA_DEPTH,
    Document,
    has_pointer,
    load_document,
    schema_ref_target,
    validate_document,
    validate_json_schema,
)
from codegen.pipeline.wire_schemas import inline_schema

_PRIMITIVES: dict[str, ir.TypeKind] = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_CONSTRAINT_KEYS = (
    "maxLength", "minLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
)  # fmt: skip
_KIND_OF_VALUE: dict[type, ir.TypeKind] = {str: "str", int: "int", float: "float", bool: "bool"}
_UNSUPPORTED_KEYS = (
    "not", "if", "then", "else", "discriminator", "patternProperties", "dependentSchemas",
    "$dynamicRef", "$recursiveRef",
)  # fmt: skip
_COUNTS = ("maxLength", "minLength", "minItems", "maxItems")
_COMPONENT_PREFIXES = ("/components/schemas/", "/$defs/", "/definitions/")
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def build_api(
    manifest: Manifest,
    only: frozenset[str] | None,
    diagnostics: Diagnostics,
    overlay: Mapping[str, bytes] | None = None,
) -> ir.Api:
    """Parse every (or the selected) provider into the IR; `overlay` replaces vendored files by path (candidates)."""
    providers = tuple(
        build_provider(manifest, decl, diagnostics, overlay)
        for decl in manifest.providers
        if only is None or decl.name in only
    )
    return ir.Api(
        package=manifest.package,
        providers=providers,
        unified=manifest.unified,
        distribution=manifest.distribution,
        models=manifest.models,
        default_model=manifest.default_model or "",
    )


def build_provider(
    manifest: Manifest, decl: ProviderDecl, diagnostics: Diagnostics, overlay: Mapping[str, bytes] | None = None
) -> ir.Provider:
    """Parse one provider's specs into one unit (models and operations) per model it serves."""
    with reading(Location("providers.toml", join_pointer("/providers", decl.name))):
        return _build_provider(manifest, decl, diagnostics, overlay or {})


def _build_provider(
    manifest: Manifest, decl: ProviderDecl, diagnostics: Diagnostics, overlay: Mapping[str, bytes]
) -> ir.Provider:
    docs = {source.id: load_document(source, manifest.root, overlay.get(source.path)) for source in decl.specs}
    for doc in docs.values():
        validate_document(doc, diagnostics)
    units = []
    used_overrides: set[str] = set()
    for served in decl.models:
        with reading(Location("providers.toml", join_pointer("/providers", decl.name, "models", served.model))):
            unit, builder = _build_unit(manifest, decl, served, docs, diagnostics)
        used_overrides |= builder.used_overrides
        units.append(unit)
    _ProviderBuilder(decl, docs, diagnostics).report_shared_operations()
    _check_overrides_used(decl, used_overrides)
    _check_images(decl, units)
    digest = hashlib.sha256(decl.table_hash.encode())
    for unit in units:
        digest.update(f"{unit.model}\0{unit.inputs_hash}\0".encode())
    return ir.Provider(
        name=decl.name,
        title=decl.title,
        class_name=decl.class_name,
        base_url=decl.base_url,
        docs_url=decl.docs_url,
        auth=decl.auth,
        errors=decl.errors,
        units=tuple(units),
        default_model=manifest.default_of(decl),
        inputs_hash=digest.hexdigest(),
        jobs=decl.jobs,
        files=decl.files,
        fake=decl.fake,
    )


def _build_unit(
    manifest: Manifest, decl: ProviderDecl, served: ServedModel, docs: dict[str, Document], diagnostics: Diagnostics
) -> tuple[ir.Unit, _ProviderBuilder]:
    """One (provider, model): its client's operations (the provider's own and the model's) and their models."""
    builder = _ProviderBuilder(decl, docs, diagnostics)
    declared = decl.unit_operations(served.model)
    operations = tuple(builder.operation(op) for op in declared)
    reserved = names.field_reserved(manifest.templates / "runtime" / "models.py", builder.models)
    models = {name: _name_fields(model, reserved, diagnostics) for name, model in builder.models.items()}
    module_names = {*models, "PROVIDER", "MODEL", f"{decl.class_name}Client", f"Async{decl.class_name}Client"}
    operations = tuple(_name_params(op, names.METHOD_NAMES | module_names, diagnostics) for op in operations)
    if decl.jobs is not None:
        _check_jobs(decl.name, decl.jobs, operations, models, diagnostics)
    adapters = _adapters(manifest, decl, served, operations, models)
    used_specs = list(dict.fromkeys(ref.split("#", 1)[0] for op in declared for ref in _spec_refs(op)))
    digest = hashlib.sha256(f"{decl.table_hash}\0{served.table_hash}\0".encode())
    for spec_id in used_specs:
        digest.update(f"{docs[spec_id].source.path}\0{docs[spec_id].sha256}\0".encode())
    model = manifest.model(served.model)
    unit = ir.Unit(
        model=served.model,
        module=model.module,
        title=model.title,
        model_id=served.id,
        models=tuple(models.values()),
        operations=operations,
        spec_files=tuple(docs[spec_id].source.path for spec_id in used_specs),
        inputs_hash=digest.hexdigest(),
        adapters=adapters,
        images=tuple(_unit_image_rule(rule, models) for rule in decl.images if _request_fields(models, rule.field)),
    )
    return unit, builder


def _unit_image_rule(rule: ir.ImageRule, models: Mapping[str, ir.Model]) -> ir.ImageRule:
    """A provider's image rule with the limits this model's request fields state in the spec filled in.

    A limit the manifest gives wins; where two request models state one, the stricter applies.
    """
    stated: dict[str, list[float]] = {}
    for f in _request_fields(models, rule.field):
        for limit, value in f.image_limits:
            stated.setdefault(limit, []).append(value)
    filled: dict[str, Any] = {}
    for limit, values in stated.items():
        if getattr(rule, limit) is None:
            strict = max(values) if limit.startswith("min_") else min(values)
            filled[limit] = int(strict) if limit in ("max_bytes", "min_width", "min_height") else strict
    return replace(rule, **filled)


def _request_fields(models: Mapping[str, ir.Model], field: str) -> list[ir.Field]:
    """The request models' fields an image rule names: by wire name (top level) or by JSON pointer."""
    found = []
    for name, model in models.items():
        if model.role != "request":
            continue
        if not field.startswith("/"):
            found += [f for f in model.fields if f.wire_name == field]
            continue
        try:
            found.append(wire_field_at(models, name, field, Location("providers.toml")))
        except GenerationError:
            continue
    return found


def _spec_refs(op: OperationDecl) -> list[str]:
    """Every spec an operation reads: its own, its body parts and its body properties' schemas."""
    return [op.spec, *op.body_refs, *(ref for _, ref in op.body_properties)]


def _name_fields(model: ir.Model, reserved: names.Reserved, diagnostics: Diagnostics) -> ir.Model:
    """Give a model's fields their Python names (one namespace per class); a renamed clash is a warning."""
    assigned, clashed = names.assign((f.wire_name for f in model.fields), reserved)
    for f in model.fields:
        name = assigned[f.wire_name]
        if f.wire_name in clashed:
            diagnostics.warn(
                Location.parse(f.source),
                f"property {f.wire_name!r} of {model.name} is generated as `{name}`: another property takes "
                f"`{names.python_name(f.wire_name, reserved)}`; the wire name stays its alias",
                rule="property-renamed",
            )
        elif names.python_name(f.wire_name) != name:
            diagnostics.info(
                Location.parse(f.source),
                f"property {f.wire_name!r} of {model.name} is generated as `{name}`: "
                f"`{names.python_name(f.wire_name)}` is a name pydantic, the runtime or the module uses",
                rule="property-renamed-reserved",
            )
    return replace(model, fields=tuple(replace(f, name=assigned[f.wire_name]) for f in model.fields))


def _name_params(op: ir.Operation, reserved: frozenset[str], diagnostics: Diagnostics) -> ir.Operation:
    """Give an operation's path and query parameters Python names that no method parameter or module name takes."""
    assigned, clashed = names.assign((p.wire_name for p in op.params), reserved)
    for p in op.params:
        name = assigned[p.wire_name]
        if p.wire_name in clashed or names.python_name(p.wire_name) != name:
            why = "another parameter takes it" if p.wire_name in clashed else "the client method already uses it"
            diagnostics.warn(
                Location.parse(p.source),
                f"{p.location} parameter {p.wire_name!r} of {op.name} is generated as `{name}`: "
                f"`{names.python_name(p.wire_name)}` is taken ({why}); it is still sent as {p.wire_name!r}",
                rule="parameter-renamed",
            )
    return replace(op, params=tuple(replace(p, name=assigned[p.wire_name]) for p in op.params))


def _check_jobs(
    provider: str,
    jobs: ir.JobDecl,
    operations: tuple[ir.Operation, ...],
    models: dict[str, ir.Model],
    diagnostics: Diagnostics,
) -> None:
    """The job protocol must name operations of the right kind, and its states should cover the spec's enum."""
    where = Location("providers.toml", f"/providers/{provider}/jobs")
    by_name = {op.name: op for op in operations}
    expected = [(jobs.status_operation, "status")] + [(op.name, "result") for op in operations if op.kind == "result"]
    if jobs.cancel_operation:
        expected.append((jobs.cancel_operation, "cancel"))
    for name, kind in expected:
        op = by_name[name]
        if op.kind != kind:
            raise GenerationError(where, f"operation {name!r} is a {op.kind} operation, not {kind}")
        id_params = [p for p in op.params if p.required]
        if len(id_params) != 1:
            raise GenerationError(where, f"operation {name!r} must take exactly one required parameter (the job id)")
    status_model = models.get(by_name[jobs.status_operation].response or "")
    token = dict(jobs.fields)["status"][0].strip("/")
    field = next((f for f in status_model.fields if f.wire_name == token), None) if status_model else None
    if status_model is None or field is None or field.type.kind != "literal":
        return
    mapped = {raw for raw, _ in jobs.states}
    unmapped = [str(v) for v in field.type.values if str(v) not in mapped]
    if unmapped:
        diagnostics.warn(
            where.child("states"),
            f"status value(s) {', '.join(unmapped)} of {status_model.name}.{token} "
            "are not mapped; jobs reporting them are treated as `unknown`",
            rule="status-unmapped",
        )


def _adapters(
    manifest: Manifest,
    decl: ProviderDecl,
    served: ServedModel,
    operations: tuple[ir.Operation, ...],
    models: dict[str, ir.Model],
) -> tuple[ir.Adapter, ...]:
    """The (provider, model)'s neutral mappings, each field's wire kind and allowed values derived from its spec."""
    tasks = {t.id: t for t in manifest.unified}
    adapters = []
    for mapping in served.unified:
        where = Location(
            "providers.toml", join_pointer("/providers", decl.name, "models", served.model, "unified", mapping.task)
        )
        task = tasks.get(mapping.task)
        if task is None:
            raise GenerationError(where, f"unknown task {mapping.task!r} (declared: {', '.join(tasks) or 'none'})")
        op = next((o for o in operations if o.name == mapping.operation), None)
        if op is None or op.kind != "submit" or op.task != task.task or op.request is None:
            raise GenerationError(
                where.child("operation"),
                f"{mapping.operation!r} is not a {task.task} submit operation of {decl.name} for {served.model}",
            )
        params = {p.name: p for p in task.params}
        fields = []
        for item in mapping.fields:
            at = where.child("fields", item.param)
            if item.param not in params:
                raise GenerationError(at, f"{task.class_name} has no parameter {item.param!r}")
            wire = wire_field_at(models, op.request, item.pointer, at)
            fields.append(wire_field(params[item.param], item.pointer, wire, at))
        missing = [p.name for p in task.params if p.required and p.name not in {f.param for f in fields}]
        if missing:
            raise GenerationError(
                where.child("fields"), f"required parameter(s) {', '.join(missing)} of {task.class_name} not mapped"
            )
        adapters.append(ir.Adapter(mapping.task, task.task, op.name, op.request, tuple(fields)))
    return tuple(adapters)


def wire_field_at(models: Mapping[str, ir.Model], request: str, pointer: str, where: Location) -> ir.Field:
    """The field a JSON pointer names in a request model, followed through nested models."""
    tokens = [_unescape(t) for t in pointer[1:].split("/")]
    model = models[request]
    for i, token in enumerate(tokens):
        found = next((f for f in model.fields if f.wire_name == token), None)
        if found is None:
            walked = "/" + "/".join(escape_pointer_token(t) for t in tokens[:i]) if i else "the body"
            raise GenerationError(
                where, f"{model.name} ({walked}) has no field {token!r}: {pointer} is not on the wire"
            )
        if i == len(tokens) - 1:
            return found
        below = found.type.name
        if found.type.kind != "model" or below is None or below not in models:
            raise GenerationError(where, f"{model.name}.{token} is not an object: {pointer} cannot go below it")
        model = models[below]
    raise AssertionError("unreachable")


# neutral type -> the wire kinds (spec type, or the type of an enum's values) it can be sent as, and as what
_CONVERSIONS: dict[str, dict[str, str]] = {
    "int": {"int": "int", "str": "str", "float": "float"},  # 5 -> 5, "5" (an enum of numeric strings), 5.0
    "float": {"float": "float", "int": "float"},
    "bool": {"bool": "bool"},
    "str": {"str": "str"},
    "list[str]": {"list": "list"},
    "file": {"str": "file"},
}


def wire_kind(neutral: str, wire: ir.TypeRef) -> str | None:
    """How a neutral value of type `neutral` is sent to a wire field of type `wire` (None: it cannot be).

    Pure; tested by table. An enum counts as the type of its values; a list must hold strings.
    """
    kind = _scalar_kind(wire) if wire.kind == "literal" else wire.kind
    if kind == "list" and (wire.item is None or _scalar_kind(wire.item) != "str"):
        return None
    if neutral == "float" and kind == "int" and wire.kind == "int":
        return None  # 0.5 cannot go where an integer is expected
    return _CONVERSIONS.get(neutral, {}).get(kind or "")


def neutral_values(neutral: str, wire: ir.TypeRef) -> tuple[Any, ...] | None:
    """The neutral values a wire enum expresses ("5" -> 5 for a neutral int); None: a value is not expressible."""
    found: list[Any] = []
    for value in wire.values:
        if neutral == "int" and isinstance(value, str):
            if not re.fullmatch(r"-?[1-9]\d*|0", value):
                return None
            found.append(int(value))
        elif neutral == "float" and isinstance(value, int | float) and not isinstance(value, bool):
            found.append(value)
        elif neutral == "int" and isinstance(value, float):
            if not value.is_integer():
                return None
            found.append(int(value))
        else:
            found.append(value)
    return tuple(found)


def wire_field(param: ir.UnifiedParam, pointer: str, wire: ir.Field, where: Location) -> ir.WireField:
    """A neutral parameter's place on the wire: kind, allowed values and bounds from the wire field's spec."""
    spec = f"the wire field: {wire.source}" if wire.source else f"the wire field {pointer}"
    kind = wire_kind(param.type, wire.type)
    if kind is None:
        raise GenerationError(where, f"a neutral {param.type} cannot be sent as {_describe(wire.type)} ({spec})")
    allowed: tuple[Any, ...] = ()
    if wire.type.kind == "literal":
        values = neutral_values(param.type, wire.type)
        if values is None:
            raise GenerationError(where, f"{_describe(wire.type)} holds a value no neutral {param.type} is ({spec})")
        allowed = values
        lost = [v for v in param.enum if v not in allowed]
        if lost:
            raise GenerationError(
                where, f"neutral value(s) {', '.join(repr(v) for v in lost)} of {param.name} cannot be expressed: "
                f"the wire takes {_describe(wire.type)} ({spec})",
            )  # fmt: skip
        if param.enum:
            allowed = tuple(v for v in param.enum if v in allowed)
    bounds = {c.keyword: c.value for c in wire.constraints}
    minimum, maximum = bounds.get("minimum"), bounds.get("maximum")
    if kind == "int" and isinstance(bounds.get("exclusiveMinimum"), int | float):
        minimum = math.floor(float(bounds["exclusiveMinimum"])) + 1
    if kind == "int" and isinstance(bounds.get("exclusiveMaximum"), int | float):
        maximum = math.ceil(float(bounds["exclusiveMaximum"])) - 1
    return ir.WireField(
        param=param.name,
        pointer=pointer,
        kind=kind,
        allowed=allowed,
        minimum=float(minimum) if isinstance(minimum, int | float) and kind in ("int", "float") else None,
        maximum=float(maximum) if isinstance(maximum, int | float) and kind in ("int", "float") else None,
        max_length=_count(bounds.get("maxLength")) if kind in ("str", "file") else None,
        max_items=_count(bounds.get("maxItems")) if kind == "list" else None,
        source=wire.source,
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_images(decl: ProviderDecl, units: list[ir.Unit]) -> None:
    """Every image rule must name a field of some request model: by name (top level) or by JSON pointer."""
    for rule in decl.images:
        where = Location("providers.toml", f"/providers/{decl.name}/inputs/images/{escape_pointer_token(rule.field)}")
        if not any(_has_request_field(unit, rule.field) for unit in units):
            raise GenerationError(where, f"no request model has a field {rule.field!r}")


def _has_request_field(unit: ir.Unit, field: str) -> bool:
    return bool(_request_fields({m.name: m for m in unit.models}, field))


def _check_overrides_used(decl: ProviderDecl, used: set[str]) -> None:
    """An override that matches no field of any model's client is a stale manifest entry."""
    for override in decl.overrides:
        if override.target not in used:
            raise GenerationError(
                Location("providers.toml", f"/providers/{decl.name}/overrides/{escape_pointer_token(override.target)}"),
                f"override {override.target!r} matches no generated field",
            )


@dataclass(frozen=True)
class _Node:
    """A schema node and where it sits."""

    doc: Document
    pointer: str
    schema: Any

    @property
    def location(self) -> Location:
        return self.doc.at(self.pointer)

    def child(self, *tokens: str | int) -> _Node:
        node = self.schema
        for token in tokens:
            node = node[token]
        return _Node(self.doc, join_pointer(self.pointer, *tokens), node)


@dataclass(frozen=True)
class _Shape:
    """What a schema node means as a field type, before it becomes an ir.Field."""

    type: ir.TypeRef
    nullable: bool = False
    constraints: tuple[ir.Constraint, ...] = ()
    description: str | None = None
    default: tuple[Any, ...] = ()  # () = no default, (value,) = default
    default_at: _Node | None = None


class _ProviderBuilder:
    """Builds the models and operations of one provider, naming and de-duplicating models."""

    def __init__(self, decl: ProviderDecl, docs: dict[str, Document], diagnostics: Diagnostics) -> None:
        self.decl = decl
        self.docs = docs
        self.diag = diagnostics
        self.models: dict[str, ir.Model] = {}
        self.renames = dict(decl.rename)
        self.overrides = {o.target: o for o in decl.overrides}
        self.used_overrides: set[str] = set()
        self.validated_schemas: set[tuple[str, str]] = set()
        self.building: dict[str, str] = {}  # model name -> schema location, while its fields are parsed
        self.resolving: list[str] = []  # $ref targets followed outside a model, to catch a cycle among them
        self.depth = 0
        self.any_locations: set[str] = set()  # where an override made the wire type any JSON value

    # ------------------------------------------------------------------ operations
    def operation(self, op: OperationDecl) -> ir.Operation:
        doc = self.docs[op.spec]
        with reading(doc.at(join_pointer("/paths", op.path))):
            return self._operation(op, doc)

    def _operation(self, op: OperationDecl, doc: Document) -> ir.Operation:
        paths = doc.data.get("paths") if isinstance(doc.data, dict) else None
        path_pointer = join_pointer("/paths", op.path)
        if not isinstance(paths, dict) or op.path not in paths:
            raise GenerationError(doc.at(path_pointer), f"no path {op.path!r} in this document")
        path_node = _Node(doc, path_pointer, paths[op.path])
        _expect_object(path_node)
        method = op.method.lower()
        if method not in path_node.schema:
            raise GenerationError(path_node.location, f"no {op.method} operation on {op.path!r}")
        op_node = path_node.child(method)
        _expect_object(op_node)
        params = self._params(path_node, op_node)
        wire_path = op.wire_path or op.path
        placeholders = re.findall(r"{([^}]+)}", wire_path)
        declared = {p.wire_name for p in params if p.location == "path"}
        if set(placeholders) != declared:
            raise GenerationError(
                op_node.location,
                f"path parameters {sorted(declared)} do not match the placeholders of {wire_path!r}",
            )
        request, request_schema = self._request_model(op, op_node)
        response, response_node = self._response_model(op, op_node)
        summary = op_node.schema.get("summary") or op_node.schema.get("description")
        return ir.Operation(
            name=op.name,
            kind=op.kind,
            task=op.task,
            method=op.method,
            path=wire_path,
            params=params,
            request=request,
            response=response,
            summary=_clean_text(summary),
            source=str(op_node.location),
            spec_path=op.path,
            constants=op.constants,
            model=op.model,
            request_schema=request_schema,
            response_schema=(
                inline_schema(response_node.doc, response_node.pointer, frozenset(self.any_locations))
                if response_node
                else None
            ),
        )

    def _params(self, path_node: _Node, op_node: _Node) -> tuple[ir.Param, ...]:
        found: dict[tuple[str, str], ir.Param] = {}
        for owner in (path_node, op_node):
            for i in range(len(_expect(owner, "parameters", list, []))):
                node = self._deref(owner.child("parameters", i))
                _expect_object(node)
                location = node.schema.get("in")
                name = _expect(node, "name", str)
                if location not in ("path", "query"):
                    self.diag.warn(
                        node.location,
                        f"{location} parameter {name!r} is not supported; not generated",
                        rule="parameter-unsupported",
                    )
                    continue
                shape = (
                    self._shape(node.child("schema"), names.class_name(name), "request")
                    if "schema" in node.schema
                    else _Shape(ir.TypeRef("str"))
                )
                found[(location, name)] = ir.Param(
                    name=name,  # the Python name is given once all models are known (_name_params)
                    wire_name=name,
                    location=location,
                    type=shape.type,
                    required=bool(node.schema.get("required")) or location == "path",
                    description=_clean_text(node.schema.get("description")) or shape.description,
                    source=str(node.location),
                )
        if len({wire for _, wire in found}) != len(found):
            raise GenerationError(op_node.location, "a path and a query parameter share one name: not supported")
        return tuple(found.values())

    def _request_model(self, op: OperationDecl, op_node: _Node) -> tuple[str | None, tuple[Any, ...]]:
        """The request model's name and the wire schema of each body part (what the fake validates against)."""
        if op.body:
            sources = [self._body_source(part) for part in op.body]
        else:
            body = op_node.schema.get("requestBody")
            if body is None:
                if op.request:
                    raise GenerationError(
                        op_node.location,
                        f"manifest names request model {op.request!r} but the operation has no requestBody",
                    )
                return None, ()
            body_node = self._deref(op_node.child("requestBody"))
            content = _expect(body_node, "content", dict, {})
            if "application/json" not in content:
                raise GenerationError(
                    body_node.location, f"unsupported request content type(s): {', '.join(content) or 'none'}"
                )
            media = body_node.child("content", "application/json")
            _expect(media, "schema", (dict, bool))
            sources = [media.child("schema")]
        if not op.request:
            raise GenerationError(
                op_node.location, "the operation has a request body: name its model with `request` in providers.toml"
            )
        # A body property whose schema another document declares (Replicate: `input` is the model's own Input).
        replaced = {name: self._body_source((ref,)) for name, ref in op.body_properties}
        model = self._object_model(op.request, "request", sources, constants=op.constants, replaced=replaced)
        schemas = []
        for node in sources:
            schema = inline_schema(node.doc, node.pointer)
            properties = schema.get("properties") if isinstance(schema, dict) else None
            for name, source in replaced.items():
                if isinstance(properties, dict) and name in properties:
                    properties[name] = inline_schema(source.doc, source.pointer)
            schemas.append(schema)
        return model.name, tuple(schemas)

    def _body_source(self, part: tuple[str, ...]) -> _Node:
        """The schema of one body part: the first of its alternative refs that exists in its document."""
        for ref in part[:-1]:
            spec_id, _, pointer = ref.partition("#")
            if has_pointer(self.docs[spec_id].data, pointer):
                break
        else:
            spec_id, _, pointer = part[-1].partition("#")  # the last one: missing, its error names it
        doc = self.docs[spec_id]
        node = _Node(doc, pointer, doc.resolve(pointer))
        if doc.source.format == "json" and (doc.source.path, pointer) not in self.validated_schemas:
            self.validated_schemas.add((doc.source.path, pointer))
            validate_json_schema(node.schema, node.location, self.diag)
        return node

    def _response_model(self, op: OperationDecl, op_node: _Node) -> tuple[str | None, _Node | None]:
        responses = _expect(op_node, "responses", dict, {})
        for status in sorted(str(s) for s in responses):
            if not re.fullmatch(r"2\d\d", status):
                continue
            response = self._deref(op_node.child("responses", status))
            content = _expect(response, "content", dict, {})
            if "application/json" in content and "schema" in _expect(
                response.child("content"), "application/json", dict
            ):
                if not op.response:
                    raise GenerationError(
                        response.location,
                        "the operation returns JSON: name its model with `response` in providers.toml",
                    )
                schema_node = response.child("content", "application/json", "schema")
                return self._object_model(op.response, "response", [schema_node]).name, schema_node
        if op.response:
            raise GenerationError(
                op_node.location.child("responses"), f"no 2xx JSON response to become {op.response!r}"
            )
        return None, None

    def report_shared_operations(self) -> None:
        """Warn where several documents declare one operationId or one method+path."""
        by_id: dict[str, list[Location]] = defaultdict(list)
        by_route: dict[tuple[str, str], list[Location]] = defaultdict(list)
        for doc in self.docs.values():
            if doc.source.format != "openapi":
                continue
            paths = doc.data.get("paths") if isinstance(doc.data, dict) else None
            for path, item in (paths if isinstance(paths, dict) else {}).items():
                for method in _HTTP_METHODS:
                    if isinstance(item, dict) and isinstance(item.get(method), dict):
                        where = doc.at(join_pointer("/paths", path, method))
                        by_route[(method.upper(), path)].append(where)
                        if isinstance(item[method].get("operationId"), str):
                            by_id[item[method]["operationId"]].append(where)
        for op_id, places in by_id.items():
            if len(places) > 1:
                others = ", ".join(str(p) for p in places[1:])
                self.diag.warn(
                    places[0],
                    f"operationId {op_id!r} is shared with {others}; method names come from providers.toml",
                    rule="operation-id-shared",
                )
        for (method, path), places in by_route.items():
            files = {p.file for p in places}
            if len(files) > 1:
                self.diag.info(
                    places[0],
                    f"{method} {path} is declared by {len(files)} documents; the manifest's spec id picks one",
                    rule="route-shared",
                )

    # ------------------------------------------------------------------ models
    def _deref(self, node: _Node) -> _Node:
        seen = set()
        while isinstance(node.schema, dict) and "$ref" in node.schema:
            if node.pointer in seen:
                raise GenerationError(node.location, "circular $ref")
            seen.add(node.pointer)
            pointer, target = schema_ref_target(node.doc, node.schema["$ref"], node.location.child("$ref"))
            node = _Node(node.doc, pointer, target)
        return node

    def _renamed(self, name: str) -> str:
        return self.renames.get(name, name)

    def _object_model(
        self,
        name: str,
        role: ir.Role,
        sources: list[_Node],
        constants: tuple[tuple[str, Any], ...] = (),
        replaced: Mapping[str, _Node] | None = None,
    ) -> ir.Model:
        name = self._renamed(name)
        source = str(sources[0].location)
        if name in self.building and self.building[name] != source:
            raise GenerationError(
                sources[0].location,
                f"class name {name!r} is already used for a different schema at {self.building[name]}; "
                "add a `rename` or pick another name in providers.toml",
            )
        self.building[name] = source
        try:
            properties: dict[str, _Node] = {}
            required: set[str] = set()
            description: str | None = None
            for node in sources:
                for part in self._object_parts(node, ()):
                    description = description or _clean_text(part.schema.get("description"))
                    for prop in _expect(part, "properties", dict, {}):
                        properties[prop] = part.child("properties", prop)
                    wanted = _expect(part, "required", list, [])
                    if not all(isinstance(r, str) for r in wanted):
                        raise GenerationError(part.location.child("required"), "expected an array of property names")
                    required.update(wanted)
            for prop, node in (replaced or {}).items():
                if prop not in properties:
                    raise GenerationError(
                        sources[0].location,
                        f"`body_properties` names {prop!r}, which this body schema does not declare",
                    )
                properties[prop] = node
            fields = [self._field(name, role, wire, node, wire in required) for wire, node in properties.items()]
            fields = self._apply_constants(name, role, fields, constants, sources[0])
        finally:
            del self.building[name]
        model = ir.Model(name=name, role=role, description=description, fields=tuple(fields), source=source)
        return self._register(model)

    def _component_model(self, name: str, role: ir.Role, node: _Node) -> _Shape:
        """A `$ref`'d component object: built once, or a forward reference when it refers back to itself."""
        name = self._renamed(name)
        existing = self.models.get(name)
        if existing is not None and existing.source == str(node.location) and existing.role == role:
            return _Shape(ir.TypeRef("model", name=name), description=existing.description)
        if self.building.get(name) == str(node.location):
            # A -> B -> A: the class is being defined; refer to it by name (pydantic resolves it afterwards).
            return _Shape(ir.TypeRef("model", name=name), description=_clean_text(node.schema.get("description")))
        model = self._object_model(name, role, [node])
        return _Shape(ir.TypeRef("model", name=model.name), description=model.description)

    def _object_parts(self, node: _Node, seen: tuple[str, ...]) -> list[_Node]:
        node = self._deref(node)
        if node.pointer in seen:
            raise GenerationError(node.location, "circular allOf: a schema includes itself")
        _expect_object(node)
        schema = node.schema
        self._reject_unsupported(node)
        parts = [node] if "properties" in schema or schema.get("type") == "object" else []
        for i, _ in enumerate(_expect(node, "allOf", list, [])):
            parts.extend(self._object_parts(node.child("allOf", i), (*seen, node.pointer)))
        if not parts:
            raise GenerationError(node.location, "expected an object schema (type: object with properties)")
        return parts

    def _register(self, model: ir.Model) -> ir.Model:
        existing = self.models.get(model.name)
        if existing is None:
            self.models[model.name] = model
        elif existing != model:
            raise GenerationError(
                Location.parse(model.source) if "#" in model.source else None,
                f"class name {model.name!r} is already used for a different schema at {existing.source}; "
                "add a `rename` or pick another name in providers.toml",
            )
        return self.models[model.name]

    def _apply_constants(
        self, model: str, role: ir.Role, fields: list[ir.Field], constants: tuple[tuple[str, Any], ...], where: _Node
    ) -> list[ir.Field]:
        by_wire = {f.wire_name: f for f in fields}
        for wire, value in constants:
            base = by_wire.get(wire) or ir.Field(
                wire, wire, ir.TypeRef("str"), True, False, None, source=str(where.location)
            )
            by_wire[wire] = replace(
                base,
                type=ir.TypeRef("literal", values=(value,)),
                required=False,
                has_default=True,
                default=value,
                constant=True,
            )
        result = []
        for f in by_wire.values():
            # A required property that admits exactly one value is a wire constant: defaulted and always sent.
            if role == "request" and f.required and f.type.kind == "literal" and len(f.type.values) == 1:
                f = replace(f, required=False, has_default=True, default=f.type.values[0], constant=True)
            result.append(f)
        order = {f.wire_name: i for i, f in enumerate(fields)}
        return sorted(result, key=lambda f: order.get(f.wire_name, -1))

    def _field(self, model: str, role: ir.Role, wire: str, node: _Node, required: bool) -> ir.Field:
        with reading(node.location):
            return self._field_of(model, role, wire, node, required)

    def _field_of(self, model: str, role: ir.Role, wire: str, node: _Node, required: bool) -> ir.Field:
        target = f"{model}.{wire}"
        override = self.overrides.get(target)
        if override is not None:
            self.used_overrides.add(target)
        if override is not None and override.type is not None:
            if override.type != "any":
                raise GenerationError(
                    Location("providers.toml"), f'override {target!r}: only type = "any" is supported'
                )
            self.diag.info(
                node.location,
                f"type replaced by a JSON value per providers.toml: {override.reason}",
                rule="override-type",
                known=override.reason,
            )
            self.any_locations.add(str(node.location))
            shape = _Shape(ir.TypeRef("any"), nullable=True, description=_clean_text(node.schema.get("description")))
        else:
            shape = self._shape(node, model + names.pascal_case(wire), role)
        if override is not None and override.constraints:
            added = tuple(ir.Constraint(k, v) for k, v in override.constraints)
            kept = tuple(c for c in shape.constraints if c.keyword not in dict(override.constraints))
            shape = replace(shape, constraints=kept + added)
            self.diag.info(
                node.location,
                f"constraints added per providers.toml: {override.reason}",
                rule="override-constraints",
                known=override.reason,
            )
        has_default, default = False, None
        if shape.default:
            has_default, default = self._coerce_default(shape, shape.default_at or node)
        return ir.Field(
            name=wire,  # the Python name is given once all models are known (_name_fields)
            wire_name=wire,
            type=shape.type,
            required=required,
            nullable=shape.nullable,
            description=shape.description,
            constraints=shape.constraints,
            has_default=has_default,
            default=default,
            source=str(node.location),
            image_limits=self._image_limits(node) if role == "request" else (),
        )

    def _image_limits(self, node: _Node) -> tuple[tuple[str, float], ...]:
        """The image limits a field's own extension object states (`inputs.image_limits` names it and its keys)."""
        declared = self.decl.image_limits
        stated = node.schema.get(declared.extension) if declared is not None else None
        if declared is None or stated is None:
            return ()
        where = node.location.child(declared.extension)
        if not isinstance(stated, dict):
            raise GenerationError(where, f"expected an object of image limits, got {type(stated).__name__}")
        limits = []
        for limit, key in declared.keys:
            value = stated.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise GenerationError(where.child(key), f"expected a positive number for {limit}, got {value!r}")
            limits.append((limit, float(value)))
        return tuple(limits)

    def _reject_unsupported(self, node: _Node) -> None:
        for key in _UNSUPPORTED_KEYS:
            if key in node.schema:
                raise GenerationError(node.location.child(key), f"unsupported schema construct {key!r}")

    def _shape(self, node: _Node, context: str, role: ir.Role) -> _Shape:
        """The type a schema node describes; `context` names an inline object model."""
        if self.depth >= MAX_SCHEMA_DEPTH:
            raise GenerationError(node.location, f"schema nested more than {MAX_SCHEMA_DEPTH} levels deep")
        self.depth += 1
        try:
            return self._shape_of(node, context, role)
        finally:
            self.depth -= 1

    def _shape_of(self, node: _Node, context: str, role: ir.Role) -> _Shape:
        schema = node.schema
        if schema is True or schema == {}:
            return _Shape(ir.TypeRef("any"), nullable=True)
        if not isinstance(schema, dict):
            raise GenerationError(node.location, "expected a schema object")
        self._reject_unsupported(node)
        outer = _Shape(
            ir.TypeRef("any"),
            nullable=bool(schema.get("nullable")),
            description=_clean_text(schema.get("description")),
            default=(schema["default"],) if "default" in schema else (),
            default_at=node.child("default") if "default" in schema else None,
        )
        if "$ref" in schema:
            pointer, target = schema_ref_target(node.doc, schema["$ref"], node.location.child("$ref"))
            target_node = _Node(node.doc, pointer, target)
            component = next((pointer[len(p) :] for p in _COMPONENT_PREFIXES if pointer.startswith(p)), None)
            if component and "/" not in component and _is_object(target):
                inner = self._component_model(names.class_name(_unescape(component)), role, target_node)
            elif pointer in self.resolving:
                raise GenerationError(
                    node.location.child("$ref"), "recursive schema that is not a named object: not supported"
                )
            else:
                self.resolving.append(pointer)
                try:
                    inner = self._shape(
                        target_node, names.class_name(_unescape(component)) if component else context, role
                    )
                finally:
                    self.resolving.pop()
            return _merge(outer, inner)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                _expect(node, key, list)
                return _merge(outer, self._union(node, key, context, role))
        if "allOf" in schema:
            members = _expect(node, "allOf", list)
            if len(members) == 1 and not _has_own_type(schema):
                return _merge(outer, self._shape(node.child("allOf", 0), context, role))
            model = self._object_model(context, role, [node])
            return replace(outer, type=ir.TypeRef("model", name=model.name))
        types = _expect(node, "type", (str, list), None)
        if isinstance(types, list):
            non_null = [t for t in types if t != "null"]
            if len(non_null) != 1:
                raise GenerationError(node.location.child("type"), f"unsupported schema construct: type {types!r}")
            outer = replace(outer, nullable=outer.nullable or "null" in types)
            types = non_null[0]
        constraints = self._constraints(node)
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else list(_expect(node, "enum", list))
            nullable = outer.nullable or None in values
            values = [v for v in values if v is not None]
            if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
                raise GenerationError(
                    node.location.child("enum"), "unsupported enum: values must be strings, numbers or booleans"
                )
            return replace(
                outer, type=ir.TypeRef("literal", values=tuple(values)), nullable=nullable, constraints=constraints
            )
        if types in _PRIMITIVES:
            return replace(outer, type=ir.TypeRef(_PRIMITIVES[types]), constraints=constraints)
        if types == "array":
            item = (
                self._shape(node.child("items"), context + "Item", role)
                if _expect(node, "items", (dict, bool), None) is not None
                else _Shape(ir.TypeRef("any"))
            )
            item_type = item.type if not item.nullable or item.type.kind == "any" else ir.TypeRef("any")
            return replace(outer, type=ir.TypeRef("list", item=item_type), constraints=constraints)
        if types == "object" or "properties" in schema:
            if _expect(node, "properties", dict, {}):
                title = schema.get("title")
                name = (
                    title
                    if isinstance(title, str)
                    and names.is_class_name(title)
                    and (title not in self.models or self.models[title].source == str(node.location))
                    and title not in self.building
                    else context
                )
                model = self._object_model(name, role, [node])
                return replace(outer, type=ir.TypeRef("model", name=model.name))
            extra = _expect(node, "additionalProperties", (dict, bool), True)
            value = (
                self._shape(node.child("additionalProperties"), context + "Value", role).type
                if isinstance(extra, dict) and extra
                else ir.TypeRef("any")
            )
            return replace(outer, type=ir.TypeRef("dict", item=value))
        if types is None:
            return replace(outer, nullable=True)
        if types == "null":
            return replace(outer, nullable=True)
        raise GenerationError(node.location.child("type"), f"unsupported schema type {types!r}")

    def _constraints(self, node: _Node) -> tuple[ir.Constraint, ...]:
        """The validation keywords of a schema, checked: a malformed one is an error naming it."""
        schema = node.schema
        for key in _CONSTRAINT_KEYS:
            if key not in schema:
                continue
            value = schema[key]
            where = node.location.child(key)
            if key == "pattern":
                if not isinstance(value, str):
                    raise GenerationError(where, "a pattern must be a string")
                problem = _pattern_problem(value)
                if problem is not None and not _pydantic_accepts(value):
                    raise GenerationError(where, f"invalid regular expression {pycode.comment(value[:80])}: {problem}")
            elif key in _COUNTS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise GenerationError(where, f"{key} must be a non-negative integer, got {_short(value)}")
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                continue
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise GenerationError(where, f"{key} must be a number, got {_short(value)}")
            elif key == "multipleOf" and value <= 0:
                raise GenerationError(where, f"multipleOf must be greater than 0, got {value}")
        found = _constraints(schema)
        pattern = next((c for c in found if c.keyword == "pattern"), None)
        # Python's re (the fake provider's jsonschema) accepts look-around and back-references, pydantic-core not.
        if pattern is not None and not _pydantic_accepts(str(pattern.value)):
            self.diag.warn(
                node.location.child("pattern"),
                "pydantic's regular-expression engine does not support this pattern (look-around or a back-reference);"
                " it is not enforced by the generated model",
                rule="pattern-not-enforced",
            )
            found = tuple(c for c in found if c is not pattern)
        return found

    def _union(self, node: _Node, key: str, context: str, role: ir.Role) -> _Shape:
        members = node.schema[key]
        shapes = []
        nullable = False
        for i, member in enumerate(members):
            if isinstance(member, dict) and member.get("type") == "null" and len(member) == 1:
                nullable = True
                continue
            shapes.append(self._shape(node.child(key, i), context, role))
        if len(shapes) == 1:
            return replace(shapes[0], nullable=nullable or shapes[0].nullable)
        kinds = {_scalar_kind(s.type) for s in shapes}
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is not None:
            # e.g. anyOf [enum of strings, string]: any string is allowed
            return _Shape(ir.TypeRef(kind), nullable=nullable or any(s.nullable for s in shapes))
        raise GenerationError(
            node.location.child(key), f"unsupported schema construct: {key} of {len(shapes)} different types"
        )

    def _coerce_default(self, shape: _Shape, where: _Node) -> tuple[bool, Any]:
        value = shape.default[0]
        if value is None:
            if shape.nullable:
                return True, None
            self.diag.warn(
                where.location, "default null on a non-nullable property; no default generated", rule="default-dropped"
            )
            return False, None
        ok, coerced = _coerce(value, shape.type)
        if not ok:
            self.diag.warn(
                where.location,
                f"default {value!r} does not match the declared type ({_describe(shape.type)}); no default generated",
                rule="default-dropped",
            )
            return False, None
        if coerced != value or type(coerced) is not type(value):
            self.diag.warn(
                where.location,
                f"default {value!r} is not {_describe(shape.type)}; coerced to {coerced!r}",
                rule="default-coerced",
            )
        return True, coerced


def _is_object(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and (schema.get("type") == "object" or "properties" in schema or "allOf" in schema)
        and "enum" not in schema
    )


def _has_own_type(schema: dict[str, Any]) -> bool:
    return "properties" in schema or "type" in schema


def _merge(outer: _Shape, inner: _Shape) -> _Shape:
    """Keywords beside a $ref/anyOf (description, default, nullable) win over the referenced ones."""
    return _Shape(
        type=inner.type,
        nullable=outer.nullable or inner.nullable,
        constraints=inner.constraints,
        description=outer.description or inner.description,
        default=outer.default or inner.default,
        default_at=outer.default_at if outer.default else inner.default_at,
    )


def _expect(node: _Node, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """`node.schema[key]` checked to be of `kind`; a missing key gives `default` (an error when there is none)."""
    _expect_object(node)
    if key not in node.schema:
        if default is ...:
            raise GenerationError(node.location, f"missing {key!r}")
        return default
    value = node.schema[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise GenerationError(node.location.child(key), f"expected {_kind(kind)} for {key!r}, got {_short(value)}")
    return value


def _expect_object(node: _Node) -> None:
    if not isinstance(node.schema, dict):
        raise GenerationError(node.location, f"expected an object, got {_short(node.schema)}")


def _kind(kind: type | tuple[type, ...]) -> str:
    words = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer"}
    return " or ".join(words.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))


def _short(value: Any) -> str:
    """A value named in an error: its JSON type, and the value itself when it is short."""
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
    shown = repr(value)
    return f"{kind} ({pycode.comment(shown)})" if len(shown) <= 40 and not isinstance(value, dict | list) else kind


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a regular expression (None when it is)."""
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return str(exc)
    return None


def _pydantic_accepts(pattern: str) -> bool:
    """Whether pydantic-core's regex engine compiles `pattern` (it lacks look-around and back-references)."""
    from pydantic_core import SchemaError, SchemaValidator, core_schema

    try:
        SchemaValidator(core_schema.str_schema(pattern=pattern))
    except SchemaError:
        return False
    return True


def _constraints(schema: dict[str, Any]) -> tuple[ir.Constraint, ...]:
    found: list[ir.Constraint] = []
    for key in _CONSTRAINT_KEYS:
        value = schema.get(key)
        if isinstance(value, bool):
            # OpenAPI 3.0 boolean exclusive bounds
            bound = "maximum" if key == "exclusiveMaximum" else "minimum"
            if value and bound in schema:
                found = [c for c in found if c.keyword != bound]
                found.append(ir.Constraint(key, schema[bound]))
            continue
        if isinstance(value, (int, float, str)):
            if key in ("minimum", "maximum") and schema.get("exclusive" + key.capitalize()) is True:
                continue
            found.append(ir.Constraint(key, value))
    return tuple(found)


def _scalar_kind(t: ir.TypeRef) -> ir.TypeKind | None:
    """The primitive kind of a scalar type or of a literal whose values share one kind; else None."""
    if t.kind == "literal":
        kinds = {_KIND_OF_VALUE[type(v)] for v in t.values}
        return kinds.pop() if len(kinds) == 1 else None
    return t.kind if t.kind in ("str", "int", "float", "bool") else None


def _describe(t: ir.TypeRef) -> str:
    if t.kind == "literal":
        return "one of " + ", ".join(repr(v) for v in t.values)
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}.get(t.kind, t.kind)


def _coerce(value: Any, t: ir.TypeRef) -> tuple[bool, Any]:
    """Coerce a default to the declared type: (ok, value). Pure; tested by table."""
    if t.kind == "literal":
        if any(value == v and type(value) is type(v) for v in t.values):
            return True, value
        for v in t.values:
            ok, coerced = _coerce(value, ir.TypeRef(_KIND_OF_VALUE[type(v)]))
            if ok and coerced == v:
                return True, v
        return False, None
    if t.kind == "int":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return True, int(value)
        return False, None
    if t.kind == "float":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, (int, float)):
            return True, value
        if isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, None
        return False, None
    if t.kind == "bool":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return True, value.lower() == "true"
        return False, None
    if t.kind == "str":
        if isinstance(value, str):
            return True, value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, str(value)
        return False, None
    if t.kind == "list":
        return isinstance(value, list), value
    if t.kind in ("dict", "model"):
        return isinstance(value, dict), value
    return True, value


def _clean_text(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text or None
