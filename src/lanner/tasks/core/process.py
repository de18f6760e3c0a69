"""Running one local process for a task: its output streamed as lines, its whole process group stopped.

A script may start children of its own (``sleep 300 &``, a server it forgot about), and
killing only the process Lanner started would leave them running with the task's
files and pipes.  So each process starts in a session of its own (its process group
is its pid), and everything is signalled by group:

- when the attempt is stopped (kill or timeout): SIGTERM to the group, then SIGKILL
  once :data:`STOP_GRACE` has passed while the first process still runs;
- when the first process has ended, for whatever reason: SIGKILL to what is left of
  the group, since a task's background children must not outlive it.

The first process is waited for without being reaped (``waitid(..., WNOWAIT)``) until the
group has been signalled: while it is a zombie its pid cannot be reused, so a signal to
the group can never reach an unrelated process.

A worker that dies (SIGKILL, a crash) cannot stop its tasks, and their processes would go
on beside the attempt the cluster resubmits elsewhere: the same side effects twice.  So
each task also has a watchdog (:class:`_Watchdog`): a tiny ``sh`` that blocks reading a
pipe whose only writer is the worker.  The kernel closes the pipe when the worker dies,
however it dies; the read then ends and the watchdog kills the task's process group.

stdout and stderr are read by one thread each, so a process writing much to one of them
never blocks on a full pipe while Lanner waits on the other.  A line longer than
:data:`MAX_LINE_BYTES` is handed over cut, so a process printing without newlines
cannot fill the worker's memory.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from lanner.tasks.core.run_as import RunAs

log = logging.getLogger(__name__)

STOP_GRACE = 2.0  # seconds between SIGTERM and SIGKILL when an attempt is stopped
STOP_CHECK_EVERY = 0.05  # seconds between looks at the stop event while the process runs
# How long the output readers may take to see the end of their pipes once the group is gone;
# only a process that left the group (setsid) and kept the pipes open makes them wait this long.
READERS_JOIN = 5.0

# A longer line is handed over cut (with CUT_MARK) and the rest of it, up to its newline, is dropped:
# reading a line whole could take the worker's memory (`yes | tr -d '\n'`).
MAX_LINE_BYTES = 1 << 20
CUT_MARK = " [line truncated]"

LineHandler = Callable[[str], None]
SCRIPT_UMASK = 0o022  # a script's files as usual, whatever the server's own umask (077)


@dataclass(frozen=True)
class Finished:
    exit_code: int  # as a shell reports it: 128 + N when the process was ended by signal N
    signal: signal.Signals | None  # the signal that ended the process, if one did
    stopped: bool  # the attempt's stop event was set while the process ran


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stop: threading.Event,
        on_stdout: LineHandler, on_stderr: LineHandler, run_as: RunAs | None = None) -> Finished:
    """Run ``argv`` to its end (or until ``stop`` is set), handing each output line to a handler.

    With ``run_as``, the process runs as that user (groups, gid, uid switched before it starts).
    Handlers are called from reader threads, one per stream.  An exception raised by a
    handler is re-raised here once the process has ended.
    """
    watchdog = _Watchdog()
    try:
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                   umask=SCRIPT_UMASK, **(run_as.popen_arguments() if run_as else {}))
    except BaseException:
        watchdog.close()
        raise
    watchdog.guard(process.pid)
    group = _Group(process.pid)
    # Binary pipes (no text=/encoding=); mypy cannot tell through the **run_as arguments.
    readers = [_Reader(process.stdout, on_stdout), _Reader(process.stderr, on_stderr)]  # type: ignore[arg-type]
    threading.Thread(target=group.watch, args=(stop,), name=f"stop-watch-{process.pid}", daemon=True).start()
    try:
        _wait_without_reaping(process.pid)
    finally:
        watchdog.close()  # before the reaping: the group id it may still signal stays reserved
        group.end()  # leftovers; runs on KeyboardInterrupt too, so nothing survives the task
        code = process.wait()
        for reader in readers:
            reader.join(READERS_JOIN)
    for reader in readers:
        reader.raise_error()
    ended_by = signal.Signals(-code) if code < 0 else None
    return Finished(128 - code if code < 0 else code, ended_by, group.stopped)


class _Watchdog:
    """Kills a task's process group if the worker dies: ``sh`` reading a pipe only the worker writes to.

    It is told the group's id through the pipe, then blocks on a read that ends only
    when the pipe's write end closes: when the worker closes it (the task ended), or
    when the worker dies.  Either way it kills what is left of the group (the worker
    does the same at a task's end anyway) and exits.
    """

    SCRIPT = 'read -r group || exit 0; read -r _; kill -KILL -"$group" 2>/dev/null; exit 0'

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe()  # both non-inheritable: no other child gets the write end
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                ["sh", "-c", self.SCRIPT, "lanner-watchdog"], stdin=read_end, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:  # no sh: the task runs unguarded
            log.warning("cannot start a task's watchdog (sh): its processes may outlive a worker that dies",
                        exc_info=True)
            self._process = None
        finally:
            os.close(read_end)

    def guard(self, pgid: int) -> None:
        try:
            os.write(self._write_end, f"{pgid}\n".encode())
        except OSError:  # it died: nothing to guard with
            log.warning("a task's watchdog ended early: its processes may outlive a worker that dies")

    def close(self) -> None:
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1
        if self._process is not None:
            self._process.wait()
            self._process = None


def _wait_without_reaping(pid: int) -> None:
    # WNOWAIT leaves the process a zombie: its pid, which is the group's id, stays reserved until
    # process.wait() reaps it, after the group has been signalled for the last time.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


class _Group:
    """The process group of one task's process, signalled at most until it has ended."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.stopped = False
        self._ended = threading.Event()
        self._lock = threading.Lock()  # signals and end() never interleave: no signal after the end

    def watch(self, stop: threading.Event) -> None:
        """Until the process ends: when ``stop`` is set, SIGTERM the group, then SIGKILL after the grace."""
        # Polled with a timeout because the process's end cannot wake a wait on ``stop``; the
        # delay only bounds how soon a stop is acted on, never how soon a finished task returns.
        while not stop.wait(STOP_CHECK_EVERY):
            if self._ended.is_set():
                return
        with self._lock:
            if self._ended.is_set():
                return
            self.stopped = True
            self._signal(signal.SIGTERM)
        if not self._ended.wait(STOP_GRACE):
            with self._lock:
                if not self._ended.is_set():
                    log.warning("process group %d still runs %.0f s after SIGTERM: sending SIGKILL",
                                self.pgid, STOP_GRACE)
                    self._signal(signal.SIGKILL)

    def end(self) -> None:
        """The first process has ended: kill what is left of its group, then let no signal through."""
        with self._lock:
            self._signal(signal.SIGKILL)
            self._ended.set()

    def _signal(self, which: signal.Signals) -> None:
        try:
            os.killpg(self.pgid, which)
        except ProcessLookupError:  # every process of the group has already gone
            pass
        except PermissionError:  # a member changed user (setuid): nothing more we may do
            log.warning("cannot send %s to process group %d: permission denied", which.name, self.pgid)


class _Reader:
    """Hands each line of one stream to a handler, in a thread of its own; closes the stream at its end."""

    def __init__(self, stream: IO[bytes], handler: LineHandler) -> None:
        self._stream, self._handler = stream, handler
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="process-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        cutting = False  # the rest of a line already handed over cut
        try:
            for raw in iter(lambda: self._stream.readline(MAX_LINE_BYTES), b""):
                whole = raw.endswith(b"\n") or len(raw) < MAX_LINE_BYTES  # the last line may lack its newline
                if cutting:
                    cutting = not whole
                    continue
                if self._error is None:  # after a handler's failure, keep draining so the process never blocks
                    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    try:
                        self._handler(text if whole else text + CUT_MARK)
                    except BaseException as exc:  # noqa: BLE001 - re-raised in the task's thread
                        self._error = exc
                cutting = not whole
        finally:
            # Closed here, not by run(): closing a stream another thread reads would wait on that read.
            self._stream.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("a process that left the task's process group still holds its output open: "
                        "its further output is not logged")

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error
