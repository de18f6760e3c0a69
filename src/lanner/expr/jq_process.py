"""jq programs run in child processes, bounded in time and memory.

The ``jq`` library runs a program in C to completion, holding the interpreter: an
endless program (``until(false; .)``) or one that builds a huge value
(``[range(1e9)]``) would freeze or kill the whole server, whichever component renders
it (executor, worker, webserver).  So programs run in a few long-lived child processes
(:mod:`lanner.expr._jq_child`), one request at a time each:

- a program still running after :data:`TIMEOUT` seconds is stopped (its process
  killed, another started for the next request), and the render fails saying so;
- a child's address space is capped at :data:`MEMORY_LIMIT` bytes, so a program that
  grows too large dies alone, and the render fails saying so;
- children start with an empty environment: jq's ``$ENV`` and ``env`` show nothing of
  the server's (its database password, for one).

A request costs a round trip through a pipe (tens of microseconds); a child starts in
about 50 ms, once, when a process first renders ``jq``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT = 10.0  # seconds a jq program may run
MEMORY_LIMIT = 512 * 1024 * 1024  # bytes of address space a jq process may use
CHILDREN = 4  # jq programs run at once in one Lanner process; more wait for a free child
_CHILD = Path(__file__).with_name("_jq_child.py")


class JqFailure(Exception):
    """A program that could not run to its end; ``reason`` is one of compile, input, too-many, timeout, memory."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD), str(MEMORY_LIMIT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={}, cwd="/", start_new_session=True)
        self.buffer = b""

    def ask(self, request: bytes, deadline: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise JqFailure("memory") from None
        out = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise JqFailure("timeout")
            chunk = os.read(out, 1 << 16)
            if not chunk:  # it died: out of memory (jq aborts when an allocation fails)
                raise JqFailure("memory")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.process.wait()


class JqRunner:
    """A pool of jq children shared by the threads of one process."""

    def __init__(self, size: int = CHILDREN) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def run(self, program: str, input_text: str, max_results: int) -> list[Any]:
        """The program's results on the JSON text ``input_text``; :class:`JqFailure` when it cannot end well."""
        request = (json.dumps({"program": program, "input": input_text, "max": max_results},
                              separators=(",", ":")) + "\n").encode()
        deadline = time.monotonic() + TIMEOUT
        with self._slots:
            child = self._take()
            try:
                answer = child.ask(request, deadline)
            except BaseException:
                child.close()  # stopped mid-request: its state is unknown, a fresh one serves the next
                raise
            self._give_back(child)
        if "error" in answer:
            raise JqFailure(answer["error"])
        results: list[Any] = answer["results"]
        return results

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.close()

    def _take(self) -> _Child:
        with self._lock:
            if self._pid != os.getpid():  # a forked copy: the children are the parent's
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return _Child()

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            self._idle.append(child)


RUNNER = JqRunner()
atexit.register(RUNNER.close)
