"""Large loops end to end on both backends: every iteration runs once, in bounded decisions."""

from __future__ import annotations

import pytest

from lanner.model.state import State
from tests.integration.running import running


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", ["foreach_large"], worker_threads=8) as service:
        yield service


@pytest.mark.parametrize(("count", "limit"), [(1000, 0), (200, 1)], ids=["1000-unlimited", "200-default-limit"])
def test_a_large_foreach_runs_every_value_once(lanner, count, limit):
    execution = lanner.wait(lanner.create("lanner.tests", "foreach_large", {"count": count, "limit": limit}).id,
                            timeout=120)
    assert execution.current is State.SUCCESS
    runs = [run for run in execution.task_runs if run.task_id == "r"]
    assert sorted(int(run.outputs["value"]) for run in runs) == list(range(1, count + 1))
    assert sorted(run.iteration for run in runs) == list(range(count))
    assert all(run.current is State.SUCCESS and run.attempt_number == 1 for run in runs)
    # The task after the loop sees every iteration's output.
    assert next(run for run in execution.task_runs if run.task_id == "after").outputs["value"] == str(count)
