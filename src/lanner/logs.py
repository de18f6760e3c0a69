"""Logging set-up shared by every command: Kestra's level names, TRACE included.

Lanner's own loggers follow ``-l/--log-level`` (or ``-v``); libraries (SQLAlchemy,
Alembic, psycopg...) stay at WARN unless ``--internal-log`` is given, so operators see
Lanner's story rather than its dependencies' chatter.  The levels and their Python
``logging`` numbers are :mod:`lanner.log_level`'s.
"""

from __future__ import annotations

import logging
import sys

from lanner.log_level import LEVEL_NAMES, PYTHON_TRACE, LogLevel

_ORDER = list(reversed(LEVEL_NAMES))  # -v steps from the most severe towards TRACE


def effective_level(name: str, verbosity: int) -> str:
    """``-v`` raises the verbosity one step from the chosen level per occurrence."""
    index = min(_ORDER.index(name.upper()) + verbosity, len(_ORDER) - 1)
    return _ORDER[index]


def configure(level_name: str, *, internal: bool) -> None:
    logging.addLevelName(PYTHON_TRACE, "TRACE")
    logging.addLevelName(logging.WARNING, "WARN")
    level = LogLevel(level_name).python_level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s - %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if internal else logging.WARNING)
    logging.getLogger("lanner").setLevel(level)
    logging.captureWarnings(True)
