"""Base classes of the generated models: strict requests, tolerant responses."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class RequestModel(BaseModel):
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
