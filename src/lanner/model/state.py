"""Execution, task-run and attempt states, and their history.

The fifteen states are Kestra's.  A state history is an append-only tuple of
(state, date) pairs: the current state is its last entry, the start date its first,
and the end date the first terminal entry after the last non-terminal one.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    date: datetime


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

    def to(self, state: State, now: datetime) -> StateHistory:
        """This history with ``state`` appended; the same history when already in it."""
        if state is self.current:
            return self
        return StateHistory(self.histories + (Transition(state, now),))
