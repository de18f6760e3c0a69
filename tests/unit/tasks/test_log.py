"""Log, Echo and Return: what they log, output and measure, and how they fail."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError
from lanner.tasks.core.log import Echo, Log, Return
from lanner.tasks.runnable import Metric, TaskFailure, TaskOutput
from tests.unit.tasks.fake_context import FakeContext, task


def test_log_renders_its_message_at_info_by_default():
    context = FakeContext({"inputs": {"name": "Ada"}})
    result = task(Log, message="Hello {{ inputs.name }}").run(context)
    assert result == TaskOutput()
    assert context.logs == [("INFO", "Hello Ada")]


def test_log_writes_each_message_of_a_list_in_order():
    context = FakeContext({"n": 2})
    task(Log, message=["one", "{{ n }}", "three"], level="WARN").run(context)
    assert context.logs == [("WARN", "one"), ("WARN", "2"), ("WARN", "three")]


@pytest.mark.parametrize("level", ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"])
def test_log_level_may_be_an_expression(level):
    context = FakeContext({"inputs": {"level": level}})
    task(Log, message="m", level="{{ inputs.level }}").run(context)
    assert context.logs == [(level, "m")]


@pytest.mark.parametrize("level", ["VERBOSE", "info", ""])
def test_a_rendered_level_outside_the_five_fails_the_task(level):
    context = FakeContext({"inputs": {"level": level}})
    with pytest.raises(TaskFailure) as caught:
        task(Log, message="m", level="{{ inputs.level }}").run(context)
    assert str(caught.value) == f"Invalid log level {level!r}: expected one of TRACE, DEBUG, INFO, WARN, ERROR"
    assert context.logs == []


def test_an_undefined_variable_fails_with_kestras_message_after_the_messages_before_it():
    context = FakeContext()
    with pytest.raises(ExpressionError) as caught:
        task(Log, message=["first", "{{ missing }}"]).run(context)
    assert caught.value.message == "Unable to find `missing` used in the expression `{{ missing }}` at line 1"
    assert context.logs == [("INFO", "first")]


def test_echo_logs_its_format_at_its_level():
    context = FakeContext({"x": "y"})
    assert task(Echo, format="x={{ x }}", level="DEBUG").run(context) == TaskOutput()
    assert context.logs == [("DEBUG", "x=y")]


def test_return_outputs_the_rendered_value_with_length_and_duration_metrics():
    context = FakeContext({"task": {"id": "ret"}})
    result = task(Return, format="{{ task.id }} done").run(context)
    assert result.outputs == {"value": "ret done"}
    length, duration = result.metrics
    assert length == Metric("length", 8, "counter")
    assert duration.name == "duration" and duration.type == "timer"
    assert 0 <= duration.value < 1
    assert context.logs == [("DEBUG", "ret done")]


def test_return_without_format_outputs_null_and_length_zero():
    context = FakeContext()
    result = task(Return).run(context)
    assert result.outputs == {"value": None}
    assert result.metrics[0] == Metric("length", 0, "counter")
    assert context.logs == []


def test_return_of_an_undefined_variable_fails():
    with pytest.raises(ExpressionError, match=r"Unable to find `nope` used in the expression `\{\{ nope \}\}`"):
        task(Return, format="{{ nope }}").run(FakeContext())
