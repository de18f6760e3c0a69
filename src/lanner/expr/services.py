"""The hooks through which a template reaches the outside world, and nothing else does.

Rendering is pure: it reads the context mapping it is given and computes text.  A few
Kestra functions need the runtime (the KV store, internal storage, the execution's
logs), and they go through a :class:`Services` object the caller supplies.  With no
services, or a services object without the hook, the function fails with a message
saying it is not available here (for example when a flow is validated, not run).

The one other door is ``secret()``, which reads ``SECRET_<NAME>`` from the process
environment at call time, as Kestra's open-source edition does.
"""

from __future__ import annotations

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
