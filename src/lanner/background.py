"""Background loops: a function run every so many seconds until a stop event is set.

Housekeeping (the KV purger), the flow-folder watcher, the liveness coordinator, the
instance's heartbeat and watchdog, and the migration's still-running ticker all repeat
one action on a period.  They share these rules:

* the wait is on the stop event itself, so setting it ends the loop at once rather than
  one period later; an action in progress is finished, never interrupted;
* the first call comes one period after the start, or at once with ``at_once``;
* an action that raises is logged with its traceback and tried again at the next
  period: one failed pass (the database restarting) must not end a server's loop;
* the period may be a function, asked before each wait: jitter, or a sooner next pass
  the action asked for.

:func:`run_every` loops in the calling thread (a server component's own thread);
:class:`Periodic` gives the loop a daemon thread of its own, with a clean stop and join.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Period = float | Callable[[], float]  # seconds, or a function giving the next wait


def run_every(stop: threading.Event, period: Period, action: Callable[[], object], *, failure: str,
              logger: logging.Logger = log, at_once: bool = False) -> None:
    """Call ``action`` every ``period`` seconds until ``stop`` is set; ``failure`` is logged when it raises."""
    wait = 0.0 if at_once else _seconds(period)
    while not stop.wait(wait):
        try:
            action()
        except Exception:
            logger.exception("%s", failure)
        wait = _seconds(period)


def _seconds(period: Period) -> float:
    return period() if callable(period) else period


class Periodic:
    """:func:`run_every` in a daemon thread of its own, until :meth:`stop` (or ``stop`` set by anyone)."""

    def __init__(self, name: str, period: Period, action: Callable[[], object], *, failure: str,
                 logger: logging.Logger = log, at_once: bool = False, stop: threading.Event | None = None) -> None:
        self.name = name
        self.stopping = stop if stop is not None else threading.Event()
        self._thread = threading.Thread(
            target=run_every, args=(self.stopping, period, action),
            kwargs={"failure": failure, "logger": logger, "at_once": at_once}, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Set the stop event and wait (up to ``timeout`` seconds) for the action in progress to finish."""
        self.stopping.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
