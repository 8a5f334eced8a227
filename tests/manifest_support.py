"""What the tests know about providers: derived from the manifest, the generated protocol table and the fixture tree.

No test names a provider, counts providers, operations, documents or fixtures, or writes down a per-provider fact:
it asks here. A test about one provider's documented quirk selects its providers by the manifest fact it tests
(`providers(lambda p: 403 in p.errors.rate_limit_status)`) and is skipped when none has it. When the manifest
learns a new axis (models), this module learns it; the tests keep asking the same questions.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from codegen.drift.fixtures import Fixture, load_fixtures
from codegen.pipeline import names
from codegen.pipeline.diagnostics import Location
from codegen.pipeline.manifest import Manifest, OperationDecl, ProviderDecl, SpecSource, load
from codegen.pipeline.specs import has_pointer, is_whole_answer, resolve_pointer
from kling_sdk.testing import load_protocols

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
IMAGE_URL = "https://example.com/hiker.png"  # an image URL every provider takes
PROMPT = "a hiker"

MANIFEST: Manifest = load(ROOT / "providers.toml")
PROTOCOLS: dict[str, Any] = load_protocols()["providers"]  # the fake's table, generated from the manifest


# ---------------------------------------------------------------------------------------------- providers
def providers(where: Callable[[ProviderDecl], Any] | None = None) -> list[str]:
    """The manifest's provider names in declaration order, optionally only those with a fact (`where`)."""
    return [p.name for p in MANIFEST.providers if where is None or where(p)]


def provider(name: str) -> ProviderDecl:
    """One provider's manifest table."""
    return MANIFEST.provider(name)


def has_mapping(decl: ProviderDecl) -> bool:
    """Whether some model the provider serves has a neutral mapping (so `Kling` can send to it)."""
    return any(served.unified for served in decl.models)


# ---------------------------------------------------------------------------------------------- models
def models(name: str) -> list[str]:
    """The neutral ids of the models a provider serves, in declaration order."""
    return [served.model for served in provider(name).models]


def default_model(name: str) -> str:
    """The model `kling_sdk.<provider>` re-exports (the manifest's default where served, else the first)."""
    return MANIFEST.default_of(provider(name))


def units(where: Callable[[ProviderDecl], Any] | None = None) -> list[tuple[str, str]]:
    """(provider, model) for every model every provider (with a fact) serves."""
    return [(name, model) for name in providers(where) for model in models(name)]


def all_models() -> list[str]:
    """The neutral model ids of the manifest's [models], the default first."""
    ids = [m.id for m in MANIFEST.models]
    return sorted(ids, key=lambda m: m != MANIFEST.default_model)


def servers(model: str, task: str | None = None) -> list[str]:
    """The providers whose neutral mapping serves a model (and one of its tasks)."""
    return [
        name for name in providers() if model in models(name) and (task is None or unified_fields(name, task, model))
    ]


def with_fact(where: Callable[[ProviderDecl], Any], reason: str) -> list[Any]:
    """Parameter values for the providers that have a fact; a single skipped value when none has it."""
    found = providers(where)
    return found or [pytest.param(None, marks=pytest.mark.skip(reason=f"no provider in the manifest {reason}"))]


def pick(where: Callable[[ProviderDecl], Any], reason: str) -> str:
    """The first provider with a fact; skips the calling test when none has it."""
    found = providers(where)
    if not found:
        pytest.skip(f"no provider in the manifest {reason}")
    return found[0]


def protocol(name: str) -> dict[str, Any]:
    """The provider's entry in the generated protocol table (routes, statuses, documents, errors of the fake)."""
    return dict(PROTOCOLS[name])


def has_fake(decl: ProviderDecl) -> bool:
    """Whether the fake provider speaks this provider's protocol."""
    return decl.name in PROTOCOLS


