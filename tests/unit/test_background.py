"""One background-loop helper: every period until the stop event, failures logged and the loop going on."""

import logging
import threading
import time

from lanner.background import Periodic, run_every


def test_the_loop_keeps_running_after_an_exception_and_logs_it(caplog):
    stop, calls = threading.Event(), []

    def action():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        if len(calls) == 3:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="lanner.background"):
        run_every(stop, 0.001, action, failure="the pass failed")
    assert len(calls) == 3
    (record,) = caplog.records
    assert record.getMessage() == "the pass failed" and record.exc_info[0] is RuntimeError


def test_the_first_call_waits_one_period_unless_at_once():
    stop = threading.Event()
    stop.set()  # set before the start: nothing runs, not even at once
    calls = []
    run_every(stop, 0.0, lambda: calls.append(1), failure="x", at_once=True)
    assert calls == []
    periodic = Periodic("test-later", 60.0, lambda: calls.append(1), failure="x").start()
    periodic.stop(5)
    assert calls == [] and not periodic.alive
    periodic = Periodic("test-at-once", 60.0, lambda: calls.append(1), failure="x", at_once=True).start()
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    periodic.stop(5)
    assert calls == [1] and not periodic.alive


def test_a_period_function_is_asked_before_each_wait():
    stop, waits = threading.Event(), []

    def period():
        waits.append(len(waits))
        if len(waits) == 3:
            stop.set()
        return 0.0

    run_every(stop, period, lambda: None, failure="x")
    assert waits == [0, 1, 2]


def test_stopping_ends_the_thread_at_once_and_a_shared_event_stops_it_too():
    shared = threading.Event()
    periodic = Periodic("test-shared", 60.0, lambda: None, failure="x", stop=shared).start()
    started = time.monotonic()
    shared.set()
    periodic.stop(5)
    assert not periodic.alive and time.monotonic() - started < 5
    Periodic("never-started", 1.0, lambda: None, failure="x").stop(1)  # stopping an unstarted loop is harmless
