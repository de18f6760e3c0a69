"""Namespaces, KV entries and secrets' names in Kestra's JSON shapes."""

from __future__ import annotations

from typing import Any

from lanner.web.schemas.base import KestraModel, PagedResults


class Namespace(KestraModel):
    """A namespace as Kestra's open-source edition shows it: its id; the rest (isolation, variables, worker
    selector, secret and storage settings) belongs to the Enterprise Edition and is null."""

    id: str
    deleted: bool = False
    description: str | None = None
    variables: dict[str, Any] | None = None
    allowed_namespaces: list[dict[str, Any]] | None = None
    storage_isolation: dict[str, Any] | None = None
    secret_isolation: dict[str, Any] | None = None
    default_worker_selector: dict[str, Any] | None = None
    concurrency: dict[str, Any] | None = None
    storage_type: str | None = None
    storage_configuration: dict[str, Any] | None = None
    secret_type: str | None = None
    secret_read_only: bool | None = None
    secret_configuration: dict[str, Any] | None = None
    worker_secret_manager_mode: str | None = None
    outputs_in_internal_storage: bool | None = None
    sdk_default_authentication: dict[str, Any] | None = None
    quotas: list[dict[str, Any]] | None = None


class Autocomplete(KestraModel):
    """What an autocomplete field typed (``q``) and the ids it must always offer."""

    q: str | None = None
    ids: list[str] | None = None
    existing_only: bool | None = None


class SecretMeta(KestraModel):
    key: str


class SecretList(KestraModel):
    """Secrets' names (never their values): read-only, as the environment holds them."""

    read_only: bool = True
    results: list[SecretMeta]
    total: int


class KVEntry(KestraModel):
    """A key's metadata (Kestra's ``KVEntry``)."""

    namespace: str | None = None
    key: str
    revision: int | None = None
    description: str | None = None
    creation_date: str | None = None
    update_date: str | None = None
    expiration_date: str | None = None


class KVDetail(KestraModel):
    """A key's value and type (Kestra's ``KVController.KvDetail``)."""

    type: str
    value: Any = None
    revision: int | None = None
    updated: str | None = None


class KVDeleteBulk(KestraModel):
    keys: list[str]


class KVPage(PagedResults[KVEntry]):
    pass
