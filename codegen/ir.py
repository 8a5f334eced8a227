"""The intermediate representation: frozen records of names, types and docs; no code strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
TypeKind = Literal["str", "int", "float", "bool", "any", "list", "dict", "model", "literal"]
Role = Literal["request", "response"]


@dataclass(frozen=True)
class TypeRef:
    """A type: a primitive, a container of `item`, a named model, or a literal set of `values`."""

    kind: TypeKind
    item: TypeRef | None = None
    name: str | None = None
    values: tuple[str | int | float | bool, ...] = ()


@dataclass(frozen=True)
class Constraint:
    """A validation keyword kept from the spec (maxLength, minimum, maxItems, ...)."""

    keyword: str
    value: int | float | str


@dataclass(frozen=True)
class Field:
    """A property of a model."""

    name: str
    wire_name: str
    type: TypeRef
    required: bool
    nullable: bool
    description: str | None
    constraints: tuple[Constraint, ...] = ()
    has_default: bool = False
    default: Json = None
    constant: bool = False
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Model:
    """A request or response object; request models reject unknown fields, response models keep them."""

    name: str
    role: Role
    description: str | None
    fields: tuple[Field, ...]
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Param:
    """A path or query parameter of an operation."""

    name: str
    wire_name: str
    location: Literal["path", "query"]
    type: TypeRef
    required: bool
    description: str | None


@dataclass(frozen=True)
class Operation:
    """One client method: an HTTP call with typed parameters, body and response."""

    name: str
    kind: str
    task: str | None
    method: str
    path: str
    params: tuple[Param, ...]
    request: str | None
    response: str | None
    summary: str | None
    source: str


@dataclass(frozen=True)
class Auth:
    """Auth header convention."""

    header: str
    scheme: str
    env: str


@dataclass(frozen=True)
class ErrorShape:
    """Where a provider's error body keeps its message, code and request id (JSON pointers)."""

    message: tuple[str, ...]
    code: tuple[str, ...]
    request_id: tuple[str, ...]
    request_id_header: str | None
    code_header: str | None


@dataclass(frozen=True)
class Provider:
    """Everything generated for one provider."""

    name: str
    title: str
    class_name: str
    base_url: str
    docs_url: str | None
    auth: Auth
    errors: ErrorShape
    models: tuple[Model, ...]
    operations: tuple[Operation, ...]
    spec_files: tuple[str, ...]
    inputs_hash: str


@dataclass(frozen=True)
class Api:
    """All providers of one SDK package."""

    package: str
    providers: tuple[Provider, ...]
