"""The hooks through which a template reaches the outside world, and nothing else does.

Rendering is pure: it reads the context mapping it is given and computes text.  A few
Kestra functions need the runtime (the KV store, internal storage, the execution's
logs), and they go through a :class:`Services` object the caller supplies.  With no
services, or a services object without the hook, the function fails with a message
saying it is not available here (for example when a flow is validated, not run).

The other doors are ``secret()``, which reads ``SECRET_<NAME>`` from the environment at
call time, as Kestra's open-source edition does, ``now()``, and ``randomInt()`` and
``uuid()``: when the services have an ``environment``, ``clock`` or ``random`` hook they
read it (a decision's renders stay pure: :mod:`lanner.engine.core.surroundings`), otherwise
the process environment, the clock and the ``random`` module.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import datetime, tzinfo
from typing import Any, Protocol, runtime_checkable

from lanner.expr.errors import EvalError


def not_available(function_name: str) -> EvalError:
    """What calling a function whose hook these services lack raises (the template adds where)."""
    return EvalError(f"the `{function_name}` function is not available in this context")


@runtime_checkable
class Services(Protocol):
    """Runtime hooks; implement any subset.  Each may raise ExpressionError itself."""

    def kv(self, key: str, namespace: str | None) -> Any:
        """The value stored under ``key`` (in the flow's namespace when None); None if absent."""

    def read(self, uri: str) -> str:
        """The text of a file in internal storage or the namespace files."""

    def file_size(self, uri: str) -> int:
        """The size in bytes of a file in internal storage."""

    def error_logs(self) -> list[Any]:
        """The error logs of the current execution (for alerts in ``errors`` tasks)."""

    def current_each_output(self, outputs: Any) -> Any:
        """The outputs of the current iteration of the enclosing ForEach."""


# Optional hooks, not in the protocol (a services object without them reads the process):
#   environment(name) -> str | None   the environment variable ``name``, for ``secret()``;
#   clock() -> datetime                the current time, timezone-aware, for ``now()``;
#   random() -> random.Random          the random source of ``randomInt()`` and ``uuid()``.
# lanner.engine.core.surroundings.DecisionServices has all three.


def environment_value(services: Any, name: str) -> str | None:
    hook = getattr(services, "environment", None)
    return hook(name) if hook is not None else os.environ.get(name)


def current_time(services: Any, zone: tzinfo | None) -> datetime:
    hook = getattr(services, "clock", None)
    return hook().astimezone(zone) if hook is not None else datetime.now(zone)


def random_source(services: Any) -> Any:
    """The services' random source, or the ``random`` module (same ``randrange`` and ``getrandbits``)."""
    hook = getattr(services, "random", None)
    return hook() if hook is not None else random


def new_uuid(services: Any) -> str:
    hook = getattr(services, "random", None)
    if hook is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=hook().getrandbits(128), version=4))
