"""A large fan-out beside small executions: ForEach over 100,000 values of a Return task on PostgreSQL.

One `server executor` and one `server worker` process, as in bench_engine.  The benchmark
creates the large execution, then, until it ends, runs a small flow (one Return task) one
execution after the other, 50 ms apart, and records each one's create -> SUCCESS time.
The same small flow is first measured alone, for comparison.  The large execution's state
is polled by its row (the cheap read), as a client would poll it.

``LANNER_BENCH_FAN_OUT`` sets the number of values (100000 by default);
``LANNER_BENCH_FAN_OUT_LIMIT`` its concurrencyLimit (0, no limit, by default).

It runs on a PostgreSQL cluster of its own, started with PostgreSQL's default settings
(autovacuum on, fsync on), as a production database runs: the test server of the machines
this project is built on runs with autovacuum off, under which the queue tables keep every
dead row (263,000 of them, 267 MB, after 200 s of this benchmark) and every statement on
them slows down as the run goes on.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from contextlib import contextmanager

from bench_engine import _output, _spawn

from lanner.config import load_config
from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from tests import pg_harness

VALUES = int(os.environ.get("LANNER_BENCH_FAN_OUT", "100000"))
LIMIT = int(os.environ.get("LANNER_BENCH_FAN_OUT_LIMIT", "0"))
FLOWS = {
    "fanout": ("id: fanout\nnamespace: bench\ninputs:\n  - id: count\n    type: INT\n  - id: limit\n"
               "    type: INT\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
               "    values: \"{{ range(1, inputs.count) }}\"\n    concurrencyLimit: \"{{ inputs.limit }}\"\n"
               "    tasks:\n      - id: r\n        type: io.kestra.plugin.core.debug.Return\n"
               "        format: \"{{ taskrun.value }}\"\n"),
    "small": ("id: small\nnamespace: bench\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n"
              "    format: hi\n"),
}


@contextmanager
def _servers(url: str):
    with tempfile.TemporaryDirectory() as folder:
        engine = prepare_database(load_config(None, {"LANNER_DATABASE_URL": url}), may_migrate=True)
        for source in FLOWS.values():
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, validate_source(source).flow, source)
        processes = [_spawn(["executor"], url, folder), _spawn(["worker"], url, folder)]
        queue = Queue(engine)
        try:
            time.sleep(1.5)  # let the servers connect before timing anything
            yield Executions(engine, queue)
        finally:
            for process in processes:
                process.terminate()
            for args, process in zip((["executor"], ["worker"]), processes, strict=True):
                process.wait(timeout=60)
                errors = [line for line in _output(folder, args).splitlines() if "ERROR" in line or "Error" in line]
                if process.returncode not in (0, -15) or errors:  # a benchmark that logged errors says so
                    print(f"{args[0]} exited {process.returncode}; its errors:", *errors[:20], sep="\n")
                    print(_output(folder, args)[-3000:])
            queue.close()
            engine.dispose()


def _small(service: Executions) -> float:
    started = time.perf_counter()
    done = service.wait(service.create("bench", "small").id, 120)
    assert done.current is State.SUCCESS, done.current
    return time.perf_counter() - started


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(url: str, values: int = VALUES, limit: int = LIMIT) -> dict[str, float]:
    with _servers(url) as service:
        _small(service)  # warm up
        alone = [_small(service) for _ in range(50)]
        started = time.perf_counter()
        big = service.create("bench", "fanout", {"count": values, "limit": limit})
        created = time.perf_counter() - started
        beside: list[float] = []
        while True:
            with service.engine.connect() as connection:
                state = repo.execution_state(connection, big.id)
            if state is not None and state.terminal:
                break
            assert time.perf_counter() - started < 3600, "the fan-out did not end within an hour"
            beside.append(_small(service))
            time.sleep(0.05)
        total = time.perf_counter() - started
        assert state is State.SUCCESS, state
    return {"total": total, "create": created, "alone_p50": statistics.median(alone),
            "alone_p99": _percentile(alone, 99), "p50": statistics.median(beside), "p99": _percentile(beside, 99),
            "max": max(beside), "count": len(beside), "load": os.getloadavg()[0]}


@contextmanager
def _own_cluster():  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL cluster with PostgreSQL's defaults, removed afterwards; yields a database URL."""
    cluster = pg_harness.ThrowawayCluster(durable=True)
    try:
        yield pg_harness.create_database(cluster.url, "lanner_bench")
    finally:
        cluster.remove()


def run() -> list[tuple[str, str, str, bool]]:
    with _own_cluster() as url:
        m = measure(url)
    name = f"postgresql: ForEach over {VALUES:,} values of a Return task (concurrencyLimit {LIMIT})"
    return [
        (name, f"{m['total']:.0f} s ({m['total'] / VALUES * 1000:.2f} ms/task); created in {m['create'] * 1000:.0f} ms",
         "informative", True),
        (f"postgresql: one Return task beside it, p50 / p99 ({m['count']} executions; alone: "
         f"{m['alone_p50'] * 1000:.0f} / {m['alone_p99'] * 1000:.0f} ms)",
         f"{m['p50'] * 1000:.0f} / {m['p99'] * 1000:.0f} ms", "p99 < 200 ms", m["p99"] < 0.2),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
