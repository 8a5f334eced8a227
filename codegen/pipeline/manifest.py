"""Load providers.toml into frozen records; unknown or missing keys are errors."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from codegen.pipeline import names
from codegen.pipeline.diagnostics import GenerationError, KnownDefect, Location
from codegen.pipeline.ir import (
    JOB_FIELDS,
    JOB_STATES,
    Auth,
    Distribution,
    ErrorShape,
    FailedJobAnswer,
    FakeDecl,
    FileTransport,
    ImageLimits,
    ImageRule,
    JobDecl,
    LookupDecl,
    NeutralModel,
    NotReached,
    StreamDecl,
    UnifiedField,
    UnifiedMapping,
    UnifiedParam,
    UnifiedTask,
)

# `call`: a plain operation the client offers as a method and the job protocol never uses (Oxen's synchronous
# generate, its full generation record); one that is not a GET is paid for like a submit: never sent twice.
OPERATION_KINDS = ("submit", "status", "result", "cancel", "list", "call")
# What a provider does for every model (its job protocol), and what a model it serves declares for itself.
PROVIDER_KINDS = ("status", "cancel", "list", "call")
MODEL_KINDS = ("submit", "result", "list", "call")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
SPEC_FORMATS = ("openapi", "json")
FILE_MODES = ("url", "data_uri", "upload")
IMAGE_FORMATS = ("png", "jpeg", "webp", "gif")
URL_SCHEMES = ("https", "http", "data")  # what an image URL may be; the SDK refuses file:, javascript:, ...
FAKE_VALIDATION = ("submit", "deferred")
FAKE_LISTINGS = ("all", "active")  # what a job list without its filter shows
# `list_item`: a listed job where the list shows more or less than a status answer (default: the status document).
# A `call` operation's answer is the document named like the operation.
FAKE_DOCUMENTS = (
    "submit", "status", "result", "cancel", "list", "list_item", "upload", "event_succeeded", "event_failed",
    *(f"status_{state}" for state in JOB_STATES),
)  # fmt: skip
FAKE_ERRORS = (
    "unauthorized", "invalid", "not_found", "unknown_model", "rate_limited", "server",
    "result_failed", "result_pending", "already_completed",
)  # fmt: skip
FAKE_REQUIRED_ERRORS = ("unauthorized", "invalid", "not_found", "rate_limited", "server")
FETCH_AUTH = ("none", "optional", "required")
UNIFIED_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "int": int, "float": (int, float), "bool": bool, "list[str]": list, "file": str,
}  # fmt: skip
OVERRIDE_CONSTRAINTS = {"max_items": "maxItems", "min_items": "minItems", "max_length": "maxLength"}


@dataclass(frozen=True)
class SpecSource:
    """One vendored document of a provider."""

    id: str
    path: str
    format: str
    url: str | None
    extract: str | None


@dataclass(frozen=True)
class FetchDecl:
    """Where a provider's documents may be fetched from, and whether the request carries its API key."""

    hosts: tuple[str, ...] = ()
    auth: str = "none"


@dataclass(frozen=True)
class FetchSettings:
    """Limits of `codegen fetch`: per-request timeout, body size cap, retries and their backoff."""

    timeout: float = 30.0
    max_bytes: int = 5_000_000
    retries: int = 3
    backoff: float = 1.0
    backoff_cap: float = 30.0


@dataclass(frozen=True)
class OperationDecl:
    """An operation the SDK exposes, located in a spec by method and path."""

    name: str
    kind: str
    spec: str
    method: str
    path: str
    wire_path: str | None
    task: str | None
    request: str | None
    response: str | None
    # The body's parts, merged in order; each part is "spec#/pointer", or a list of them of which the first that
    # exists in its document is read (a field one document names differently from another: Oxen's model objects
    # hold `request_schema` in the hub API and `json_request_schema` on the docs pages).
    body: tuple[tuple[str, ...], ...]
    constants: tuple[tuple[str, Any], ...]
    model: str | None = None  # the neutral model whose table declares it; None: a provider-level operation
    body_properties: tuple[tuple[str, str], ...] = ()  # (body property, "spec#/pointer" of its schema)

    @property
    def body_refs(self) -> tuple[str, ...]:
        """Every "spec#/pointer" the body may be read from, alternatives included."""
        return tuple(ref for part in self.body for ref in part)


@dataclass(frozen=True)
class ServedModel:
    """A model one provider serves (`[providers.<name>.models.<id>]`): the provider's id for it and its mapping."""

    model: str  # the neutral model id
    id: str  # the provider's own name for the model (docs, help texts)
    unified: tuple[UnifiedMapping, ...]
    table_hash: str


