"""Log levels: Kestra's five, from the least to the most severe.

A task's log lines, a task's ``logLevel`` threshold, the API's ``minLevel`` filter, the
UI's level picker and the server's own ``--log-level`` all name the same five levels,
``TRACE DEBUG INFO WARN ERROR``.  Their order is the definition's order, so the severity
of a level is its position; :attr:`LogLevel.python_level` maps a level onto Python's
``logging`` numbers (TRACE below DEBUG, WARN for WARNING) for the server's own log.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Final

PYTHON_TRACE: Final = 5  # Python's logging has no TRACE: one step below DEBUG (10)


class LogLevel(StrEnum):
    # Least severe first: the order is the severity (see :attr:`severity`).
    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"

    @property
    def severity(self) -> int:
        """0 for TRACE up to 4 for ERROR: a threshold shows the lines whose severity is at least its own."""
        return LEVEL_NAMES.index(self.value)

    @property
    def python_level(self) -> int:
        return _PYTHON_LEVELS[self]


# The names as plain strings, least severe first: what log lines store and the API accepts.
LEVEL_NAMES: Final = tuple(level.value for level in LogLevel)

_PYTHON_LEVELS: Final = {LogLevel.TRACE: PYTHON_TRACE, LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO,
                         LogLevel.WARN: logging.WARNING, LogLevel.ERROR: logging.ERROR}
