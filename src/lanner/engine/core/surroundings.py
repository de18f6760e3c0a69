"""What a decision may know of the world outside its execution: :class:`Surroundings`.

``decide`` is a pure function of the execution, the flow, the events and these values:
the clock reading (``now``), where new ids come from, the random source (a retry's
jitter, ``randomInt()``, ``uuid()``), the environment (``envs``, ``secret()``) and a
reader of the KV store (``kv()``).  Nothing in its path reads ``os.environ``, the
``random`` module, the clock or the database itself: the caller supplies each one,
the executor from the process and the store, a test from plain values, so a decision
can be replayed and its tests need no monkeypatching to be deterministic.

The one thing carried from a decision to the next is the index of the execution's task
runs (:mod:`lanner.model.run_index`), on a shelf the caller gives too: what ``decide``
returns never depends on whether it found an index there or built one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from lanner.expr.services import not_available
from lanner.model.run_index import Shelf


class KVReader(Protocol):
    def __call__(self, key: str, namespace: str | None) -> Any:
        """The value under ``key`` (in the execution's namespace when None); None if absent."""


def no_kv(key: str, namespace: str | None) -> Any:
    """A KV reader for decisions made without a store (``kv()`` then fails, as when a flow is validated)."""
    raise not_available("kv")


@dataclass(frozen=True, slots=True)
class Surroundings:
    now: datetime
    ids: Callable[[], str]
    rng: random.Random
    environ: Mapping[str, str]
    kv: KVReader = no_kv
    shelf: Shelf = field(default_factory=Shelf)  # a new one: nothing handed from a decision to the next


class DecisionServices:
    """The expression hooks (:class:`lanner.expr.services.Services`) a decision's renders get.

    Each reads the surroundings, never the process: ``now()`` is the decision's time,
    ``randomInt()`` and ``uuid()`` draw from its random source, ``secret()`` reads its environment.
    """

    __slots__ = ("_around",)

    def __init__(self, around: Surroundings) -> None:
        self._around = around

    def kv(self, key: str, namespace: str | None) -> Any:
        return self._around.kv(key, namespace)

    def environment(self, name: str) -> str | None:
        return self._around.environ.get(name)

    def clock(self) -> datetime:
        return self._around.now

    def random(self) -> random.Random:
        return self._around.rng
