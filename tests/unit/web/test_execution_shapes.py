"""Executions in Kestra's shapes: what :mod:`lanner.web.shapes` sends is exactly the declared models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.state import State, StateHistory, Transition
from lanner.web import shapes
from lanner.web.schemas import executions as schemas

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _history(*states: State, step: float = 1.5) -> StateHistory:
    return StateHistory(tuple(Transition(s, START + timedelta(seconds=i * step)) for i, s in enumerate(states)))


def _execution() -> Execution:
    ended = _history(State.CREATED, State.RUNNING, State.SUCCESS)
    run = TaskRun("r1", "hello", ended, attempts=(Attempt(_history(State.RUNNING, State.SUCCESS), "w1"),),
                  outputs={"value": "x"}, metrics=({"name": "n", "type": "counter", "value": 1},))
    return Execution("e1", "company.team", "flow", 3, _history(State.CREATED, State.RUNNING, State.FAILED,
                                                              State.RESTARTED, State.RUNNING, State.SUCCESS),
                     labels={"team": "data"}, task_runs=(run,), parent_id="p1",
                     trigger={"type": schemas.SUBFLOW_TYPE, "executionId": "p1", "namespace": "company",
                              "flowId": "parent", "flowRevision": 2, "taskRunId": "tr", "taskId": "call",
                              "wait": True})


def test_the_shape_is_the_declared_model_exactly():
    shaped = shapes.execution(_execution())
    assert schemas.Execution.model_validate(shaped).model_dump(mode="json") == shaped


def test_state_duration_end_and_kestrapy_fields():
    state = shapes.execution(_execution())["state"]
    assert state["duration"] == "PT7.5S" and state["getDuration"] == "PT7.5S"
    assert state["endDate"] == state["getEndDate"] == "2026-03-01T12:00:07.500000Z"
    running = schemas.state(_history(State.CREATED, State.RUNNING))
    assert running.end_date is None and running.get_end_date == START + timedelta(seconds=1.5)
    paused = schemas.state(_history(State.RUNNING, State.PAUSED))
    assert paused.end_date == START + timedelta(seconds=1.5)  # Kestra ends a paused state's span too
    alone = schemas.state(_history(State.CREATED), now=START + timedelta(minutes=2, seconds=3))
    assert alone.duration == "PT2M3S"  # to now while there is a single change


def test_metadata_counts_restarts_and_a_subflow_trigger_is_kestras():
    shaped = shapes.execution(_execution())
    assert shaped["metadata"] == {"attemptNumber": 2, "originalCreatedDate": "2026-03-01T12:00:00Z",
                                  "concurrencyScopes": None, "executionDepth": None}
    assert shaped["trigger"] == {"id": "call", "type": schemas.SUBFLOW_TYPE, "logFile": None, "variables": {
        "executionId": "p1", "namespace": "company", "flowId": "parent", "flowRevision": 2, "taskRunId": "tr"}}
    assert shaped["taskRunList"][0]["metrics"] == [{"name": "n", "type": "counter", "value": 1}]


def test_iso_durations_read_as_javas():
    assert schemas.iso_duration(timedelta(0)) == "PT0S"
    assert schemas.iso_duration(timedelta(hours=26, seconds=0.25)) == "PT26H0.25S"
    assert schemas.iso_duration(timedelta(minutes=1, seconds=30)) == "PT1M30S"
