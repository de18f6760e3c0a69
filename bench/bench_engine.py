"""Engine benchmarks: latency and throughput of real servers (separate processes) on both backends.

SQLite runs one `server standalone`; PostgreSQL runs one `server executor` and one
`server worker` process.  The benchmark process creates executions through the service
API and polls for their end, as a client would.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from lanner.config import load_config
from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from lanner.store.tables import executions
from tests import pg_harness

CLIENTS = 4
RETURN = "  - id: r{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{{{ execution.id }}}} {i}\"\n"
FLOWS = {
    "seq40": "id: seq40\nnamespace: bench\ntasks:\n" + "".join(RETURN.format(i=i) for i in range(40)),
    "three": "id: three\nnamespace: bench\ntasks:\n" + "".join(RETURN.format(i=i) for i in range(3)),
    "foreach1000": ("id: foreach1000\nnamespace: bench\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
                    "    values: \"{{ range(1, 1000) }}\"\n    concurrencyLimit: 0\n    tasks:\n"
                    "      - id: r\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{ taskrun.value }}\"\n"),
}


def _spawn(args: list[str], url: str, cwd: str) -> subprocess.Popen[str]:
    """A server process whose output goes to ``<cwd>/<component>.log`` (a pipe nobody reads
    while the benchmark runs would fill, and block the server at its next log line)."""
    log = open(os.path.join(cwd, f"{args[0]}.log"), "w")  # noqa: SIM115 (the process writes it)
    process = subprocess.Popen([sys.executable, "-m", "lanner", "server", *args, "-l", "WARN"],
                               env={**os.environ, "LANNER_DATABASE_URL": url}, cwd=cwd,
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    log.close()
    return process


def _output(cwd: str, args: list[str]) -> str:
    with open(os.path.join(cwd, f"{args[0]}.log")) as log:
        return log.read()


@contextmanager
def _servers(url: str, backend: str):
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(None, {"LANNER_DATABASE_URL": url})
        engine = prepare_database(config, may_migrate=True)
        for source in FLOWS.values():
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, validate_source(source).flow, source)
        if backend == "sqlite":
            processes = [_spawn(["standalone", "--port", "0"], url, folder)]
        else:
            processes = [_spawn(["executor"], url, folder), _spawn(["worker"], url, folder)]
        queue = Queue(engine)
        try:
            time.sleep(1.5)  # let the servers connect before timing anything
            yield Executions(engine, queue)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.communicate(timeout=30)
            queue.close()
            engine.dispose()


def _run_once(service: Executions, flow_id: str, timeout: float = 120) -> float:
    started = time.perf_counter()
    execution = service.create("bench", flow_id)
    done = service.wait(execution.id, timeout)
    assert done.current is State.SUCCESS, done.current
    return time.perf_counter() - started


def _throughput(service: Executions, count: int) -> float:
    """Executions per second from the first create to the last end, ``CLIENTS`` threads creating them.

    The client polls one COUNT every 20 ms rather than each execution: a busy client
    would take the CPU it is measuring away from the servers.
    """
    started = time.perf_counter()
    # Created by several client threads, as an API under load would be: one thread alone
    # measures its own round trips (each creation is a transaction) more than the servers.
    with ThreadPoolExecutor(CLIENTS) as pool:
        ids = [execution.id for execution in pool.map(lambda _: service.create("bench", "three"), range(count))]
    done = sa.select(sa.func.count()).where(executions.c.id.in_(ids), executions.c.state.in_(["SUCCESS"]))
    deadline = time.monotonic() + 300
    while True:
        with service.engine.connect() as connection:
            if connection.execute(done).scalar() == count:
                break
        assert time.monotonic() < deadline, "the executions did not all succeed in time"
        time.sleep(0.02)
    return count / (time.perf_counter() - started)


def _backend_rows(url: str, backend: str, seq_target: float) -> list[tuple[str, str, str, bool]]:
    with _servers(url, backend) as service:
        _run_once(service, "three")  # warm up
        seq40 = statistics.median(_run_once(service, "seq40") for _ in range(5))
        latency = statistics.median(_run_once(service, "three") for _ in range(20))
        throughput = _throughput(service, 300)
        foreach = _run_once(service, "foreach1000", timeout=600)
    per_task_seq, per_task_each = seq40 / 40, foreach / 1000
    return [
        (f"{backend}: 40 sequential Return tasks, create -> SUCCESS", f"{seq40 * 1000:.0f} ms ({per_task_seq * 1000:.1f} ms/task)",
         f"<= {seq_target * 1000:.0f} ms", seq40 <= seq_target),
        (f"{backend}: 3 x Return, median create -> SUCCESS at low load", f"{latency * 1000:.0f} ms", "<= 20 ms", latency <= 0.020),
        (f"{backend}: 3 x Return, sustained executions/s (300 created at once by {CLIENTS} clients)", f"{throughput:.0f}/s",
         ">= 300/s" if backend == "postgresql" else "informative", throughput >= 300 or backend == "sqlite"),
        (f"{backend}: ForEach over 1,000 values of a Return task", f"{foreach:.1f} s ({per_task_each * 1000:.1f} ms/task)",
         "<= 2x the sequential per-task cost", per_task_each <= 2 * per_task_seq),
    ]


def _startup() -> list[tuple[str, str, str, bool]]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        process = _spawn(["standalone", "--port", "0"], f"sqlite:///{folder}/lanner.db", folder)
        # -l WARN hides "ready": poll the database for the migrated schema plus a short settle instead.
        process.terminate()
        process.wait(30)
        del started
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen([sys.executable, "-m", "lanner", "server", "standalone", "--port", "0"],
                                   env={**os.environ, "LANNER_DATABASE_URL": f"sqlite:///{folder}/lanner.db"},
                                   cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started = time.perf_counter()
        for line in process.stdout:  # type: ignore[union-attr]
            if "ready" in line:
                break
        ready = time.perf_counter() - started
        time.sleep(2)
        rss_kb = int(next(line.split()[1] for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                          if line.startswith("VmRSS")))
        process.terminate()
        process.communicate(timeout=30)
    return [
        ("standalone start -> ready (empty SQLite, migrations included)", f"{ready * 1000:.0f} ms", "<= 2000 ms", ready <= 2.0),
        ("standalone idle RSS", f"{rss_kb / 1024:.0f} MB", "<= 150 MB", rss_kb / 1024 <= 150),
    ]


def run() -> list[tuple[str, str, str, bool]]:
    rows = _startup()
    with tempfile.TemporaryDirectory() as folder:
        rows += _backend_rows(f"sqlite:///{folder}/bench.db", "sqlite", 0.2)
    with pg_database() as url:
        rows += _backend_rows(url, "postgresql", 0.4)
    return rows


def pg_database():  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database for one benchmark, dropped afterwards; yields its URL."""
    return pg_harness.scratch_database("lanner_bench")


if __name__ == "__main__":
    for row in run():
        print(row)
