"""The worker's live log buffers and their flusher, with a writer that records batches instead of a database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from lanner.engine.shell import log_buffer
from lanner.engine.shell.log_buffer import CUT_MARK, MAX_LINE, LogFlusher
from lanner.store.log_lines import LogEntry


class Recorder:
    """Records each batch; ``gate`` (when given) holds every write until set; ``fail`` refuses that many."""

    def __init__(self, gate: threading.Event | None = None, fail: int = 0) -> None:
        self.batches: list[list[LogEntry]] = []
        self.gate, self.fail = gate, fail
        self.called = threading.Event()

    def __call__(self, engine: object, entries: list[LogEntry]) -> None:
        self.called.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail:
            self.fail -= 1
            raise ConnectionError("the database is away")
        self.batches.append(list(entries))

    @property
    def written(self) -> list[tuple[str | None, str]]:
        return [(entry.task_run_id, entry.message) for batch in self.batches for entry in batch]


def template(task_run_id: str, attempt: int = 1) -> LogEntry:
    return LogEntry("main", "company.team", "flow", "exec-1", task_run_id, "t", attempt, "INFO", "",
                    datetime.now(UTC))


def wait_until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline, delay = time.monotonic() + timeout, 0.001
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def test_a_batch_holds_the_lines_of_every_attempt_each_in_its_order_with_their_attempt():
    recorder = Recorder()
    flusher = LogFlusher(None, write=recorder)  # type: ignore[arg-type]
    first, second = flusher.attach(template("a"), threading.Event()), flusher.attach(template("b", 2), threading.Event())
    for i in range(3):
        first.add("INFO", f"a{i}")
        second.add("WARN", f"b{i}")
    assert flusher.flush() == 6
    assert len(recorder.batches) == 1
    assert [m for run, m in recorder.written if run == "a"] == ["a0", "a1", "a2"]
    assert [(e.message, e.attempt, e.level) for e in recorder.batches[0] if e.task_run_id == "b"] == [
        ("b0", 2, "WARN"), ("b1", 2, "WARN"), ("b2", 2, "WARN")]
    assert flusher.flush() == 0 and flusher.detach(first) == [] and flusher.detach(second) == []


def test_a_chatty_attempt_does_not_starve_the_others_and_a_batch_is_bounded():
    recorder = Recorder()
    flusher = LogFlusher(None, write=recorder)  # type: ignore[arg-type]
    chatty, quiet = flusher.attach(template("chatty"), threading.Event()), flusher.attach(template("quiet"), threading.Event())
    for i in range(3 * log_buffer.BATCH_LINES):
        chatty.add("INFO", f"c{i}")
    quiet.add("INFO", "q")
    assert flusher.flush() == log_buffer.BATCH_LINES
    assert ("quiet", "q") in recorder.written  # in the first batch, not after the chatty task's backlog
    rest = flusher.detach(chatty)
    assert [m for run, m in recorder.written if run == "chatty"] + [e.message for e in rest] == [
        f"c{i}" for i in range(3 * log_buffer.BATCH_LINES)]  # nothing lost or repeated between batch and release


def test_past_the_cap_one_line_says_so_and_the_rest_is_dropped():
    recorder = Recorder()
    flusher = LogFlusher(None, write=recorder)  # type: ignore[arg-type]
    attempt = flusher.attach(template("a"), threading.Event(), cap=100)
    for i in range(30):
        attempt.add("INFO", f"line {i:02d}")  # 7 bytes and a newline each
    messages = [entry.message for entry in flusher.detach(attempt)]
    assert messages[:-1] == [f"line {i:02d}" for i in range(12)]  # 12 x 8 = 96 bytes <= 100 < 104
    assert messages[-1] == ("log truncated after 100B: the rest of this attempt's output is dropped "
                            "(lanner.worker.logs.max-size-per-task)")
    assert attempt.truncated and attempt.logged == 96


def test_a_long_line_is_cut_and_what_no_database_stores_is_replaced():
    flusher = LogFlusher(None, write=Recorder())  # type: ignore[arg-type]
    attempt = flusher.attach(template("a"), threading.Event())
    attempt.add("INFO", "x" * (MAX_LINE + 10))
    attempt.add("INFO", "nul\x00here")
    attempt.add("INFO", "lone \udc80 surrogate")
    long, nul, surrogate = (entry.message for entry in flusher.detach(attempt))
    assert long == "x" * MAX_LINE + CUT_MARK
    assert nul == "nul\ufffdhere" and surrogate == "lone ? surrogate"


def test_a_refused_batch_goes_back_in_order_and_is_written_next_time():
    recorder = Recorder(fail=1)
    flusher = LogFlusher(None, write=recorder)  # type: ignore[arg-type]
    attempt = flusher.attach(template("a"), threading.Event())
    for i in range(5):
        attempt.add("INFO", f"l{i}")
    with pytest.raises(ConnectionError):
        flusher.flush()
    attempt.add("INFO", "l5")
    assert flusher.flush() == 6
    assert [m for _, m in recorder.written] == [f"l{i}" for i in range(6)]


def test_a_full_buffer_makes_the_logging_thread_wait_for_the_flusher_unless_the_attempt_is_stopped(monkeypatch):
    monkeypatch.setattr(log_buffer, "PENDING_LINES", 10)
    monkeypatch.setattr(log_buffer, "FLUSH_AT", 5)
    gate = threading.Event()
    recorder = Recorder(gate)
    flusher = LogFlusher(None, write=recorder)  # type: ignore[arg-type]
    stop = threading.Event()
    attempt = flusher.attach(template("a"), stop)
    waiting_for_room = threading.Event()

    class Watched(threading.Condition):
        def wait(self, timeout=None):
            waiting_for_room.set()
            return super().wait(timeout)

    flusher._space = Watched(flusher._lock)  # where a logging thread waits for room
    flusher.start()
    added = []

    def produce() -> None:
        for i in range(100):
            attempt.add("INFO", f"l{i}")
            added.append(i)

    producer = threading.Thread(target=produce)
    try:
        producer.start()
        assert recorder.called.wait(10)  # a batch is being written, and held there
        wait_until(lambda: len(attempt._lines) == 10)
        waiting_for_room.clear()
        assert waiting_for_room.wait(10)  # the producer (re)enters its wait for room...
        assert len(attempt._lines) == 10 and len(added) < 100  # ...holding at most PENDING_LINES
        gate.set()  # the database answers: the flusher makes room, the producer goes on
        producer.join(10)
        assert not producer.is_alive() and len(added) == 100
    finally:
        gate.set()
        stop.set()
        producer.join(10)
    flusher.stop()
    rest = flusher.detach(attempt)
    assert [m for _, m in recorder.written] + [e.message for e in rest] == [f"l{i}" for i in range(100)]


def test_a_stopped_attempt_never_waits_for_room(monkeypatch):
    monkeypatch.setattr(log_buffer, "PENDING_LINES", 3)
    gate = threading.Event()
    flusher = LogFlusher(None, write=Recorder(gate))  # type: ignore[arg-type]
    stop = threading.Event()
    stop.set()
    attempt = flusher.attach(template("a"), stop)
    flusher.start()
    try:
        for i in range(20):  # would wait at the fourth line if the attempt were running
            attempt.add("INFO", f"l{i}")
    finally:
        gate.set()
        flusher.stop()
    assert attempt.logged == sum(len(f"l{i}") + 1 for i in range(20))
