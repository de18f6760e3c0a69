"""What a decision made by this process may reach of the world: the store's KV, the process's environment.

``decide`` stays free of writes and of the process (:mod:`lanner.engine.core.surroundings`):
:func:`surroundings` is where the executor (and whoever makes a first decision) gathers
them: the time it was given, new random ids, one random source per process, the
process environment, a read-only KV reader backed by the store, and the process's
shelf of task-run indexes (which the store reads to write only what changed).  Reading a key
(``kv('threshold')`` in a ``runIf``, an ``If`` condition or flow outputs) is the one
lookup a decision's expressions may make.  Files in internal storage live with the
workers, so ``read()`` is for task properties.
"""

from __future__ import annotations

import os
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lanner.engine.core.surroundings import Surroundings
from lanner.model import run_index
from lanner.model.execution import new_id
from lanner.store.kv_repository import KVStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Seeded once per process: seeding one per decision would read the OS entropy pool each time.
_PROCESS_RANDOM = random.Random()


class ExecutorServices:
    def __init__(self, engine: Engine, tenant_id: str, namespace: str) -> None:
        self._store, self._namespace = KVStore(engine, tenant_id), namespace

    def kv(self, key: str, namespace: str | None) -> Any:
        return self._store.get(namespace or self._namespace, key)


def surroundings(engine: Engine, tenant_id: str, namespace: str, now: datetime) -> Surroundings:
    """A decision's surroundings in this process, for an execution of ``tenant_id`` in ``namespace``."""
    return Surroundings(now=now, ids=new_id, rng=_PROCESS_RANDOM, environ=os.environ,
                        kv=ExecutorServices(engine, tenant_id, namespace).kv, shelf=run_index.SHELF)
