"""A service instance's lifecycle: its states and the transitions between them (Kestra's).

::

    CREATED -> RUNNING -> TERMINATING -> TERMINATED_GRACEFULLY -> EMPTY
                  |            '-------> TERMINATED_FORCED ----> NOT_RUNNING -> EMPTY
                  '--(silent)--> DISCONNECTED --(jobs dealt with)--'

An instance moves itself through CREATED, RUNNING, TERMINATING and its TERMINATED_*
end; the coordinator declares silent ones DISCONNECTED, moves dead ones to NOT_RUNNING
once their jobs are resubmitted, and ended ones to EMPTY before they are forgotten.
ERROR is where a component that failed unexpectedly ends.
"""

from __future__ import annotations

from enum import StrEnum


class ServiceState(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED_GRACEFULLY = "TERMINATED_GRACEFULLY"
    TERMINATED_FORCED = "TERMINATED_FORCED"
    DISCONNECTED = "DISCONNECTED"
    NOT_RUNNING = "NOT_RUNNING"
    ERROR = "ERROR"
    EMPTY = "EMPTY"

    @property
    def alive(self) -> bool:
        """Whether the instance is expected to heartbeat."""
        return self in ALIVE


class ServiceType(StrEnum):
    WEBSERVER = "WEBSERVER"
    EXECUTOR = "EXECUTOR"
    SCHEDULER = "SCHEDULER"
    WORKER = "WORKER"
    STANDALONE = "STANDALONE"


S = ServiceState
ALIVE = frozenset({S.CREATED, S.RUNNING, S.TERMINATING})
# An instance in one of these may hold jobs nobody will finish: they are resubmitted.
DEAD = frozenset({S.DISCONNECTED, S.TERMINATED_FORCED, S.ERROR, S.NOT_RUNNING, S.EMPTY})
TRANSITIONS: dict[ServiceState, frozenset[ServiceState]] = {
    S.CREATED: frozenset({S.RUNNING, S.TERMINATING, S.DISCONNECTED, S.ERROR}),
    S.RUNNING: frozenset({S.TERMINATING, S.DISCONNECTED, S.ERROR}),
    S.TERMINATING: frozenset({S.TERMINATED_GRACEFULLY, S.TERMINATED_FORCED, S.DISCONNECTED, S.ERROR}),
    S.TERMINATED_GRACEFULLY: frozenset({S.EMPTY}),
    S.TERMINATED_FORCED: frozenset({S.NOT_RUNNING}),
    S.DISCONNECTED: frozenset({S.NOT_RUNNING}),
    S.ERROR: frozenset({S.NOT_RUNNING}),
    S.NOT_RUNNING: frozenset({S.EMPTY}),
    S.EMPTY: frozenset(),
}


def allowed(current: ServiceState, target: ServiceState) -> bool:
    return target in TRANSITIONS[current]
