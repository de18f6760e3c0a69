"""Sleep waits through the context, so a kill or a timeout can end it."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError
from lanner.tasks.core.sleep import Sleep
from lanner.tasks.runnable import TaskFailure, TaskOutput
from tests.unit.tasks.fake_context import FakeContext, task


@pytest.mark.parametrize(("duration", "seconds"), [("PT1S", 1.0), ("PT0.25S", 0.25), ("1m30s", 90.0), (5, 5.0)])
def test_sleep_waits_its_duration(duration, seconds):
    context = FakeContext()
    assert task(Sleep, duration=duration).run(context) == TaskOutput()
    assert context.waits == [seconds]


@pytest.mark.parametrize(("rendered", "seconds"), [("PT2M", 120.0), ("250ms", 0.25), ("3", 3.0)])
def test_an_expression_duration_is_rendered_then_parsed(rendered, seconds):
    context = FakeContext({"inputs": {"wait": rendered}})
    task(Sleep, duration="{{ inputs.wait }}").run(context)
    assert context.waits == [seconds]


def test_an_expression_rendering_to_no_duration_fails_the_task():
    context = FakeContext({"inputs": {"wait": "soon"}})
    with pytest.raises(TaskFailure) as caught:
        task(Sleep, duration="{{ inputs.wait }}").run(context)
    assert str(caught.value).startswith("Invalid duration 'soon': expected a duration such as")
    assert context.waits == []


def test_an_undefined_variable_raises_the_expression_error():
    with pytest.raises(ExpressionError, match="Unable to find `inputs`"):
        task(Sleep, duration="{{ inputs.wait }}").run(FakeContext())


def test_being_stopped_while_sleeping_fails_the_attempt():
    context = FakeContext(stopped=True)
    with pytest.raises(TaskFailure, match="^stopped while sleeping$"):
        task(Sleep, duration="PT1H").run(context)
    assert context.waits == [3600.0]
