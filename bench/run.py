"""Lanner's benchmarks: `make bench`.  Prints a Markdown table to paste into docs/benchmarks.md.

Each figure is the median of several runs of a real process, as an operator would
see it.  PostgreSQL comes from the same harness as the tests (LANNER_TEST_POSTGRES_URL,
127.0.0.1:5432, or a throwaway cluster).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import pg_harness  # noqa: E402

LANNER = [sys.executable, "-m", "lanner"]
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("lanner"))


def timed(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, **(env or {})}, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, float, float]:
    samples = [measure() for _ in range(runs)]
    return statistics.median(samples), min(samples), max(samples)


def bench_version() -> tuple[float, float, float]:
    timed([CONSOLE_SCRIPT, "--version"])  # warm the page cache and bytecode
    return median_of(20, lambda: timed([CONSOLE_SCRIPT, "--version"]))


def bench_sqlite_migrate() -> tuple[float, float, float]:
    def once() -> float:
        with tempfile.TemporaryDirectory() as folder:
            return timed([CONSOLE_SCRIPT, "sys", "database", "migrate"], cwd=folder)

    return median_of(5, once)


def bench_postgres_migrate() -> tuple[float, float, float]:
    server = pg_harness.server_url()

    def once() -> float:
        name = f"lanner_bench_{uuid.uuid4().hex[:8]}"
        url = pg_harness.create_database(server, name)
        try:
            return timed([CONSOLE_SCRIPT, "sys", "database", "migrate"], env={"LANNER_DATABASE_URL": url})
        finally:
            pg_harness.drop_database(server, name)

    return median_of(5, once)


def main() -> None:
    rows = [
        ("`lanner --version` wall time", bench_version(), 0.300),
        ("`lanner sys database migrate`, empty -> head, SQLite", bench_sqlite_migrate(), 2.0),
        ("`lanner sys database migrate`, empty -> head, PostgreSQL", bench_postgres_migrate(), 2.0),
    ]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    print("| benchmark | median | min | max | target | verdict |")
    print("|---|---|---|---|---|---|")
    failed = False
    for name, (median, low, high), target in rows:
        ok = median <= target
        failed |= not ok
        print(f"| {name} | {median * 1000:.0f} ms | {low * 1000:.0f} ms | {high * 1000:.0f} ms | <= {target * 1000:.0f} ms | {'ok' if ok else 'MISSED'} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
