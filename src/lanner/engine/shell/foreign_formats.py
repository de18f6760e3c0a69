"""Saying why some messages are left alone: they are in a payload format this version does not know.

During a rolling upgrade a newer component may send messages an older one cannot read
(or the reverse).  Consumers take only their own format (``Queue.take(version=)``), so
those messages wait for a component that knows theirs; this watch makes that visible in
the log, once a minute at most, instead of leaving operators to wonder.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from lanner import version
from lanner.engine.shell import messages

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.store.queue import Queue

log = logging.getLogger(__name__)
EVERY = 60.0  # seconds between looks


class ForeignFormats:
    def __init__(self, engine: Engine, queue: Queue, topic: str, every: float = EVERY) -> None:
        self.engine, self.queue, self.topic, self.every = engine, queue, topic, every
        self._next = time.monotonic() + every

    def check(self) -> dict[int, int]:
        """Counts of waiting messages per unknown format, when a look is due (else nothing)."""
        if time.monotonic() < self._next:
            return {}
        self._next = time.monotonic() + self.every
        try:
            with self.engine.connect() as connection:
                found = self.queue.foreign_formats(connection, self.topic, messages.FORMAT)
        except Exception:  # only a diagnostic: the loop's own work goes on
            log.debug("cannot count messages in other payload formats", exc_info=True)
            return {}
        if found:
            listed = ", ".join(f"{count} in format {fmt}" for fmt, count in sorted(found.items()))
            log.warning("messages on topic %s wait for a component that knows their payload format (%s); "
                        "Lanner %s knows format %d only: finish the rolling upgrade (or rollback) so that "
                        "a component of the version that sent them runs", self.topic, listed, version(),
                        messages.FORMAT)
        return found