@dataclass(frozen=True)
class FieldOverride:
    """Replace a generated field's type, or add constraints, where a spec is known to be wrong or silent."""

    target: str
    type: str | None
    constraints: tuple[tuple[str, int | float], ...]
    reason: str


@dataclass(frozen=True)
class ProviderDecl:
    """One provider's table in the manifest."""

    name: str
    title: str
    class_name: str
    base_url: str
    docs_url: str | None
    auth: Auth
    errors: ErrorShape
    specs: tuple[SpecSource, ...]
    operations: tuple[OperationDecl, ...]
    rename: tuple[tuple[str, str], ...]
    overrides: tuple[FieldOverride, ...]
    jobs: JobDecl | None
    files: FileTransport
    images: tuple[ImageRule, ...]
    table_hash: str
    image_limits: ImageLimits | None = None  # image limits the specs state on the fields themselves
    fake: FakeDecl | None = None
    fetch: FetchDecl = FetchDecl()
    models: tuple[ServedModel, ...] = ()  # the models it serves, in declaration order
    known_defects: tuple[KnownDefect, ...] = ()

    def spec(self, spec_id: str) -> SpecSource:
        """The spec source with this id."""
        for spec in self.specs:
            if spec.id == spec_id:
                return spec
        raise KeyError(spec_id)

    def served(self, model: str) -> ServedModel:
        """The provider's table for a neutral model it serves."""
        for served in self.models:
            if served.model == model:
                return served
        raise KeyError(model)

    def unit_operations(self, model: str) -> tuple[OperationDecl, ...]:
        """The operations of one (provider, model) client: the provider's own and the model's."""
        return tuple(op for op in self.operations if op.model in (None, model))


@dataclass(frozen=True)
class Manifest:
    """The whole manifest, with paths resolved against its directory."""

    path: Path
    root: Path
    package: str
    output: Path
    templates: Path
    lock: Path
    providers: tuple[ProviderDecl, ...]
    fetch: FetchSettings = FetchSettings()
    unified: tuple[UnifiedTask, ...] = ()
    distribution: Distribution = field(default_factory=lambda: Distribution("kling-sdk", "0.0.0", ""))
    models: tuple[NeutralModel, ...] = ()
    default_model: str | None = None

    def model(self, model_id: str) -> NeutralModel:
        """The neutral model with this id."""
        for model in self.models:
            if model.id == model_id:
                return model
        raise KeyError(model_id)

    def default_of(self, provider: ProviderDecl) -> str:
        """A provider's default model: the manifest's default where it serves it, else its first."""
        served = [m.model for m in provider.models]
        return self.default_model if self.default_model in served else served[0]

    def provider(self, name: str) -> ProviderDecl:
        """The provider with this name."""
        for provider in self.providers:
            if provider.name == name:
                return provider
        known = ", ".join(p.name for p in self.providers)
        raise GenerationError(None, f"unknown provider {name!r} (manifest declares: {known})")


