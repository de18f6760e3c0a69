"""Flow concurrency limits on both backends, with two executors racing for the slots."""

from __future__ import annotations

import itertools

import pytest

from lanner.model.state import State
from tests.integration.running import running
from tests.integration.test_engine import _wait_until


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", ["concurrency_*"], executors=2) as service:
        yield service


def running_span(execution):
    starts = [t.date for t in execution.state.histories if t.state is State.RUNNING]
    return starts[0], execution.state.end_date


def test_queue_runs_one_at_a_time_in_creation_order(lanner):
    ids = [lanner.create("lanner.tests", "concurrency_queue").id for _ in range(4)]
    done = [lanner.wait(execution_id, timeout=60) for execution_id in ids]
    assert all(execution.current is State.SUCCESS for execution in done)
    # Which one starts first is a race between the two executors; every other one waited.
    queued = [e for e in done if State.QUEUED in [t.state for t in e.state.histories]]
    assert len(queued) == 3
    spans = sorted(running_span(e) for e in done)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans)), spans
    assert [running_span(e)[0] for e in queued] == sorted(running_span(e)[0] for e in queued)  # in order


@pytest.mark.parametrize(("behavior", "final"), [("cancel", State.CANCELLED), ("fail", State.FAILED)])
def test_an_execution_over_the_limit_is_cancelled_or_failed(lanner, behavior, final):
    first = lanner.create("lanner.tests", f"concurrency_{behavior}")
    _wait_until(lambda: lanner.get(first.id).current is State.PAUSED)
    second = lanner.wait(lanner.create("lanner.tests", f"concurrency_{behavior}").id, timeout=30)
    assert second.current is final and not second.task_runs
    assert any("concurrency limit (1)" in entry.message for entry in lanner.logs(second.id))
    lanner.kill(first.id)
    assert lanner.wait(first.id, timeout=30).current is State.KILLED
