"""What compiled code sees while rendering: the variables in scope and the render's state.

A :class:`Frame` holds the variables in scope.  It starts as the caller's context
mapping itself (no copy, so a render costs nothing per variable) and copies it the
first time a ``{% set %}`` writes; a ``for`` loop gets a child frame whose writes stay
in the loop, as in Pebble.

A :class:`Runtime` is shared by a whole render, nested ``render()`` calls included:
the caller's services, the secret values revealed so far (``secret()`` values and
sealed SECRET inputs opened when an expression reached them, for masking), how
deeply ``render()`` has recursed, and what its loops have spent of the render's
budget (:data:`MAX_LOOP_STEPS` iterations, about :data:`MAX_LOOP_OUTPUT` characters
written by loops): a template cannot run or grow without bound, wherever it renders.
The budget counts work, not time, so a render stays a pure function of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lanner import encryption
from lanner.expr.errors import EvalError
from lanner.expr.services import Services

MAX_LOOP_STEPS = 5_000_000  # loop iterations in one render, nested loops and render() included
MAX_LOOP_OUTPUT = 50_000_000  # characters written inside loops (nested loops count theirs again)


class Runtime:
    """The state of one render call, shared by nested ``render()`` calls."""

    __slots__ = ("depth", "loop_output", "loop_steps", "render", "secrets", "services")

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
        self.loop_steps = 0
        self.loop_output = 0

    def reveal(self, value: str) -> None:
        if self.secrets is None:
            self.secrets = set()
        self.secrets.add(value)

    def unseal(self, value: Any) -> Any:
        """The clear text of a sealed value (a SECRET input or output), revealed like a ``secret()``."""
        if not encryption.is_sealed(value):
            return value
        try:
            text = encryption.unseal(value)
        except encryption.EncryptionError as exc:
            raise EvalError(str(exc)) from None
        self.reveal(text)
        return text


class Frame:
    """The variables in scope and the runtime.  Writes copy the caller's mapping first."""

    __slots__ = ("_owned", "rt", "vars")

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
