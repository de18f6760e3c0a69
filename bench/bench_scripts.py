"""Script task benchmark: 40 sequential python.Script tasks on real servers, on both backends.

Each task computes fibo(10) recursively and prints it, so nearly all of its cost is
starting a process: the rows split the time per task into the interpreter's start
(``python3 -c pass``, timed here the same way the worker resolves ``python3``) and
Lanner's share (working directory, shell, output reading, storage of the result,
orchestration).

The servers get the virtual environment's ``bin`` first on PATH, as an activated
environment would: a version manager's shim for ``python3`` (pyenv's costs ~100 ms per
start) would otherwise be measured instead of Lanner.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from bench_engine import _run_once, _servers, pg_database

from lanner.flows.validator import validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection

TASKS = 40
TARGET = 1.5  # seconds, create -> SUCCESS for the whole flow
FIBO = ("  - id: fibo{i}\n    type: io.kestra.plugin.scripts.python.Script\n    script: |\n"
        "      def fibo(n):\n          return n if n < 2 else fibo(n - 1) + fibo(n - 2)\n      print(fibo(10))\n")
FLOW_ID = "scripts40"
FLOW = f"id: {FLOW_ID}\nnamespace: bench\ntasks:\n" + "".join(FIBO.format(i=i) for i in range(TASKS))


@contextmanager
def _venv_first_on_path():
    saved = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), saved])
    try:
        yield shutil.which("python3") or sys.executable
    finally:
        os.environ["PATH"] = saved


def _interpreter_start(python: str, runs: int = 20) -> float:
    """Median seconds for ``python3 -c pass``: the floor of any python.Script task."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _save_flow(service) -> None:
    validation = validate_source(FLOW)
    assert validation.valid, [problem.format() for problem in validation.errors]
    with write_connection(service.engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validation.flow, FLOW)


def _backend_rows(url: str, backend: str, python: str) -> list[tuple[str, str, str, bool]]:
    with _servers(url, backend) as service:
        _save_flow(service)
        _run_once(service, FLOW_ID)  # warm up: the flow cache, the page cache of python3
        total = statistics.median(_run_once(service, FLOW_ID) for _ in range(3))
        start = _interpreter_start(python)  # measured while the servers idle, as during the runs
    per_task = total / TASKS
    return [
        (f"{backend}: {TASKS} sequential python.Script tasks (fibo(10)), create -> SUCCESS",
         f"{total * 1000:.0f} ms ({per_task * 1000:.1f} ms/task)", f"<= {TARGET * 1000:.0f} ms", total <= TARGET),
        (f"{backend}: python.Script per task: interpreter start (median of 20 `{python} -c pass`)",
         f"{start * 1000:.1f} ms", "informative", True),
        (f"{backend}: python.Script per task: Lanner's share (per task minus interpreter start)",
         f"{(per_task - start) * 1000:.1f} ms", "informative", True),
    ]


def run() -> list[tuple[str, str, str, bool]]:
    rows = []
    with _venv_first_on_path() as python:
        with tempfile.TemporaryDirectory() as folder:
            rows += _backend_rows(f"sqlite:///{folder}/bench.db", "sqlite", python)
        with pg_database() as url:
            rows += _backend_rows(url, "postgresql", python)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
