"""One log-level enum: its order is the severity, and it maps onto Python's logging numbers."""

import logging

from lanner.log_level import LEVEL_NAMES, PYTHON_TRACE, LogLevel


def test_levels_are_ordered_least_to_most_severe():
    assert LEVEL_NAMES == ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
    assert [level.severity for level in LogLevel] == [0, 1, 2, 3, 4]
    assert LogLevel.WARN.severity > LogLevel.INFO.severity


def test_python_levels_keep_the_order_with_trace_below_debug():
    assert [level.python_level for level in LogLevel] == [
        PYTHON_TRACE, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]
    assert PYTHON_TRACE < logging.DEBUG


def test_a_level_is_its_name():
    assert LogLevel("WARN") is LogLevel.WARN
    assert f"{LogLevel.ERROR}" == "ERROR"
