"""What compiled code sees while rendering: the variables in scope and the render's state.

A :class:`Frame` holds the variables in scope.  It starts as the caller's context
mapping itself (no copy, so a render costs nothing per variable) and copies it the
first time a ``{% set %}`` writes; a ``for`` loop gets a child frame whose writes stay
in the loop, as in Pebble.

A :class:`Runtime` is shared by a whole render, nested ``render()`` calls included:
the caller's services, the secret values revealed so far (for log masking), and how
deeply ``render()`` has recursed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lanner.expr.services import Services


class Runtime:
    """The state of one render call, shared by nested ``render()`` calls."""

    __slots__ = ("services", "secrets", "depth", "render")

    def __init__(
        self,
        services: Services | None,
        secrets: set[str] | None,
        render: Callable[[str, Mapping[str, Any], Runtime], str],
    ) -> None:
        self.services = services
        self.secrets = secrets  # every secret value revealed, for log masking; None until one is
        self.depth = 0
        self.render = render

    def reveal(self, value: str) -> None:
        if self.secrets is None:
            self.secrets = set()
        self.secrets.add(value)


class Frame:
    """The variables in scope and the runtime.  Writes copy the caller's mapping first."""

    __slots__ = ("vars", "rt", "_owned")

    def __init__(self, variables: Mapping[str, Any], rt: Runtime, owned: bool = False) -> None:
        self.vars: Any = variables
        self.rt = rt
        self._owned = owned

    def assign(self, name: str, value: Any) -> None:
        if not self._owned:
            self.vars = dict(self.vars)
            self._owned = True
        self.vars[name] = value

    def child(self) -> Frame:
        """A new scope (a for loop's): it sees every variable, and its writes stay in it."""
        return Frame(dict(self.vars), self.rt, owned=True)
