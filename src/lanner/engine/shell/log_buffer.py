"""A worker's live task logs: a bounded buffer per running attempt, one flusher thread per worker.

A task's lines reach the database while it runs, so the API, the follow stream and the
UI show them within a second of being printed, and the lines written before a worker
dies are kept (they carry their attempt number, so a resubmitted attempt's lines are
told apart).

- Each running attempt logs into its :class:`AttemptLog`.  A line longer than
  :data:`MAX_LINE` characters is cut.  Once the attempt has logged
  ``lanner.worker.logs.max-size-per-task`` bytes, one WARN line says the log was
  truncated and every later line is dropped (the task goes on).
- The :class:`LogFlusher` (one thread) writes the pending lines of every running
  attempt in one batched insert (:func:`lanner.store.log_lines.write_lines`) every
  :data:`FLUSH_EVERY` seconds, or at once when :data:`FLUSH_AT` lines wait.  A batch
  holds at most :data:`BATCH_LINES` lines and :data:`BATCH_BYTES` bytes, taken in turn
  from each attempt, so one chatty task cannot starve the others' lines; each batch is
  one short statement (on SQLite, a write transaction that holds the lock only for
  that insert, with a pause of :data:`BACKLOG_PAUSE` between back-to-back batches so
  that heartbeats and results are never starved of the write lock).
- An attempt may hold at most :data:`PENDING_LINES` lines or :data:`PENDING_BYTES`
  bytes not yet written: past that, the thread logging waits for the flusher (a
  script's output pipe then fills and the script waits, as it would on a slow
  terminal).  It never waits once the attempt is stopped or when no flusher runs;
  the per-attempt cap still bounds what it holds.
- When the attempt ends, :meth:`LogFlusher.detach` waits for a batch in flight and
  hands back what remains, which the worker writes with the attempt's result (so all
  of an attempt's lines are committed no later than its result).

A batch that cannot be written (the database is away) is put back at the head of its
attempts' buffers and retried; meanwhile the buffers fill and logging threads wait.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lanner.sizes import format_size
from lanner.store import log_lines
from lanner.store.log_lines import LogEntry

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

FLUSH_EVERY = 0.2  # seconds: the longest a line waits before its batch is written
FLUSH_AT = 500  # pending lines (all attempts) that start a batch at once
BATCH_LINES = 1000  # lines per batch at most
BATCH_BYTES = 1 << 20  # characters per batch at most (a batch takes one line whatever its size)
BACKLOG_PAUSE = 0.01  # seconds between back-to-back batches while lines keep waiting
PENDING_LINES = 2000  # lines one attempt may hold before the thread logging waits
PENDING_BYTES = 1 << 20  # characters one attempt may hold before the thread logging waits
MAX_LINE = 64 << 10  # characters: a longer line is cut
CUT_MARK = " [line truncated]"
RETRY_DELAYS = (0.1, 0.5, 1, 2, 5)  # seconds between attempts to write a batch the database refused
DEFAULT_CAP = 10 << 20  # bytes one attempt may log (lanner.worker.logs.max-size-per-task)
CAP_SETTING = "lanner.worker.logs.max-size-per-task"


class AttemptLog:
    """The lines of one running attempt that are not written yet, and what it has logged so far."""

    def __init__(self, flusher: LogFlusher, template: LogEntry, stop: threading.Event, cap: int) -> None:
        self._flusher, self._template, self._stop, self._cap = flusher, template, stop, cap
        self._lines: collections.deque[LogEntry] = collections.deque()
        self._chars = 0  # characters held in _lines
        self.logged = 0  # bytes accepted toward the cap
        self.truncated = False
        self.closed = False

    def add(self, level: str, message: str, when: datetime | None = None) -> None:
        """Keep one line for the next batch; may wait while this attempt holds too many (see the module)."""
        if self.truncated or self.closed:  # cheap, for the millions of lines a flood may still print
            return
        message = _clean(message)
        size = _utf8_length(message) + 1
        entry = _entry(self._template, level, message, when or datetime.now(UTC))
        flusher = self._flusher
        with flusher._lock:
            if self.closed or self.truncated:
                return
            if self.logged + size > self._cap:
                self.truncated = True
                entry = _entry(self._template, "WARN", f"log truncated after {format_size(self._cap)}: the rest of "
                               f"this attempt's output is dropped ({CAP_SETTING})", entry.timestamp)
            else:
                self.logged += size
                while (len(self._lines) >= PENDING_LINES or self._chars >= PENDING_BYTES) and not self.closed \
                        and not self._stop.is_set() and flusher.running:
                    flusher._space.wait(0.1)  # timed: a stop does not notify this condition
                if self.closed:
                    return
            self._lines.append(entry)
            self._chars += len(entry.message)
            flusher._pending += 1
            if flusher._pending >= FLUSH_AT:
                flusher._work.notify()

    # called by the flusher, under its lock
    def _take(self, lines: int, chars: int) -> list[LogEntry]:
        taken: list[LogEntry] = []
        while self._lines and len(taken) < lines and (not taken or chars >= len(self._lines[0].message)):
            entry = self._lines.popleft()
            chars -= len(entry.message)
            self._chars -= len(entry.message)
            taken.append(entry)
        return taken

    def _put_back(self, entries: Sequence[LogEntry]) -> None:
        self._lines.extendleft(reversed(entries))
        self._chars += sum(len(entry.message) for entry in entries)


class LogFlusher:
    """Writes the lines of a worker's running attempts in batches, from one background thread."""

    def __init__(self, engine: Engine, *, write: Callable[[Engine, Sequence[LogEntry]], None] | None = None,
                 name: str = "log-flusher") -> None:
        self.engine, self._name = engine, name
        self._write = write or log_lines.write_lines
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the flusher waits here for lines
        self._space = threading.Condition(self._lock)  # logging threads wait here for room
        self._writing = threading.Lock()  # held while a batch is taken and written
        self._logs: list[AttemptLog] = []
        self._pending = 0  # lines held by every attempt
        self._turn = 0  # which attempt a batch starts with
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._sqlite = getattr(getattr(engine, "dialect", None), "name", "") == "sqlite"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    def attach(self, template: LogEntry, stop: threading.Event, cap: int = DEFAULT_CAP) -> AttemptLog:
        """A buffer for one attempt's lines; ``template`` names the attempt (its level, message and time unused)."""
        attempt_log = AttemptLog(self, template, stop, cap)
        with self._lock:
            self._logs.append(attempt_log)
        return attempt_log

    def start(self) -> None:
        """Start the thread (once); until then lines are only kept, for :meth:`flush` or :meth:`detach`."""
        with self._lock:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def detach(self, attempt_log: AttemptLog) -> list[LogEntry]:
        """The lines not written yet, once a batch in flight has been written; later lines are dropped."""
        with self._writing, self._lock:
            attempt_log.closed = True
            if attempt_log in self._logs:
                self._logs.remove(attempt_log)
            remaining = list(attempt_log._lines)
            attempt_log._lines.clear()
            attempt_log._chars = 0
            self._pending -= len(remaining)
            self._space.notify_all()
        return remaining

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is pending (for up to ``timeout`` seconds) and end the thread."""
        with self._lock:
            self._stopping = True
            self._work.notify()
            self._space.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the log flusher could not write its last lines within %.0f s", timeout)

    def flush(self) -> int:
        """Write one batch now; returns how many lines it held (0: nothing pending, or the write failed)."""
        with self._writing:
            with self._lock:
                batch = self._take_batch()
            if not batch:
                return 0
            try:
                self._write(self.engine, [entry for _, entries in batch for entry in entries])
            except Exception:
                with self._lock:
                    # Last taken first, so each attempt's lines are back in their order.  None was
                    # detached meanwhile: detach waits for _writing.
                    for attempt_log, entries in reversed(batch):
                        attempt_log._put_back(entries)
                        self._pending += len(entries)
                raise
            finally:
                with self._lock:
                    self._space.notify_all()
        return sum(len(entries) for _, entries in batch)

    # the thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._pending < FLUSH_AT and not self._stopping:
                    self._work.wait(FLUSH_EVERY)
                if self._stopping and (self._pending == 0 or failures):
                    return
            try:
                written = self.flush()
            except Exception:
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning("cannot write task log lines; retrying in %.1f s", delay, exc_info=failures == 1)
                time.sleep(delay)
                continue
            failures = 0
            if written and self._pending and self._sqlite:
                time.sleep(BACKLOG_PAUSE)  # more wait: let other writers have SQLite's write lock first

    def _take_batch(self) -> list[tuple[AttemptLog, list[LogEntry]]]:
        """Up to BATCH_LINES lines and BATCH_BYTES characters, an even share from each attempt in turn."""
        holding = [attempt_log for attempt_log in self._logs if attempt_log._lines]
        if not holding:
            return []
        self._turn = (self._turn + 1) % len(holding)
        order = holding[self._turn:] + holding[:self._turn]
        lines, chars = BATCH_LINES, BATCH_BYTES
        batch: list[tuple[AttemptLog, list[LogEntry]]] = []
        while lines > 0 and chars > 0 and order:
            share = max(lines // len(order), 1)
            for attempt_log in list(order):
                if lines <= 0 or chars <= 0:
                    break
                taken = attempt_log._take(min(share, lines), chars)
                if taken:
                    batch.append((attempt_log, taken))
                    lines -= len(taken)
                    chars -= sum(len(entry.message) for entry in taken)
                if not attempt_log._lines:
                    order.remove(attempt_log)
        self._pending -= sum(len(entries) for _, entries in batch)
        return batch


def _entry(template: LogEntry, level: str, message: str, when: datetime) -> LogEntry:
    return LogEntry(template.tenant_id, template.namespace, template.flow_id, template.execution_id,
                    template.task_run_id, template.task_id, template.attempt, level, message, when)


def _clean(message: str) -> str:
    """A line the database can store, cut at MAX_LINE characters."""
    if len(message) > MAX_LINE:
        message = message[:MAX_LINE] + CUT_MARK
    # PostgreSQL text cannot hold NUL: a stray one would make the line unwritable.
    if "\x00" in message:
        message = message.replace("\x00", "\ufffd")
    try:
        message.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: neither database accepts them
        message = message.encode("utf-8", "replace").decode("utf-8")
    return message


def _utf8_length(message: str) -> int:
    return len(message) if message.isascii() else len(message.encode("utf-8"))
