"""What every body shares: camelCase field names, the page of results, the bulk answer."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class KestraModel(BaseModel):
    """A body in Kestra's JSON: fields declared in snake_case, sent and read in camelCase (``flow_id`` is
    ``flowId``); every declared field is sent, null where Lanner has no value."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


T = TypeVar("T")


class PagedResults(KestraModel, Generic[T]):
    """A page of a search: ``results`` and the ``total`` the search matched."""

    results: list[T]
    total: int


class IdWithNamespace(KestraModel):
    """A flow named by its namespace and id (the bulk routes' body items)."""

    namespace: str
    id: str

    @field_validator("namespace", "id")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:  # no name holds one (PostgreSQL refuses it in a query): a 400, not a lookup
            raise ValueError("holds a NUL character (\\0), which no namespace or flow id has")
        return value


class BulkResponse(KestraModel):
    """What a bulk action did: how many items it changed."""

    count: int = 0


class BulkErrorResponse(KestraModel):
    """A bulk action refused: the message and, per refused item, why (Kestra's 400 body of bulk routes)."""

    message: str
    invalids: list[dict[str, Any]] = Field(default_factory=list)


class Label(KestraModel):
    key: str
    value: str


def labels(mapping: dict[str, Any] | None) -> list[Label]:
    """Labels as Kestra sends them: a list of ``{key, value}``."""
    return [Label(key=str(k), value=str(v)) for k, v in (mapping or {}).items()]
