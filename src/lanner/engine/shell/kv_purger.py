"""Deleting expired key-value entries in the background (Kestra's KVPurgeCleaner).

An expired key is invisible the moment it expires (reads compare ``expires_at`` with
the database's clock), so purging is only housekeeping: it keeps ``kv_store`` from
growing with dead rows.  It therefore runs rarely, in small batches, and a failure
(the database restarting, a lock held too long) is logged and retried at the next
pass instead of stopping the process.  Several purgers may run at once (one per
server process): on PostgreSQL they skip each other's rows, on SQLite they take turns
on the write lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from lanner.background import run_every
from lanner.store import kv_repository

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
PURGE_INTERVAL = 60.0  # seconds between passes


def run_purger(engine: Engine, stop: threading.Event, interval: float = PURGE_INTERVAL, *,
               purge: Callable[[Engine], int] = kv_repository.purge_expired) -> None:
    """Purge expired entries now and then every ``interval`` seconds, until ``stop`` is set."""
    # purge_once logs its own failures (a warning: housekeeping), so run_every never sees one.
    run_every(stop, interval, lambda: purge_once(engine, purge), failure="purging expired KV entries failed",
              logger=log, at_once=True)


def purge_once(engine: Engine, purge: Callable[[Engine], int] = kv_repository.purge_expired) -> int:
    """One pass; the number of entries deleted (0 when the pass failed, which is logged)."""
    try:
        deleted = purge(engine)
    except Exception:  # housekeeping must never take the server down: the next pass retries
        log.warning("purging expired KV entries failed; retrying at the next pass", exc_info=True)
        return 0
    if deleted:
        log.info("purged %d expired KV entries", deleted)
    return deleted