# ---------------------------------------------------------------------------------------------- the generated SDK
def _client_info(name: str, model: str | None = None) -> dict[str, str]:
    if name in PROTOCOLS:
        info = dict(PROTOCOLS[name]["client"])
        if model is not None:
            info["module"] = PROTOCOLS[name]["models"][model]["module"]
        return info
    decl = provider(name)  # no [fake] table: the generator's naming rule
    return {
        "module": f"{MANIFEST.package}.{name}" + (f".{names.model_module(model)}" if model is not None else ""),
        "sync": f"{decl.class_name}Client",
        "async": f"Async{decl.class_name}Client",
    }


def sdk_module(name: str, model: str | None = None) -> ModuleType:
    """The provider's generated package (its default model's clients, PROVIDER and models), or one model's."""
    return importlib.import_module(_client_info(name, model)["module"])


def client_class(name: str, is_async: bool = False, model: str | None = None) -> type:
    """The provider's generated sync or async client class (of its default model, or of `model`)."""
    info = _client_info(name, model)
    cls: type = getattr(sdk_module(name, model), info["async" if is_async else "sync"])
    return cls


def model_class(name: str, class_name: str, model: str | None = None) -> type:
    """A generated model class of the provider (of its default model's package, or of `model`'s)."""
    cls: type = getattr(sdk_module(name, model), class_name)
    return cls


def base_url_env(name: str) -> str:
    """The environment variable that points a provider's clients elsewhere (the generator's naming rule)."""
    return f"{name.upper()}_BASE_URL"


def job_protocol(name: str) -> Any:
    """The provider's runtime job protocol (what `read_status` interprets)."""
    return sdk_module(name).PROVIDER.jobs


# ---------------------------------------------------------------------------------------------- operations
def operations(name: str, kind: str | None = None, model: str | None = None) -> list[OperationDecl]:
    """The operations of one (provider, model) client — the provider's own and the model's (default: the provider's
    default model) —, optionally of one kind."""
    unit = provider(name).unit_operations(model or default_model(name))
    return [op for op in unit if kind is None or op.kind == kind]


def every_operation(name: str, kind: str | None = None) -> list[OperationDecl]:
    """Every operation the provider declares, of every model it serves (each provider-level one once)."""
    return [op for op in provider(name).operations if kind is None or op.kind == kind]


def operation(name: str, op_name: str, model: str | None = None) -> OperationDecl:
    """One operation of a (provider, model) client (default: the provider's default model)."""
    return next(op for op in operations(name, model=model) if op.name == op_name)


def submit_for(name: str, task: str, model: str | None = None) -> OperationDecl | None:
    """The (provider, model)'s submit operation for a task, if it serves it."""
    return next((op for op in operations(name, "submit", model) if op.task == task), None)


def tasks(name: str, model: str | None = None) -> list[str]:
    """The tasks a (provider, model)'s submit operations serve, in declaration order."""
    return [op.task for op in operations(name, "submit", model) if op.task]


def all_tasks() -> list[str]:
    """Every task some provider serves with some model."""
    return sorted({task for name, model in units() for task in tasks(name, model)})


def submits(where: Callable[[ProviderDecl], Any] | None = None) -> list[tuple[str, OperationDecl]]:
    """(provider, submit operation) for every submit of every model of every provider (with a fact); the
    operation's `model` says whose client sends it."""
    return [(name, op) for name in providers(where) for op in every_operation(name, "submit")]


def status_operation(name: str) -> OperationDecl:
    """The operation that reads a job's status."""
    jobs = provider(name).jobs
    assert jobs is not None, f"{name} declares no [jobs] protocol"
    return operation(name, jobs.status_operation)


def route(name: str, op_name: str, model: str | None = None) -> dict[str, Any]:
    """The fake's route of an operation of a (provider, model): wire paths, id parameter, discriminators, schemas."""
    unit = model or default_model(name)
    return next(r for r in PROTOCOLS[name]["routes"] if r["operation"] == op_name and r["model"] in (None, unit))


def job_id_parameter(name: str, op_name: str, model: str | None = None) -> str | None:
    """The parameter of an operation that carries the job id, if it takes one."""
    ident = route(name, op_name, model)["id"]
    return None if ident is None else str(ident["name"])


