"""What expressions rendered by the executor may reach: the KV store, read only.

``decide`` stays free of writes; reading a key (``kv('threshold')`` in a ``runIf``, an
``If`` condition or flow outputs) is the one lookup its expressions may make.  Files in
internal storage live with the workers, so ``read()`` is for task properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lanner.store.kv_repository import KVStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class ExecutorServices:
    def __init__(self, engine: Engine, tenant_id: str, namespace: str) -> None:
        self._store, self._namespace = KVStore(engine, tenant_id), namespace

    def kv(self, key: str, namespace: str | None) -> Any:
        return self._store.get(namespace or self._namespace, key)
