"""The ``lanner`` command line: one module per command group.

Modules here import only click at import time; everything heavy (SQLAlchemy,
Alembic, pydantic) is imported inside the commands, so ``lanner --version`` and
``lanner --help`` start fast.
"""