def wire_path(op: OperationDecl) -> str:
    """The path an operation is sent to (relative to the base URL)."""
    return op.wire_path or op.path


# ---------------------------------------------------------------------------------------------- jobs
def can_cancel(decl: ProviderDecl) -> bool:
    """Whether the provider documents a cancel endpoint."""
    return decl.jobs is not None and decl.jobs.cancel_operation is not None


def stream_kind(decl: ProviderDecl) -> str | None:
    """`status` (a per-job status stream), `events` (a user-wide event stream) or None (polling only)."""
    return decl.jobs.stream.kind if decl.jobs is not None and decl.jobs.stream is not None else None


def job_field(decl: ProviderDecl, key: str) -> tuple[str, ...]:
    """The JSON pointers of one `[jobs] fields` entry (empty when not declared)."""
    return dict(decl.jobs.fields).get(key, ()) if decl.jobs is not None else ()


def failure(name: str) -> dict[str, Any]:
    """How the fake fails a generation: message, code, retryable (the `[fake] failure` table)."""
    return dict(PROTOCOLS[name]["failure"])


def raw_status(name: str, state: str) -> str:
    """The raw status the fake reports for a normalised state."""
    return str(PROTOCOLS[name]["statuses"].get(state, state))


def normalised_state(name: str, raw: str) -> str | None:
    """The state the manifest maps a raw status to (None when unmapped)."""
    jobs = provider(name).jobs
    return dict(jobs.states).get(raw) if jobs is not None else None


# ---------------------------------------------------------------------------------------------- request bodies
# A request field is named by its JSON pointer into the body ("/prompt", "/input/prompt"), as the manifest's neutral
# mappings and image rules name it; `at`, `put` and `dropped` read and write bodies by pointer, `dotted` is how an
# InvalidRequestError names it ("input.prompt").
def pointer_of(field: str) -> str:
    """A field as a JSON pointer (an image rule may name a top-level field without the slash)."""
    return field if field.startswith("/") else f"/{field}"


def dotted(pointer: str) -> str:
    """How an error names the field at a pointer: its path with dots."""
    return pointer.removeprefix("/").replace("/", ".")


def at(body: Any, pointer: str) -> Any:
    """The value at a pointer of a body (KeyError when absent)."""
    for token in pointer.removeprefix("/").split("/"):
        body = body[token]
    return body