class _Table:
    """Typed, strict access to one TOML table; reports the manifest location on error."""

    def __init__(self, data: Any, where: Location) -> None:
        if not isinstance(data, dict):
            raise GenerationError(where, "expected a table")
        self.data: dict[str, Any] = data
        self.where = where
        self.used: set[str] = set()

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise GenerationError(self.where, f"missing required key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind):
            raise GenerationError(self.where.child(key), f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def table(self, key: str, default: Any = ...) -> _Table:
        return _Table(self.get(key, dict, default), self.where.child(key))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise GenerationError(self.where, f"unknown key(s): {', '.join(unknown)}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {"str": "a string", "dict": "a table", "list": "an array"}.get(k.__name__, k.__name__) for k in kinds
    )


def _choice(value: str, choices: tuple[str, ...], where: Location) -> str:
    if value not in choices:
        raise GenerationError(where, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _named(value: str, valid: Callable[[str], bool], what: str, where: Location) -> str:
    """A manifest name checked by one of codegen.pipeline.names' predicates; the error names the key and the rule."""
    if not valid(value):
        raise GenerationError(where, f"{value!r} is not usable as {what}")
    return value


_CLASS = "a class name (PascalCase ASCII letters and digits, not a keyword)"
_METHOD = "a method name (an ASCII identifier starting with a lower-case letter, not a keyword)"
_MODULE = (
    "a provider name: it becomes a Python module, so lower-case ASCII letters, digits and _, starting with a letter,"
    f" not a keyword nor one of the package's own modules ({', '.join(sorted(names.PACKAGE_MODULES))})"
)


def _spec_path(value: str, where: Location) -> str:
    """A vendored document's path: relative to the manifest and below it, so nothing outside the project is read."""
    path = PurePosixPath(value)
    if not value or "\0" in value or "\\" in value or path.is_absolute() or ".." in path.parts:
        raise GenerationError(where, f"{value!r} must be a relative path below the manifest's directory")
    return value


def _strings(values: list[Any], where: Location) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in values):
        raise GenerationError(where, "expected an array of strings")
    return tuple(values)


def _body_parts(values: list[Any], where: Location) -> tuple[tuple[str, ...], ...]:
    """`body = ["spec#/a", ["spec#/b", "spec#/c"], ...]`: each part one ref or a non-empty list of alternatives."""
    parts = []
    for i, value in enumerate(values):
        refs = _strings(value, where.child(i)) if isinstance(value, list) else _strings([value], where.child(i))
        if not refs:
            raise GenerationError(where.child(i), "expected a ref or a non-empty list of alternative refs")
        parts.append(refs)
    return tuple(parts)


def _load_operation(data: Any, where: Location, spec_ids: set[str], model: str | None) -> OperationDecl:
    t = _Table(data, where)
    properties_t = t.table("body_properties", {})
    body_properties = tuple((name, properties_t.get(name, str)) for name in properties_t.data)
    properties_t.done()
    op = OperationDecl(
        name=_named(t.get("name", str), names.is_method_name, _METHOD, where.child("name")),
        kind=_choice(t.get("kind", str), OPERATION_KINDS, where.child("kind")),
        spec=t.get("spec", str),
        method=_choice(t.get("method", str).upper(), HTTP_METHODS, where.child("method")),
        path=t.get("path", str),
        wire_path=t.get("wire_path", str, None),
        task=t.get("task", str, None),
        request=_optional_class(t, "request"),
        response=_optional_class(t, "response"),
        body=_body_parts(t.get("body", list, []), where.child("body")),
        constants=tuple(sorted(t.get("constants", dict, {}).items())),
        model=model,
        body_properties=body_properties,
    )
    t.done()
    kinds = PROVIDER_KINDS if model is None else MODEL_KINDS
    if op.kind not in kinds:
        home = "the provider's" if op.kind in PROVIDER_KINDS else "a model's ([providers.<name>.models.<id>])"
        raise GenerationError(where.child("kind"), f"a {op.kind} operation belongs to {home} operations")
    if op.spec not in spec_ids:
        raise GenerationError(where.child("spec"), f"unknown spec id {op.spec!r}")
    for ref in op.body_refs:
        if ref.split("#", 1)[0] not in spec_ids:
            raise GenerationError(where.child("body"), f"{ref!r} names an unknown spec id")
    for name, ref in op.body_properties:
        if ref.split("#", 1)[0] not in spec_ids or "#" not in ref:
            raise GenerationError(where.child("body_properties", name), f"{ref!r} is not `<spec id>#<pointer>`")
    if op.kind == "submit" and not op.request:
        raise GenerationError(where, "a submit operation needs `request` (the request model's class name)")
    return op


def _optional_class(t: _Table, key: str) -> str | None:
    value = t.get(key, str, None)
    return None if value is None else _named(value, names.is_class_name, _CLASS, t.where.child(key))


def _load_provider(name: str, data: Any, where: Location, models: dict[str, NeutralModel]) -> ProviderDecl:
    _named(name, names.is_module_name, _MODULE, where)
    t = _Table(data, where)
    auth_t = t.table("auth")
    auth = Auth(header=auth_t.get("header", str), scheme=auth_t.get("scheme", str), env=auth_t.get("env", str))
    auth_t.done()
    err_t = t.table("errors", {})
    errors = ErrorShape(
        message=_strings(err_t.get("message", list, []), err_t.where.child("message")),
        code=_strings(err_t.get("code", list, []), err_t.where.child("code")),
        request_id=_strings(err_t.get("request_id", list, []), err_t.where.child("request_id")),
        request_id_header=err_t.get("request_id_header", str, None),
        code_header=err_t.get("code_header", str, None),
        rate_limit_status=tuple(err_t.get("rate_limit_status", list, [429])),
        not_reached=_load_not_reached(err_t.table("not_reached")) if "not_reached" in err_t.data else None,
        job_failed=_load_job_failed(err_t.table("job_failed")) if "job_failed" in err_t.data else None,
    )
    err_t.done()
    specs_t = t.table("specs")
    specs = []
    for spec_id in specs_t.data:
        s = specs_t.table(spec_id)
        specs.append(
            SpecSource(
                id=spec_id,
                path=_spec_path(s.get("path", str), s.where.child("path")),
                format=_choice(s.get("format", str), SPEC_FORMATS, s.where.child("format")),
                url=s.get("url", str, None),
                extract=s.get("extract", str, None),
            )
        )
        s.done()
    specs_t.done()
    spec_ids = {s.id for s in specs}
    own = tuple(
        _load_operation(op, where.child("operations", i), spec_ids, None)
        for i, op in enumerate(t.get("operations", list, []))
    )
    op_names = [op.name for op in own]
    if len(set(op_names)) != len(op_names):
        raise GenerationError(where.child("operations"), "operation names must be unique")
    served, model_ops = _load_served_models(t.table("models"), spec_ids, own, models)
    overrides_t = t.table("overrides", {})
    overrides = []
    for target in overrides_t.data:
        o = overrides_t.table(target)
        constraints = tuple(
            (OVERRIDE_CONSTRAINTS[key], o.get(key, int)) for key in OVERRIDE_CONSTRAINTS if key in o.data
        )
        override = FieldOverride(
            target=target, type=o.get("type", str, None), constraints=constraints, reason=o.get("reason", str)
        )
        if override.type is None and not constraints:
            raise GenerationError(
                o.where, "an override needs `type` or a constraint (max_items, min_items, max_length)"
            )
        overrides.append(override)
        o.done()
    overrides_t.done()
    jobs = _load_jobs(t.table("jobs"), op_names) if "jobs" in t.data else None
    files, images, image_limits = _load_inputs(t.table("inputs", {}))
    calls = tuple(op.name for op in (*own, *model_ops) if op.kind == "call")
    fake = _load_fake(t.table("fake"), jobs, calls) if "fake" in t.data else None
    fetch = _load_fetch(t.table("fetch", {}))
    known_defects = tuple(
        _load_known_defect(item, where.child("known_defects", i), specs)
        for i, item in enumerate(t.get("known_defects", list, []))
    )
    rename = t.get("rename", dict, {})
    for key, value in rename.items():
        if not isinstance(value, str):
            raise GenerationError(where.child("rename", key), "expected a string")
        _named(value, names.is_class_name, _CLASS, where.child("rename", key))
    provider = ProviderDecl(
        name=name,
        title=t.get("title", str),
        class_name=_named(t.get("class_name", str), names.is_class_name, _CLASS, where.child("class_name")),
        base_url=t.get("base_url", str).rstrip("/"),
        docs_url=t.get("docs_url", str, None),
        auth=auth,
        errors=errors,
        specs=tuple(specs),
        operations=own + model_ops,
        rename=tuple(sorted(rename.items())),
        overrides=tuple(overrides),
        jobs=jobs,
        files=files,
        images=images,
        image_limits=image_limits,
        fake=fake,
        fetch=fetch,
        models=served,
        known_defects=known_defects,
        # The fake's templates, the fetch settings and the acknowledged spec defects do not shape this provider's
        # clients; each model's table shapes only its own (its hash is the model's).
        table_hash=_hash(_without(data, "fake", "fetch", "models", "known_defects")),
    )
    t.done()
    return provider


def _load_known_defect(data: Any, where: Location, specs: list[SpecSource]) -> KnownDefect:
    """One `[[providers.<name>.known_defects]]` entry: which diagnostics it acknowledges, and why that is fine."""
    t = _Table(data, where)
    spec_id = t.get("spec", str, None)
    paths = {s.id: s.path for s in specs}
    if spec_id is not None and spec_id not in paths:
        raise GenerationError(where.child("spec"), f"unknown spec id {spec_id!r} (declared: {', '.join(paths)})")
    defect = KnownDefect(
        where=where,
        files=(paths[spec_id],) if spec_id is not None else tuple(paths.values()),
        rule=t.get("rule", str),
        pointer=t.get("pointer", str),
        message=t.get("message", str, "*"),
        reason=t.get("reason", str),
    )
    t.done()
    if not defect.reason.strip():
        raise GenerationError(where.child("reason"), "say why the defect is harmless (or how it is handled)")
    return defect


def _load_not_reached(t: _Table) -> NotReached:
    """`errors.not_reached`: the 5xx statuses and signs of an answer from in front of the provider."""
    # A submit answered so certainly never reached the provider, so it may be sent again.
    status = t.get("status", list)
    if not status or not all(isinstance(s, int) and not isinstance(s, bool) and 500 <= s <= 599 for s in status):
        raise GenerationError(t.where.child("status"), "expected a non-empty array of 5xx status codes")
    rule = NotReached(
        status=tuple(status),
        without_header=t.get("without_header", str, None),
        content_type=t.get("content_type", str, None),
        body_contains=t.get("body_contains", str, None),
    )
    t.done()
    if not (rule.without_header or rule.content_type or rule.body_contains):
        # A status alone cannot tell a front proxy from the provider: every 5xx would be resent, paying twice.
        raise GenerationError(t.where, "needs at least one sign: without_header, content_type or body_contains")
    return rule


def _load_job_failed(t: _Table) -> FailedJobAnswer:
    """`errors.job_failed`: the error codes that mean the job failed, and where its failure sits."""
    answer = FailedJobAnswer(
        codes=_strings(t.get("codes", list), t.where.child("codes")),
        message=_pointers(t, "message"),
        failure_code=_pointers(t, "failure_code"),
        retryable=_pointers(t, "retryable"),
    )
    t.done()
    if not answer.codes:
        raise GenerationError(t.where.child("codes"), "expected at least one error code")
    return answer


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def _load_fetch(t: _Table) -> FetchDecl:
    hosts = _strings(t.get("hosts", list, []), t.where.child("hosts"))
    for i, host in enumerate(hosts):
        if not host or "/" in host or ":" in host or host != host.lower():
            raise GenerationError(t.where.child("hosts", i), f"{host!r} is not a lower-case host name")
    decl = FetchDecl(hosts=hosts, auth=_choice(t.get("auth", str, "none"), FETCH_AUTH, t.where.child("auth")))
    t.done()
    return decl


def _load_served_models(
    t: _Table, spec_ids: set[str], own: tuple[OperationDecl, ...], models: dict[str, NeutralModel]
) -> tuple[tuple[ServedModel, ...], tuple[OperationDecl, ...]]:
    """`[providers.<name>.models.<id>]`: each model the provider serves, with its operations and neutral mapping."""
    if not t.data:
        raise GenerationError(t.where, "a provider serves at least one model")
    served = []
    operations: list[OperationDecl] = []
    for model in t.data:
        where = t.where.child(model)
        if model not in models:
            raise GenerationError(
                where, f"unknown model {model!r} (declared in [models]: {', '.join(models) or 'none'})"
            )
        m = t.table(model)
        ops = tuple(
            _load_operation(op, where.child("operations", i), spec_ids, model)
            for i, op in enumerate(m.get("operations", list))
        )
        names_here = [op.name for op in own + ops]
        if len(set(names_here)) != len(names_here):
            raise GenerationError(
                where.child("operations"), "operation names must be unique among the provider's and the model's"
            )
        submits = [op.task for op in ops if op.kind == "submit"]
        if None in submits or len(set(submits)) != len(submits):
            raise GenerationError(
                where.child("operations"), "each submit operation of a model needs its own `task` (one per task)"
            )
        results = [op.task for op in ops if op.kind == "result"]
        if len(results) > 1 and (None in results or len(set(results)) != len(results)):
            raise GenerationError(where.child("operations"), "several result operations need distinct `task`s")
        if not any(op.kind == "submit" for op in ops):
            raise GenerationError(where.child("operations"), "a model needs at least one submit operation")
        served.append(
            ServedModel(
                model=model,
                id=m.get("id", str),
                unified=_load_unified_mappings(m.table("unified", {})),
                table_hash=_hash(_without(m.data, "unified")),
            )
        )
        m.done()
        operations.extend(ops)
    t.used.update(t.data)
    t.done()
    return tuple(served), tuple(operations)


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _load_unified_mappings(t: _Table) -> tuple[UnifiedMapping, ...]:
    mappings = []
    for task_id in t.data:
        m = t.table(task_id)
        fields_t = m.table("fields")
        fields = []
        for param in fields_t.data:
            pointer = fields_t.get(param, str)
            if not pointer.startswith("/") or pointer == "/":
                raise GenerationError(
                    fields_t.where.child(param),
                    f'{pointer!r} is not a JSON pointer into the request body (e.g. "/prompt", "/input/prompt")',
                )
            fields.append(UnifiedField(param, pointer))
        fields_t.done()
        mappings.append(UnifiedMapping(task=task_id, operation=m.get("operation", str), fields=tuple(fields)))
        m.done()
    t.done()
    return tuple(mappings)


def _load_unified_tasks(t: _Table) -> tuple[UnifiedTask, ...]:
    tasks = []
    for task_id in t.data:
        task_t = t.table(task_id)
        params_t = task_t.table("params")
        params = []
        for name in params_t.data:
            _named(name, names.is_unified_param, "a parameter name (an ASCII identifier, not a model attribute)",
                   params_t.where.child(name))  # fmt: skip
            p = params_t.table(name)
            kind = _choice(p.get("type", str), tuple(UNIFIED_TYPES), p.where.child("type"))
            param = UnifiedParam(
                name=name,
                type=kind,
                required=p.get("required", bool, False),
                default=p.get("default", UNIFIED_TYPES[kind], None),
                enum=tuple(p.get("enum", list, [])),
                minimum=p.get("minimum", (int, float), None),
                maximum=p.get("maximum", (int, float), None),
                max_items=p.get("max_items", int, None),
                max_length=p.get("max_length", int, None),
                description=p.get("description", str, None),
            )
            if param.enum and param.default is not None and param.default not in param.enum:
                raise GenerationError(p.where.child("default"), f"default {param.default!r} is not in enum")
            params.append(param)
            p.done()
        params_t.done()
        tasks.append(
            UnifiedTask(
                id=task_id,
                task=task_t.get("task", str),
                class_name=_named(
                    task_t.get("class_name", str), names.is_class_name, _CLASS, task_t.where.child("class_name")
                ),
                description=task_t.get("description", str),
                params=tuple(params),
            )
        )
        task_t.done()
    t.done()
    return tuple(tasks)


def _load_fetch_settings(t: _Table) -> FetchSettings:
    settings = FetchSettings(
        timeout=float(t.get("timeout", (int, float), FetchSettings.timeout)),
        max_bytes=t.get("max_bytes", int, FetchSettings.max_bytes),
        retries=t.get("retries", int, FetchSettings.retries),
        backoff=float(t.get("backoff", (int, float), FetchSettings.backoff)),
        backoff_cap=float(t.get("backoff_cap", (int, float), FetchSettings.backoff_cap)),
    )
    for key in ("timeout", "max_bytes", "backoff_cap"):
        if getattr(settings, key) <= 0:
            raise GenerationError(t.where.child(key), "must be positive")
    if settings.retries < 0 or settings.backoff < 0:
        raise GenerationError(t.where, "retries and backoff must not be negative")
    t.done()
    return settings


def _pointers(t: _Table, key: str) -> tuple[str, ...]:
    value = t.get(key, (str, list), [])
    values = _strings([value] if isinstance(value, str) else value, t.where.child(key))
    for pointer in values:
        if pointer and not pointer.startswith("/"):
            raise GenerationError(t.where.child(key), f"{pointer!r} is not a JSON pointer (it must start with '/')")
    return values


def _operation_refs(t: _Table, key: str, names: list[str], kind: type, default: Any = ...) -> Any:
    """A key naming one operation (or a list of them); each must be declared."""
    value = t.get(key, kind, default)
    for name in [value] if isinstance(value, str) else value or []:
        if name not in names:
            raise GenerationError(t.where.child(key), f"no operation named {name!r}")
    return value


def _load_jobs(t: _Table, names: list[str]) -> JobDecl:
    states_t = t.table("states")
    states = tuple(
        (raw, _choice(states_t.get(raw, str), JOB_STATES, states_t.where.child(raw))) for raw in states_t.data
    )
    states_t.done()
    fields_t = t.table("fields")
    fields = tuple((key, _pointers(fields_t, key)) for key in JOB_FIELDS if key in fields_t.data)
    fields_t.done()
    for key in ("id", "status"):
        if key not in dict(fields):
            raise GenerationError(fields_t.where, f"missing required key {key!r}")
    poll_t = t.table("poll", {})
    poll = tuple(
        (key, float(poll_t.get(key, (int, float)))) for key in ("initial", "cap", "fraction") if key in poll_t.data
    )
    poll_t.done()
    stream = None
    if "stream" in t.data:
        s = t.table("stream")
        stream = StreamDecl(
            kind=_choice(s.get("kind", str), ("status", "events"), s.where.child("kind")),
            path=s.get("path", str),
            event=s.get("event", str, None),
            id=_pointers(s, "id"),
            status=_pointers(s, "status"),
        )
        s.done()
        if stream.kind == "events" and not (stream.event and stream.id):
            raise GenerationError(s.where, "an events stream needs `event` (its name) and `id` (where the job id is)")
    lookup = None
    if "lookup" in t.data:
        lt = t.table("lookup")
        match_t = lt.table("match")
        lookup = LookupDecl(
            operation=_operation_refs(lt, "operation", names, str),
            query=lt.get("query", str, None),
            values=_strings(lt.get("values", list, []), lt.where.child("values")),
            items=_pointers(lt, "items"),
            id=_pointers(lt, "id"),
            match=tuple((name, match_t.get(name, str)) for name in match_t.data),
            submitted_at=_pointers(lt, "submitted_at"),
            listing_delay=float(lt.get("listing_delay", (int, float), 0.0)),
            params=_string_table(lt, "params"),
            more=_pointers(lt, "more"),
        )
        match_t.done()
        lt.done()
        if not lookup.match:
            raise GenerationError(match_t.where, "a lookup must match at least one request field")
        if (lookup.query is None) != (not lookup.values):
            raise GenerationError(lt.where, "`query` and `values` go together: the filter and each value to list")
        if lookup.listing_delay < 0:
            raise GenerationError(lt.where.child("listing_delay"), "must not be negative")
    decl = JobDecl(
        status_operation=_operation_refs(t, "status_operation", names, str),
        cancel_operation=_operation_refs(t, "cancel_operation", names, str, None),
        states=states,
        fields=fields,
        poll=poll,
        stream=stream,
        idempotency_header=t.get("idempotency_header", str, None),
        lookup=lookup,
        cancelled_codes=_strings(t.get("cancelled_codes", list, []), t.where.child("cancelled_codes")),
        logs_query=_string_table(t, "logs_query"),
    )
    t.done()
    return decl


def _string_table(t: _Table, key: str) -> tuple[tuple[str, str], ...]:
    """An optional table of string values (e.g. query parameters), in declaration order."""
    table = t.get(key, dict, {})
    for name, value in table.items():
        if not isinstance(value, str):
            raise GenerationError(t.where.child(key, name), f"expected a string, got {type(value).__name__}")
    return tuple(table.items())


# The limits an image rule has; a spec's own extension object may state any of them (`inputs.image_limits`).
IMAGE_LIMIT_KEYS = ("max_bytes", "min_width", "min_height", "min_aspect", "max_aspect")


def _load_inputs(t: _Table) -> tuple[FileTransport, tuple[ImageRule, ...], ImageLimits | None]:
    mode = _choice(t.get("files", str, "url"), FILE_MODES, t.where.child("files"))
    schemes_where = t.where.child("url_schemes")
    schemes = _strings(t.get("url_schemes", list, list(URL_SCHEMES)), schemes_where)
    for scheme in schemes:
        _choice(scheme, URL_SCHEMES, schemes_where)
    if not schemes or len(set(schemes)) != len(schemes):
        raise GenerationError(schemes_where, "expected a non-empty list of distinct schemes")
    if mode == "data_uri" and "data" not in schemes:
        raise GenerationError(schemes_where, 'files = "data_uri" sends data: URIs, so url_schemes must include "data"')
    upload_t = t.table("upload", {})
    files = FileTransport(
        mode=mode,
        upload_path=upload_t.get("path", str, None),
        upload_url=_pointers(upload_t, "upload_url"),
        file_url=_pointers(upload_t, "file_url"),
        url_schemes=schemes,
    )
    upload_t.done()
    if mode == "upload" and not (files.upload_path and files.upload_url and files.file_url):
        raise GenerationError(
            upload_t.where, 'files = "upload" needs upload.path, upload.upload_url and upload.file_url'
        )
    images_t = t.table("images", {})
    images = []
    for field_name in images_t.data:
        r = images_t.table(field_name)
        aspect = r.get("aspect_ratio", list, [])
        if aspect and (len(aspect) != 2 or not all(isinstance(v, int | float) for v in aspect)):
            raise GenerationError(r.where.child("aspect_ratio"), "expected [minimum, maximum] (width / height)")
        formats = _strings(r.get("formats", list, list(IMAGE_FORMATS)), r.where.child("formats"))
        for fmt in formats:
            _choice(fmt, IMAGE_FORMATS, r.where.child("formats"))
        images.append(
            ImageRule(
                field=field_name,
                formats=formats,
                max_bytes=r.get("max_bytes", int, None),
                min_width=r.get("min_width", int, None),
                min_height=r.get("min_height", int, None),
                min_aspect=float(aspect[0]) if aspect else None,
                max_aspect=float(aspect[1]) if aspect else None,
            )
        )
        r.done()
    images_t.done()
    image_limits = _load_image_limits(t.table("image_limits")) if "image_limits" in t.data else None
    if image_limits is not None and not images:
        raise GenerationError(t.where.child("image_limits"), "no image field is declared (inputs.images)")
    t.done()
    return files, tuple(images), image_limits


def _load_image_limits(t: _Table) -> ImageLimits:
    """`image_limits = { extension = "x-...", <limit> = "<key in it>", ... }`: limits read from the specs."""
    extension = t.get("extension", str)
    if not extension.startswith("x-"):
        raise GenerationError(
            t.where.child("extension"), f"expected a specification extension (x-...), got {extension!r}"
        )
    keys = tuple((limit, t.get(limit, str)) for limit in IMAGE_LIMIT_KEYS if limit in t.data)
    if not keys:
        raise GenerationError(t.where, f"name at least one limit: {', '.join(IMAGE_LIMIT_KEYS)}")
    t.done()
    return ImageLimits(extension, keys)


def _load_fake(t: _Table, jobs: JobDecl | None, calls: tuple[str, ...] = ()) -> FakeDecl:
    if jobs is None:
        raise GenerationError(t.where, "a fake provider needs the [jobs] table: it follows the same protocol")
    statuses_t = t.table("statuses", {})
    statuses = tuple(
        (_choice(state, JOB_STATES, statuses_t.where), statuses_t.get(state, str)) for state in statuses_t.data
    )
    statuses_t.done()
    documents = t.table("documents")
    for key in documents.data:
        _choice(key, (*FAKE_DOCUMENTS, *calls), documents.where)
    for key in ("submit", "status"):
        documents.get(key, dict)
    errors_t = t.table("errors")
    errors: dict[str, Any] = {}
    for key in errors_t.data:
        _choice(key, FAKE_ERRORS, errors_t.where)
        e = errors_t.table(key)
        errors[key] = {
            "status": e.get("status", int),
            "body": e.get("body", (dict, str)),
            "headers": e.get("headers", dict, {}),
        }
        e.done()
    for key in FAKE_REQUIRED_ERRORS:
        errors_t.get(key, dict)
    decl = FakeDecl(
        id=t.get("id", str),
        validation=_choice(t.get("validation", str, "submit"), FAKE_VALIDATION, t.where.child("validation")),
        pending_status=t.get("pending_status", int, 200),
        submit_status=t.get("submit_status", int, 200),
        list_unfiltered=_choice(t.get("list_unfiltered", str, "all"), FAKE_LISTINGS, t.where.child("list_unfiltered")),
        statuses=statuses,
        failure=t.get("failure", dict),
        documents=dict(documents.data),
        errors=errors,
        auth_schemes=_strings(t.get("auth_schemes", list, []), t.where.child("auth_schemes")),
    )
    t.done()
    return decl


def load(path: Path) -> Manifest:
    """Read and validate the manifest at `path`."""
    where = Location(path.name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenerationError(where, "manifest not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise GenerationError(where, f"invalid TOML: {exc}") from None
    root = path.resolve().parent
    top = _Table(raw, where)
    gen = top.table("generator")
    package = _named(
        gen.get("package", str),
        names.is_module_name,
        "a package name (a lower-case identifier)",
        gen.where.child("package"),
    )
    output = root / gen.get("output", str)
    templates = root / gen.get("templates", str)
    lock = root / gen.get("lock", str)
    distribution = Distribution(
        name=_named(
            gen.get("distribution", str, package.replace("_", "-")),
            _is_distribution_name,
            "a distribution name (letters, digits, '-', '_', '.')",
            gen.where.child("distribution"),
        ),
        version=_named(
            gen.get("version", str, "0.0.0"), _is_version, "a version such as 1.2.3", gen.where.child("version")
        ),
        description=_named(
            gen.get("description", str, ""), _is_summary, "one line of printable text", gen.where.child("description")
        ),
    )
    gen.done()
    models, default_model = _load_models(top.table("models", {}))
    providers_t = top.table("providers")
    providers = tuple(
        _load_provider(name, providers_t.data[name], providers_t.where.child(name), models) for name in providers_t.data
    )
    providers_t.used.update(providers_t.data)
    providers_t.done()
    fetch = _load_fetch_settings(top.table("fetch", {}))
    unified = _load_unified_tasks(top.table("unified", {}))
    top.done()
    for model in models:
        if not any(model in (m.model for m in p.models) for p in providers):
            raise GenerationError(where.child("models", model), f"no provider serves {model!r}")
    return Manifest(
        path=path,
        root=root,
        package=package,
        output=output,
        templates=templates,
        lock=lock,
        providers=providers,
        fetch=fetch,
        unified=unified,
        distribution=distribution,
        models=tuple(models.values()),
        default_model=default_model,
    )


def _load_models(t: _Table) -> tuple[dict[str, NeutralModel], str | None]:
    """`[models]`: the neutral model ids, each with its title; the first marked `default = true` is the default."""
    models: dict[str, NeutralModel] = {}
    default = None
    for model_id in t.data:
        m = t.table(model_id)
        module = names.model_module(model_id)
        if not names.is_module_name(module):
            raise GenerationError(m.where, f"{model_id!r} gives the module name {module!r}, which is not usable")
        clash = next((other.id for other in models.values() if other.module == module), None)
        if clash is not None:
            raise GenerationError(m.where, f"{model_id!r} and {clash!r} both give the module name {module!r}")
        models[model_id] = NeutralModel(id=model_id, title=_named(m.get("title", str), _is_summary,
                                                              "one line of printable text", m.where.child("title")),
                                     module=module)  # fmt: skip
        if m.get("default", bool, False) and default is None:
            default = model_id
        m.done()
    t.done()
    if models and default is None:
        raise GenerationError(t.where, "mark one model `default = true`: requests that name none use it")
    return models, default


def _is_distribution_name(text: str) -> bool:
    """A PEP 508 project name."""
    return bool(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", text))


def _is_version(text: str) -> bool:
    """A plain release version (PEP 440 public version without local part)."""
    return bool(re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", text))


def _is_summary(text: str) -> bool:
    """One line of printable text (it lands in a TOML string and in docstrings)."""
    return len(text) <= 300 and all(c.isprintable() for c in text)
