"""Waiting for an execution's end without holding a thread (``?wait=true``, a webhook's ``wait``).

A request that waits awaits an asyncio event, not a blocked thread: however many
requests wait, and for however long, the API's threads (``lanner.server.threads``) stay
free for the others.  One thread per webserver, :class:`EndSignals`, listens for the
executor's "executions ended" signal and wakes every waiting request; each then looks
at its execution (one short query on the thread pool) and goes back to waiting if it
is not over.  A wait looks at least every second anyway, since a signal may be lost
(a listener reconnecting): the state in the database is the truth.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING

from lanner.engine.shell import messages
from lanner.engine.shell.service import wait_timeout
from lanner.web.limits import blocking

if TYPE_CHECKING:
    from lanner.model.execution import Execution
    from lanner.store.queue import Queue
    from lanner.web.context import Server

LOOK_EVERY = 1.0  # seconds: the longest a wait goes without looking at its execution


class EndSignals:
    """Wakes the requests waiting for executions' ends when the executor signals that some ended."""

    def __init__(self, queue: Queue, stopping: threading.Event) -> None:
        self._queue = queue
        self._stopping = stopping
        self._lock = threading.Lock()
        self._waiting: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening (once; blocks until it listens, so that an end after this call wakes waiters)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webserver-end-signals", daemon=True)
                self._thread.start()
        self._listening.wait()

    def subscribe(self) -> asyncio.Event:
        """An event set at the next signal (call it in the event loop, before looking at the execution)."""
        event = asyncio.Event()
        with self._lock:
            self._waiting[event] = asyncio.get_running_loop()
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self._lock:
            self._waiting.pop(event, None)

    def _run(self) -> None:
        try:
            self._queue.follow_signals(messages.ENDED)
            self._queue.wait(messages.ENDED, 0)  # listening from now on
        finally:
            self._listening.set()  # (a wait falls back on looking every second if this failed)
        while not self._stopping.is_set():
            if self._queue.wait(messages.ENDED, LOOK_EVERY):
                with self._lock:
                    waiting = list(self._waiting.items())
                for event, loop in waiting:
                    with suppress(RuntimeError):  # its loop closed meanwhile
                        loop.call_soon_threadsafe(event.set)


async def wait_for_end(srv: Server, execution_id: str, timeout: float) -> Execution:
    """The execution once it is over (its afterExecution tasks included); WaitTimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    await blocking(srv.end_signals.start)
    while True:
        event = srv.end_signals.subscribe()
        try:
            state, execution = await blocking(srv.executions.end_of, execution_id)
            if execution is not None:
                return execution
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise wait_timeout(execution_id, state, timeout)
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, LOOK_EVERY))
        finally:
            srv.end_signals.unsubscribe(event)
