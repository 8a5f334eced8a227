"""Load providers.toml into frozen records; unknown or missing keys are errors."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.diagnostics import GenerationError, Location
from codegen.ir import Auth, ErrorShape

OPERATION_KINDS = ("submit", "status", "result", "cancel", "list")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
SPEC_FORMATS = ("openapi", "json")


@dataclass(frozen=True)
class SpecSource:
    """One vendored document of a provider."""

    id: str
    path: str
    format: str
    url: str | None
    extract: str | None


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
    body: tuple[str, ...]
    constants: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class FieldOverride:
    """Replace a generated field's type where a spec is known to be wrong."""

    target: str
    type: str
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
    table_hash: str

    def spec(self, spec_id: str) -> SpecSource:
        """The spec source with this id."""
        for spec in self.specs:
            if spec.id == spec_id:
                return spec
        raise KeyError(spec_id)


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


def _strings(values: list[Any], where: Location) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in values):
        raise GenerationError(where, "expected an array of strings")
    return tuple(values)


def _load_operation(data: Any, where: Location, spec_ids: set[str]) -> OperationDecl:
    t = _Table(data, where)
    op = OperationDecl(
        name=t.get("name", str),
        kind=_choice(t.get("kind", str), OPERATION_KINDS, where.child("kind")),
        spec=t.get("spec", str),
        method=_choice(t.get("method", str).upper(), HTTP_METHODS, where.child("method")),
        path=t.get("path", str),
        wire_path=t.get("wire_path", str, None),
        task=t.get("task", str, None),
        request=t.get("request", str, None),
        response=t.get("response", str, None),
        body=_strings(t.get("body", list, []), where.child("body")),
        constants=tuple(sorted(t.get("constants", dict, {}).items())),
    )
    t.done()
    if op.spec not in spec_ids:
        raise GenerationError(where.child("spec"), f"unknown spec id {op.spec!r}")
    for ref in op.body:
        if ref.split("#", 1)[0] not in spec_ids:
            raise GenerationError(where.child("body"), f"{ref!r} names an unknown spec id")
    if op.kind == "submit" and not op.request:
        raise GenerationError(where, "a submit operation needs `request` (the request model's class name)")
    return op


def _load_provider(name: str, data: Any, where: Location) -> ProviderDecl:
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
    )
    err_t.done()
    specs_t = t.table("specs")
    specs = []
    for spec_id in specs_t.data:
        s = specs_t.table(spec_id)
        specs.append(
            SpecSource(
                id=spec_id,
                path=s.get("path", str),
                format=_choice(s.get("format", str), SPEC_FORMATS, s.where.child("format")),
                url=s.get("url", str, None),
                extract=s.get("extract", str, None),
            )
        )
        s.done()
    specs_t.done()
    spec_ids = {s.id for s in specs}
    operations = tuple(
        _load_operation(op, where.child("operations", i), spec_ids) for i, op in enumerate(t.get("operations", list))
    )
    names = [op.name for op in operations]
    if len(set(names)) != len(names):
        raise GenerationError(where.child("operations"), "operation names must be unique")
    overrides_t = t.table("overrides", {})
    overrides = []
    for target in overrides_t.data:
        o = overrides_t.table(target)
        overrides.append(FieldOverride(target=target, type=o.get("type", str), reason=o.get("reason", str)))
        o.done()
    overrides_t.done()
    rename = t.get("rename", dict, {})
    provider = ProviderDecl(
        name=name,
        title=t.get("title", str),
        class_name=t.get("class_name", str),
        base_url=t.get("base_url", str).rstrip("/"),
        docs_url=t.get("docs_url", str, None),
        auth=auth,
        errors=errors,
        specs=tuple(specs),
        operations=operations,
        rename=tuple(sorted(rename.items())),
        overrides=tuple(overrides),
        table_hash=hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest(),
    )
    t.done()
    return provider


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
    package = gen.get("package", str)
    output = root / gen.get("output", str)
    templates = root / gen.get("templates", str)
    lock = root / gen.get("lock", str)
    gen.done()
    providers_t = top.table("providers")
    providers = tuple(
        _load_provider(name, providers_t.data[name], providers_t.where.child(name)) for name in providers_t.data
    )
    providers_t.used.update(providers_t.data)
    providers_t.done()
    top.done()
    return Manifest(
        path=path, root=root, package=package, output=output, templates=templates, lock=lock, providers=providers
    )
