"""Base classes of the generated models: strict requests, tolerant responses."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import InvalidRequestError

NEUTRAL = "unified"  # what an invalid neutral request (kling_sdk.unified) names where a provider would stand


def invalid_request(provider: str, model: str, exc: ValidationError) -> InvalidRequestError:
    """pydantic's refusal as an `InvalidRequestError`: the first field it names, and every problem without the
    values (they may echo a key, and pydantic truncates long ones, which would defeat redaction)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = ".".join(str(p) for p in errors[0]["loc"]) if errors and errors[0]["loc"] else model
    if len(errors) == 1:
        return InvalidRequestError(provider, first, f"{errors[0]['msg']} ({model})")
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or model}: {e['msg']}" for e in errors)
    return InvalidRequestError(provider, first, f"{detail} ({model})")


class Validated(BaseModel):
    """A request however it is built — `Model(...)`, `model_validate*`, an assignment — is refused with an
    `InvalidRequestError` naming `__provider__` and the field, never pydantic's `ValidationError`.

    (Inside a larger pydantic model it is validated as a field of that model, by that model's rules.)
    """

    __provider__: ClassVar[str] = NEUTRAL

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise invalid_request(self.__provider__, type(self).__name__, exc) from None

    # pydantic takes an overridden __init__ for a custom one and runs model_validate through it (wrapping our error in
    # its own); this one only translates errors, so pydantic may keep validating without it, as for its RootModel.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """pydantic's `model_validate`; a refusal is an `InvalidRequestError`."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_request(cls.__provider__, cls.__name__, exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        """pydantic's `model_validate_json`; a refusal is an `InvalidRequestError`."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_request(cls.__provider__, cls.__name__, exc) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """pydantic's `model_validate_strings`; a refusal is an `InvalidRequestError`."""
        try:
            return super().model_validate_strings(obj, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_request(cls.__provider__, cls.__name__, exc) from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise invalid_request(self.__provider__, type(self).__name__, exc) from None


class RequestModel(Validated):
    """A request body: unknown fields are rejected before any network call.

    Parameters a provider added after this SDK was generated go through the client's explicit
    `extra_body=` argument instead.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    __non_nullable__: ClassVar[frozenset[str]] = frozenset()
    __wire_constants__: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Per field, so that the error is located at the field (defaults are never validated, so never refused).
        if value is None and info.field_name in cls.__non_nullable__:
            raise ValueError(f"{info.field_name}: may be omitted but not null")
        return value

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: what the caller set, plus constants such as the model id; never defaults."""
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        for name in self.__wire_constants__:
            field = type(self).model_fields[name]
            body.setdefault(field.alias or name, field.default)
        return body


class ResponseModel(BaseModel):
    """A response body: unknown fields are kept (in `model_extra`), never an error."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
