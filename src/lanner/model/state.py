"""Execution, task-run and attempt states, their allowed transitions, and their history.

The fifteen states are Kestra's.  A state history is an append-only tuple of
(state, date, cause) entries: the current state is its last entry, the start date its
first, and the end date the first terminal entry after the last non-terminal one.

Which state may follow which is declared, as :mod:`lanner.model.service_state` does for
services: :data:`EXECUTION_TRANSITIONS`, :data:`TASK_RUN_TRANSITIONS` and
:data:`ATTEMPT_TRANSITIONS`.  Every change is checked against its table
(:meth:`StateHistory.to`); one that is not there is a bug in Lanner, and raises
:class:`InvalidTransition` naming from, to and the cause rather than storing a history
nobody could explain.  The tables are Kestra's state machine (its documented states
and what its executor does) and every transition Lanner makes, collected by running
the unit and integration tests: some of Kestra's end states are left again (a FAILED
execution is restarted, a RESUBMITTED task run runs again on another worker).

Each change records its :class:`Cause`, given by the code that makes it.  The cause is
stored with the history (the JSON of the executions and task-runs tables) and not sent
by the API, whose histories are Kestra's ``{state, date}``; entries stored before
causes were recorded have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"
    RESUBMITTED = "RESUBMITTED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def failed(self) -> bool:
        """Whether this ending counts as a failure for the parent (Kestra's ``isFailed``)."""
        return self in (State.FAILED, State.KILLED, State.CANCELLED)


TERMINAL = frozenset({State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED, State.SKIPPED,
                      State.RETRIED, State.RESUBMITTED})


class Cause(StrEnum):
    """Why a state changed, as recorded in its history entry."""

    STARTED = "started"  # an execution begins, a task run is dispatched
    QUEUED = "queued"  # a concurrency limit or maintenance mode holds an execution
    CONCURRENCY = "concurrency limit"  # a concurrency limit ends an execution it will not run
    TASK_ENDED = "task ended"  # a worker reported an attempt's end
    RETRY = "retry"  # a failed attempt is tried again
    CHILDREN = "children"  # a flowable (or the flow) resolved from its children
    SUBFLOW_ENDED = "subflow ended"  # the execution a task run waited for ended
    SKIPPED = "skipped"  # a runIf was false
    ERROR = "error"  # an expression or a property could not be worked out
    KILLED_BY_USER = "killed by user"
    KILLED = "killed"  # stopped because its execution is being killed
    SLA = "sla"  # a flow SLA stopped the execution
    PAUSED = "paused"
    PAUSED_BY_USER = "paused by user"  # an operator's pause: nothing new starts until resumed
    UNQUEUED = "unqueued by user"  # an operator took a QUEUED execution out of its flow's queue
    RESUMED = "resumed"
    RESTARTED = "restarted"
    WORKER_DIED = "worker died"  # the attempt's worker stopped heartbeating: resubmitted, or failed
    INTERNAL_ERROR = "internal error"  # a bug while deciding: the execution fails rather than block the queue


class InvalidTransition(Exception):
    """A state change its table does not allow: a bug in Lanner, never an operator's mistake."""

    def __init__(self, what: str, current: State, target: State, cause: str | None) -> None:
        super().__init__(f"{what} cannot go from {current} to {target} (cause: {cause or 'none given'}): "
                         "not an allowed transition (lanner.model.state); this is a bug in Lanner")
        self.what, self.current, self.target, self.cause = what, current, target, cause


S = State
Transitions = Mapping[State, frozenset[State]]
# An execution: Kestra's diagram (CREATED -> QUEUED or RUNNING -> PAUSED <-> RUNNING ->
# SUCCESS, WARNING, FAILED or KILLING -> KILLED; CREATED -> CANCELLED by a concurrency
# limit; FAILED or KILLED -> RESTARTED -> RUNNING), plus what Lanner's executor does: a
# kill from a MAX_DURATION SLA with behavior FAIL or CANCEL ends FAILED or CANCELLED, an
# EXECUTION_ASSERTION SLA may end it CANCELLED, a pause whose timeout behavior is FAIL
# ends it from PAUSED, and an execution the executor cannot decide fails from any state
# not yet ended.  Kestra's flow-level retry (FAILED -> RETRYING) is not Lanner's: it
# retries task runs, so RETRYING, RETRIED and RESUBMITTED are task-run states here.
EXECUTION_TRANSITIONS: Transitions = {
    S.CREATED: frozenset({S.RUNNING, S.QUEUED, S.CANCELLED, S.FAILED, S.KILLING}),
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED, S.KILLING}),
    S.RUNNING: frozenset({S.SUCCESS, S.WARNING, S.FAILED, S.PAUSED, S.KILLING, S.KILLED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.SUCCESS, S.WARNING, S.FAILED, S.KILLING, S.KILLED, S.CANCELLED}),
    S.KILLING: frozenset({S.KILLED, S.FAILED, S.CANCELLED}),
    S.RESTARTED: frozenset({S.RUNNING, S.FAILED}),
    S.FAILED: frozenset({S.RESTARTED}),
    S.KILLED: frozenset({S.RESTARTED}),
    S.SUCCESS: frozenset(),
    S.WARNING: frozenset(),
    S.CANCELLED: frozenset(),
    S.SKIPPED: frozenset(),
    S.RETRYING: frozenset(),
    S.RETRIED: frozenset(),
    S.RESUBMITTED: frozenset(),
}
# A task run: CREATED (or RESTARTED) -> RUNNING, SKIPPED by its runIf, FAILED when it
# cannot start, KILLED before it ran; RUNNING -> its end, PAUSED, RETRYING from a failed
# attempt until the retry's attempt ends, RESUBMITTED when its worker died (and RUNNING
# again at once on another).  A restart moves the failed runnable ones to RESTARTED and
# every ended ancestor, whatever its end (a WARNING one under allowFailure), to RUNNING.
TASK_RUN_TRANSITIONS: Transitions = {
    S.CREATED: frozenset({S.RUNNING, S.SKIPPED, S.FAILED, S.KILLED}),
    S.RESTARTED: frozenset({S.RUNNING, S.SKIPPED, S.FAILED, S.KILLED}),
    S.RUNNING: frozenset({S.SUCCESS, S.WARNING, S.FAILED, S.KILLED, S.CANCELLED, S.PAUSED, S.RETRYING,
                          S.RESUBMITTED}),
    S.PAUSED: frozenset({S.RUNNING, S.SUCCESS, S.WARNING, S.FAILED, S.KILLED, S.CANCELLED}),
    S.RETRYING: frozenset({S.SUCCESS, S.WARNING, S.FAILED, S.KILLED, S.RESUBMITTED}),
    S.RESUBMITTED: frozenset({S.RUNNING}),
    S.FAILED: frozenset({S.RESTARTED, S.RUNNING}),
    S.KILLED: frozenset({S.RESTARTED, S.RUNNING}),
    S.CANCELLED: frozenset({S.RESTARTED, S.RUNNING}),
    S.WARNING: frozenset({S.RUNNING}),
    S.SUCCESS: frozenset({S.RUNNING}),
    S.SKIPPED: frozenset(),
    S.QUEUED: frozenset(),
    S.KILLING: frozenset(),
    S.RETRIED: frozenset(),
}
# An attempt starts RUNNING and ends once: as its worker (or its subflow) reported, or
# RESUBMITTED when its worker died.
ATTEMPT_TRANSITIONS: Transitions = {
    **{state: frozenset() for state in State},
    S.CREATED: frozenset({S.RUNNING}),
    S.RUNNING: frozenset({S.SUCCESS, S.WARNING, S.FAILED, S.KILLED, S.CANCELLED, S.RESUBMITTED}),
}


def allowed(table: Transitions, current: State, target: State) -> bool:
    return target in table[current]


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    date: datetime
    cause: str | None = None  # a Cause; None in histories stored before causes were recorded


@dataclass(frozen=True, slots=True)
class StateHistory:
    histories: tuple[Transition, ...]

    @classmethod
    def start(cls, state: State, now: datetime) -> StateHistory:
        return cls((Transition(state, now),))

    @property
    def current(self) -> State:
        return self.histories[-1].state

    @property
    def start_date(self) -> datetime:
        return self.histories[0].date

    @property
    def end_date(self) -> datetime | None:
        return self.histories[-1].date if self.current.terminal else None

    @property
    def duration(self) -> timedelta | None:
        end = self.end_date
        return end - self.start_date if end else None

    def to(self, state: State, now: datetime, cause: str | None = None, *, table: Transitions | None = None,
           what: str = "a state") -> StateHistory:
        """This history with ``state`` appended for ``cause``; the same history when already in it.

        ``table`` (the owner's: an execution's, a task run's, an attempt's) must allow the change.
        """
        if state is self.current:
            return self
        if table is not None and state not in table[self.current]:
            raise InvalidTransition(what, self.current, state, cause)
        return StateHistory(self.histories + (Transition(state, now, cause),))
