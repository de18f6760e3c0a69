"""Lanner: a Kestra-compatible orchestration server whose upgrades never lose work.

The version lives only in the package metadata (``pyproject.toml``); read it with
:func:`version` rather than hard-coding it anywhere else.
"""

from __future__ import annotations


def version() -> str:
    """Return the installed Lanner version, as recorded in the package metadata."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _dist_version

    try:
        return _dist_version("lanner")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
