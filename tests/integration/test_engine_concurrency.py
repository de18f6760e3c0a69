"""Flow concurrency limits on both backends, with two executors racing for the slots."""

from __future__ import annotations

import pytest

from lanner.engine.runtime import Runtime
from lanner.engine.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import flow_repository
from lanner.store.engine import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for
from tests.integration.test_engine import FLOWS, _wait_until


@pytest.fixture
def lanner(database_url, tmp_path):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    for behavior in ("queue", "cancel", "fail"):
        source = (FLOWS / f"concurrency_{behavior}.yaml").read_text()
        with write_connection(engine) as connection, connection.begin():
            flow_repository.save_flow(connection, validate_source(source).flow, source)
    with Runtime(engine, executors=2, worker_threads=4, storage_path=tmp_path / "storage") as runtime:
        yield Executions(engine, runtime.queue, runtime.flows)
    engine.dispose()


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
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False)), spans
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
