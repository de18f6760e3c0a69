"""Mixed-version clusters: which live versions differ too much, and how many jobs wait for old workers.

A rolling upgrade runs version N and N+1 side by side; migrations are written so that
this works (expand, then contract in a later release).  Versions further apart than
one minor version are not supported together, so the Services page, ``lanner sys
cluster status`` and ``lanner sys upgrade check`` warn about them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lanner import versions

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def skew_warning(live: Iterable[str]) -> str | None:
    """A warning when the given versions are more than one minor version apart."""
    known = sorted({v for v in live if versions.parse_or_none(v) is not None}, key=versions.key)
    if len(known) < 2:
        return None
    oldest, newest = known[0], known[-1]
    if versions.minor_distance(oldest, newest) > 1:
        return (f"live versions range from {oldest} to {newest}, more than one minor version apart: "
                "upgrade one minor version at a time, finishing each rolling upgrade first")
    return None


def held_jobs(connection: Connection) -> int:
    """Jobs the executors hold back until old workers leave (lanner.engine.shell.held_jobs)."""
    from lanner.engine.shell.held_jobs import HELD
    from lanner.store.table_stats import topic_depth

    return topic_depth(connection, HELD)
