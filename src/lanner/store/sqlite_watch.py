"""Noticing, cheaply, that another process committed to a SQLite database.

SQLite has no LISTEN/NOTIFY.  ``PRAGMA data_version`` changes whenever a connection
other than the one asking commits, and reading it touches no page, so a thread reading
it every few milliseconds wakes queue consumers within that delay, whichever process
wrote, for a negligible cost.  ``on_commit`` gets the watcher's read-only connection to
find out what changed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

POLL = 0.005


class CommitWatcher:
    def __init__(self, path: Path, on_commit: Callable[[sqlite3.Connection], None], interval: float = POLL) -> None:
        self.path, self.on_commit, self.interval = path, on_commit, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sqlite-commit-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        connection = None
        try:
            while not self._stop.is_set():
                try:
                    if connection is None:
                        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
                        last = connection.execute("PRAGMA data_version").fetchone()[0]
                    version = connection.execute("PRAGMA data_version").fetchone()[0]
                    if version != last:
                        last = version
                        self.on_commit(connection)
                except sqlite3.Error:
                    if connection is not None:
                        connection.close()
                    connection = None  # the file may not exist yet: try again later
                self._stop.wait(self.interval)
        finally:
            if connection is not None:
                connection.close()
