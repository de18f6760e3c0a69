"""Logging set-up shared by every command: Kestra's level names, TRACE included.

Lanner's own loggers follow ``-l/--log-level`` (or ``-v``); libraries (SQLAlchemy,
Alembic, psycopg...) stay at WARN unless ``--internal-log`` is given, so operators see
Lanner's story rather than its dependencies' chatter.
"""

from __future__ import annotations

import logging
import sys

TRACE = 5
LEVELS = {"TRACE": TRACE, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}
_ORDER = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]


def effective_level(name: str, verbosity: int) -> str:
    """``-v`` raises the verbosity one step from the chosen level per occurrence."""
    index = min(_ORDER.index(name.upper()) + verbosity, len(_ORDER) - 1)
    return _ORDER[index]


def configure(level_name: str, *, internal: bool) -> None:
    logging.addLevelName(TRACE, "TRACE")
    logging.addLevelName(logging.WARNING, "WARN")
    level = LEVELS[level_name]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s - %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if internal else logging.WARNING)
    logging.getLogger("lanner").setLevel(level)
    logging.captureWarnings(True)
