"""A flow's ``sla``: what breaks it, over plain values; ``decide`` applies the outcome.

``MAX_DURATION``: an execution-level timer is armed when the execution starts, and when
it fires, every SLA whose duration has elapsed is violated (its labels added); the first
with ``behavior: FAIL`` or ``CANCEL`` stops the execution.  ``EXECUTION_ASSERTION``: at
the end, each assertion that does not hold is violated and may turn the final state
into FAILED or CANCELLED.  An assertion that cannot be rendered counts as not holding.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from lanner.expr import ExpressionError
from lanner.expr.truthiness import truthy
from lanner.model.flow import Flow
from lanner.model.state import State

STOPPING = ("FAIL", "CANCEL")


def timers(flow: Flow) -> list[float]:
    """Seconds after the start at which a MAX_DURATION SLA must be checked."""
    return [sla.duration.total_seconds() for sla in flow.sla if sla.type == "MAX_DURATION" and sla.duration]


def overdue(flow: Flow, elapsed: timedelta) -> list[Any]:
    """The MAX_DURATION SLAs broken after ``elapsed``, up to and including the first that stops the execution."""
    broken = []
    for sla in flow.sla:
        if sla.type == "MAX_DURATION" and sla.duration is not None and elapsed >= sla.duration:
            broken.append(sla)
            if sla.behavior in STOPPING:
                break
    return broken


def assertions(flow: Flow, state: State, render: Callable[[Any], Any]) -> tuple[State, list[tuple[Any, str]],
                                                                                 list[str]]:
    """(the final state, [(broken SLA, why)], [errors]) once the EXECUTION_ASSERTION SLAs are checked."""
    broken: list[tuple[Any, str]] = []
    errors: list[str] = []
    for sla in flow.sla:
        if sla.type != "EXECUTION_ASSERTION" or not sla.assert_:
            continue
        try:
            held = truthy(render(sla.assert_))
        except (ExpressionError, ValueError) as exc:
            errors.append(f"SLA {sla.id}: {exc}")
            held = False
        if not held:
            broken.append((sla, f"its assertion {sla.assert_} does not hold"))
            if sla.behavior == "FAIL":
                state = State.FAILED
            elif sla.behavior == "CANCEL":
                state = State.CANCELLED
    return state, broken, errors