def put(body: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of a body with a value at a pointer (objects on the way created)."""
    head, _, rest = pointer.removeprefix("/").partition("/")
    if not rest:
        return {**body, head: value}
    inner = body.get(head)
    return {**body, head: put(inner if isinstance(inner, dict) else {}, f"/{rest}", value)}


def dropped(body: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of a body without the value at a pointer."""
    head, _, rest = pointer.removeprefix("/").partition("/")
    if not rest:
        return {k: v for k, v in body.items() if k != head}
    return {**body, head: dropped(body[head], f"/{rest}")}


def _request_parts(name: str, op_name: str, model: str | None) -> list[dict[str, Any]]:
    return list(route(name, op_name, model)["request"])


def request_properties(name: str, op_name: str, model: str | None = None) -> dict[str, Any]:
    """Every top-level property the operation's vendored request schema parts declare, merged."""
    properties: dict[str, Any] = {}
    for part in _request_parts(name, op_name, model):
        properties.update(part.get("properties", {}))
    return properties


def required_properties(name: str, op_name: str, model: str | None = None) -> list[str]:
    """The top-level properties the request schema parts require."""
    required: list[str] = []
    for part in _request_parts(name, op_name, model):
        required += [r for r in part.get("required", []) if r not in required]
    return required


def leaf_properties(name: str, op_name: str, model: str | None = None) -> dict[str, tuple[dict[str, Any], bool]]:
    """pointer -> (schema, required) of every request field, nested objects followed to their properties."""
    found: dict[str, tuple[dict[str, Any], bool]] = {}

    def walk(prefix: str, properties: dict[str, Any], required: list[str], parent_required: bool) -> None:
        for key, prop in properties.items():
            schema, _ = plain_schema(prop)
            pointer = f"{prefix}/{key}"
            needed = parent_required and key in required
            if schema.get("type") == "object" and "properties" in schema:
                walk(pointer, schema["properties"], schema.get("required", []), needed)
            else:
                found[pointer] = (prop, needed)

    walk("", request_properties(name, op_name, model), required_properties(name, op_name, model), True)
    return found


def discriminators(name: str, op_name: str, model: str | None = None) -> dict[str, Any]:
    """Body values the client always sends for an operation (constants, single-valued enums: the model id)."""
    return dict(route(name, op_name, model)["match"])


def image_fields(name: str, op_name: str, model: str | None = None) -> list[str]:
    """The pointers of the request fields of an operation that take an image, per the provider's [inputs] rules."""
    declared = leaf_properties(name, op_name, model)
    return [pointer_of(rule.field) for rule in provider(name).images if pointer_of(rule.field) in declared]


def image_rule(name: str, field: str, model: str | None = None) -> Any:
    """The image rule a (provider, model)'s client applies to a field (by pointer): the manifest's [inputs] rule with
    the limits the model's spec states filled in, as generated (`PROVIDER.images`, the golden record)."""
    for unit in [model] if model else [default_model(name), *models(name)]:
        for key, rule in sdk_module(name, unit).PROVIDER.images.items():
            if pointer_of(key) == pointer_of(field):
                return rule
    raise LookupError(f"{name} has no image rule for {field}")


def unified_fields(name: str, task: str, model: str | None = None) -> dict[str, str]:
    """neutral parameter -> wire pointer of a (provider, model)'s neutral mapping for a task ({} without one)."""
    decl = provider(name)
    unit = model or default_model(name)
    if unit not in models(name):
        return {}
    for mapping in decl.served(unit).unified:
        if _task_of(mapping.task) == task:
            return {f.param: f.pointer for f in mapping.fields}
    return {}


def _task_of(unified_id: str) -> str:
    return next(t.task for t in MANIFEST.unified if t.id == unified_id)


def neutral_params(task: str) -> list[Any]:
    """The neutral parameters the manifest's [unified] table declares for a task."""
    return list(next(t for t in MANIFEST.unified if t.task == task).params)


def neutral_value(task: str, param: str) -> Any:
    """A valid neutral value for a parameter, from its declaration."""
    declared = next(p for p in neutral_params(task) if p.name == param)
    if declared.enum:
        return declared.enum[-1]
    samples = {"str": "x", "bool": False, "list[str]": ["v1"], "file": IMAGE_URL}
    return samples.get(declared.type, declared.minimum if declared.minimum is not None else 1)


def neutral_sample(name: str, task: str, param: str, model: str | None = None) -> Any:
    """A neutral value for a parameter that the (provider, model) allows too: its wire enum's last value converted to
    the neutral type, or the neutral sample moved into the wire bounds, read from the vendored spec."""
    sample = neutral_value(task, param)
    op = submit_for(name, task, model)
    pointer = unified_fields(name, task, model).get(param)
    if op is None or pointer is None or isinstance(sample, bool):
        return sample
    schema, _ = plain_schema(leaf_properties(name, op.name, model).get(pointer, ({}, False))[0])
    if "enum" in schema:
        declared = next(p for p in neutral_params(task) if p.name == param).enum
        neutral = [type(sample)(v) for v in schema["enum"] if _converts(v, type(sample))]
        neutral = [v for v in neutral if not declared or v in declared]
        return sample if sample in neutral or not neutral else neutral[-1]
    if isinstance(sample, int | float):
        low, high = schema.get("minimum", sample), schema.get("maximum", sample)
        return min(max(sample, type(sample)(low)), type(sample)(high))
    return sample


def _converts(value: Any, kind: type) -> bool:
    try:
        kind(value)
    except (TypeError, ValueError):
        return False
    return True


def neutral_base(task: str, **values: Any) -> dict[str, Any]:
    """The required neutral parameters of a task with valid values (plus `values`)."""
    return {**{p.name: neutral_value(task, p.name) for p in neutral_params(task) if p.required}, **values}


def serving(task: str, param: str | None = None, model: str | None = None) -> list[str]:
    """The providers whose neutral mapping of a model (default: each one's default) serves a task (and a parameter)."""
    return providers(
        lambda p: (
            unified_fields(p.name, task, model) and (param is None or param in unified_fields(p.name, task, model))
        )
    )


def not_serving(task: str, param: str | None = None) -> list[str]:
    """The providers with a neutral mapping that do not serve a task (or do not take a parameter for it) with their
    default model."""
    mapped = providers(has_mapping)
    return [
        name for name in mapped if name not in serving(task, param) and (param is None or unified_fields(name, task))
    ]


def start_image_field(name: str, op_name: str, model: str | None = None) -> str | None:
    """The pointer of the field that takes the first frame: the neutral mapping's, else the first required image
    field."""
    op = operation(name, op_name, model)
    mapped = unified_fields(name, op.task or "", model).get("start_image")
    if mapped:
        return mapped
    leaves = leaf_properties(name, op_name, model)
    required = [f for f in image_fields(name, op_name, model) if leaves[f][1]]
    return (required or [None])[0] if op.task and "image" in op.task else None


def prompt_field(name: str, op_name: str, model: str | None = None) -> str:
    """The pointer of the field that takes the prompt."""
    op = operation(name, op_name, model)
    return unified_fields(name, op.task or "", model).get("prompt", "/prompt")


def submit_body(
    name: str, op_name: str, prompt: str = PROMPT, image: Any = IMAGE_URL, model: str | None = None
) -> dict[str, Any]:
    """A minimal valid request for a submit operation, as a caller writes it: the prompt and, where the task
    takes one, the first frame."""
    body = put({}, prompt_field(name, op_name, model), prompt)
    field = start_image_field(name, op_name, model)
    if field is not None:
        body = put(body, field, image)
    return body


def wire_body(name: str, op_name: str, body: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """What reaches the wire for a request body: the body plus the values the client always adds."""
    return {**discriminators(name, op_name, model), **body}


def simplest_submit(name: str, model: str | None = None) -> OperationDecl:
    """The (provider, model)'s submit that needs the fewest inputs (no image where it serves a text task)."""
    return min(operations(name, "submit", model), key=lambda op: start_image_field(name, op.name, model) is not None)


def image_submit(name: str, model: str | None = None) -> OperationDecl | None:
    """The (provider, model)'s first submit that takes a first frame."""
    return next((op for op in operations(name, "submit", model) if start_image_field(name, op.name, model)), None)


# ---------------------------------------------------------------------------------------------- vendored documents
def spec_sources(where: Callable[[ProviderDecl, SpecSource], Any] | None = None) -> list[tuple[str, SpecSource]]:
    """(provider, vendored document) for every document the manifest names (with a fact)."""
    return [(p.name, s) for p in MANIFEST.providers for s in p.specs if where is None or where(p, s)]


def spec_of(name: str, op: OperationDecl) -> SpecSource:
    """The vendored document an operation is declared in."""
    return provider(name).spec(op.spec)


# ---------------------------------------------------------------------------------------------- fixtures
def fixtures(name: str | None = None) -> list[Fixture]:
    """The recorded fixtures (tests/fixtures/<provider>/<scenario>.json), of one provider or all."""
    return [f for f in load_fixtures(FIXTURES) if name is None or f.provider == name]


def fixture(name: str, scenario: str) -> Fixture | None:
    """One provider's fixture by scenario name."""
    return next((f for f in fixtures(name) if f.path.stem == scenario), None)


def fixture_model(found: Fixture) -> str:
    """The model whose client a fixture calls (the provider's default unless it names one)."""
    return found.model or default_model(found.provider)


def fixture_for(name: str, op_name: str, scenario_prefix: str = "", model: str | None = None) -> Fixture:
    """A fixture of the (provider, model) that calls an operation (and whose scenario starts with a prefix); a
    provider-level operation's fixture may have been recorded through any model's client."""
    unit = model or default_model(name)
    level = operation(name, op_name, unit).model
    found = [
        f
        for f in fixtures(name)
        if f.operation == op_name
        and f.path.stem.startswith(scenario_prefix)
        and (level is None or fixture_model(f) == unit)
    ]
    assert found, f"{name} ({unit}) has no fixture calling {op_name} ({scenario_prefix or 'any scenario'})"
    return found[0]


def provider_data(name: str, kind: str) -> list[dict[str, Any]]:
    """The provider's data files of one kind beside its fixtures: tests/fixtures/<provider>/<kind>/*.json."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((FIXTURES / name / kind).glob("*.json"))]


# ---------------------------------------------------------------------------------------------- invalid requests
UNKNOWN_FIELD = "zz_not_in_the_schema"


def plain_schema(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A property's schema without its null alternative (and a lone `allOf` folded in), and whether it admits null
    (three spellings of it)."""
    if "allOf" in prop and len(prop["allOf"]) == 1 and isinstance(prop["allOf"][0], dict):
        prop = {**{k: v for k, v in prop.items() if k != "allOf"}, **prop["allOf"][0]}
    if "anyOf" in prop:
        variants = [v for v in prop["anyOf"] if v.get("type") != "null"]
        nullable = len(variants) < len(prop["anyOf"])
        merged = {**{k: v for k, v in prop.items() if k != "anyOf"}, **(variants[0] if len(variants) == 1 else {})}
        return merged, nullable
    kind = prop.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        return {**prop, "type": others[0] if len(others) == 1 else others}, "null" in kind
    return dict(prop), bool(prop.get("nullable"))


def declared_limits(name: str, op_name: str, field: str, model: str | None = None) -> dict[str, Any]:
    """A request field's schema keywords (by pointer) plus the constraints the manifest's overrides add to it."""
    pointer = pointer_of(field)
    schema, _ = plain_schema(leaf_properties(name, op_name, model).get(pointer, ({}, False))[0])
    request = operation(name, op_name, model).request
    for override in provider(name).overrides:
        if override.target == f"{request}.{pointer.removeprefix('/')}":  # a top-level field of the request model
            schema.update(dict(override.constraints))
    return schema


def invalid_requests(name: str, op_name: str, model: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """(what is wrong, the field an error must name, body) for a submit: each a valid minimal body broken in one
    place the vendored schema or the manifest forbids. Image fields are left to the [inputs] rules."""
    base = submit_body(name, op_name, model=model)
    images = set(image_fields(name, op_name, model))
    fixed = {pointer_of(k): v for k, v in discriminators(name, op_name, model).items()}
    leaves = leaf_properties(name, op_name, model)
    containers = sorted({p.rsplit("/", 1)[0] for p in leaves if p.count("/") > 1})
    cases: list[tuple[str, str, dict[str, Any]]] = [("unknown field", UNKNOWN_FIELD, {**base, UNKNOWN_FIELD: 1})]
    for container in containers:  # a nested object refuses an unknown field too
        inner = f"{container}/{UNKNOWN_FIELD}"
        cases.append((f"unknown field in {dotted(container)}", dotted(inner), put(base, inner, 1)))
    for pointer, (prop, required) in leaves.items():
        schema, nullable = plain_schema(prop)
        limits = declared_limits(name, op_name, pointer, model)
        kind = schema.get("type")
        field = dotted(pointer)

        def case(why: str, value: Any, pointer: str = pointer, field: str = field) -> None:
            cases.append((f"{field} {why}", field, put(base, pointer, value)))

        if pointer in fixed:
            case("is not the model's", f"{fixed[pointer]}-other")
            continue
        present = _present(base, pointer)
        if required and present:
            cases.append((f"{field} missing", field, dropped(base, pointer)))
        if not nullable and not required:
            case("is null", None)
        if pointer in images:
            continue
        if "enum" in schema:
            values = schema["enum"]
            numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            case("is not in the enum", max(numeric) + 1 if numeric else "__not_listed__")
            if all(isinstance(v, str) for v in values) and all(v.isdigit() for v in values):
                case("is a number, not the enum's string", int(values[0]))
        if "maxLength" in limits:
            case("is too long", "x" * (limits["maxLength"] + 1))
        if "maximum" in limits:
            case("is above the maximum", limits["maximum"] + 1)
        if "minimum" in limits:
            case("is below the minimum", limits["minimum"] - 1)
        if "maxItems" in limits:
            case("has too many items", [f"v{i}" for i in range(limits["maxItems"] + 1)])
        if kind in ("integer", "number"):
            case("is text", "not a number")
        elif kind == "boolean":
            case("is text", "maybe")
        elif kind == "string" and "enum" not in schema:
            case("is a list", [1])
    return cases


def _present(body: dict[str, Any], pointer: str) -> bool:
    try:
        at(body, pointer)
    except (KeyError, TypeError):
        return False
    return True


def nullable_fields(name: str, op_name: str, model: str | None = None) -> list[str]:
    """The pointers of the request fields whose schema admits null."""
    return [f for f, (prop, _) in leaf_properties(name, op_name, model).items() if plain_schema(prop)[1]]


def request_schema_location(name: str, op: OperationDecl) -> tuple[str, str]:
    """(vendored document, JSON pointer from the file's root) of the object schema a submit's request body is read
    from: its model part where the body is composed (the first of the part's alternatives the document has), else the
    OpenAPI request body schema (the component it refers to). A file that is the provider's whole answer holds the
    document at its spec's `extract` pointer; refs inside it are relative to that document."""
    decl = provider(name)
    if op.body:
        for ref in op.body[-1]:
            spec_id, _, pointer = ref.partition("#")
            source = decl.spec(spec_id)
            document, base = _openapi_document(source)
            if has_pointer(document, pointer):
                return source.path, base + pointer
        raise AssertionError(f"{name}.{op.name}: no alternative of its body part {op.body[-1]} resolves")
    source = decl.spec(op.spec)
    doc, base = _openapi_document(source)
    escaped = op.path.replace("~", "~0").replace("/", "~1")
    pointer = f"/paths/{escaped}/{op.method.lower()}/requestBody/content/application~1json/schema"
    schema = doc["paths"][op.path][op.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return source.path, base + (ref[1:] if isinstance(ref, str) and ref.startswith("#/") else pointer)


def _openapi_document(source: SpecSource) -> tuple[Any, str]:
    """The OpenAPI document of a vendored file and its pointer in the file ("" unless the spec names an `extract`
    and the file is the provider's whole answer, as the generator reads it)."""
    data = json.loads((ROOT / source.path).read_text(encoding="utf-8"))
    if not is_whole_answer(source, data):
        return data, ""
    assert source.extract is not None
    return resolve_pointer(data, source.extract, Location(source.path)), source.extract


def schema_at(document: Any, pointer: str) -> Any:
    """The node a JSON pointer names in a document (the object itself: editing it edits the document)."""
    return resolve_pointer(document, pointer, Location(""))


def body_part(name: str, part: tuple[str, ...]) -> str:
    """The ref a body part is read from: the first of its alternatives that exists in its vendored document."""
    decl = provider(name)
    for ref in part:
        spec_id, _, pointer = ref.partition("#")
        data = json.loads((ROOT / decl.spec(spec_id).path).read_text(encoding="utf-8"))
        if has_pointer(data, pointer):
            return ref
    return part[-1]


def generated_file(module: str) -> str:
    """The generated file of a module, relative to the output directory (`kling_sdk/fal/client.py`)."""
    found = importlib.import_module(module)
    suffix = "/__init__.py" if Path(str(found.__file__)).name == "__init__.py" else ".py"
    return module.replace(".", "/") + suffix
