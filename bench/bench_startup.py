"""Start-up and schema benchmarks: `lanner --version`, and migrating an empty database to head."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests import pg_harness

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("lanner"))


def timed(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, **(env or {})}, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, float, float]:
    samples = [measure() for _ in range(runs)]
    return statistics.median(samples), min(samples), max(samples)


def _row(name: str, figures: tuple[float, float, float], target: float) -> tuple[str, str, str, bool]:
    median, low, high = figures
    return (name, f"{median * 1000:.0f} ms (min {low * 1000:.0f}, max {high * 1000:.0f})",
            f"<= {target * 1000:.0f} ms", median <= target)


def _sqlite_migrate() -> float:
    with tempfile.TemporaryDirectory() as folder:
        return timed([CONSOLE_SCRIPT, "sys", "database", "migrate"], cwd=folder)


def _postgres_migrate(server: str) -> float:
    name = f"lanner_bench_{uuid.uuid4().hex[:8]}"
    url = pg_harness.create_database(server, name)
    try:
        return timed([CONSOLE_SCRIPT, "sys", "database", "migrate"], env={"LANNER_DATABASE_URL": url})
    finally:
        pg_harness.drop_database(server, name)


def run() -> list[tuple[str, str, str, bool]]:
    timed([CONSOLE_SCRIPT, "--version"])  # warm the page cache and bytecode
    server = pg_harness.server_url()
    return [
        _row("`lanner --version` wall time", median_of(20, lambda: timed([CONSOLE_SCRIPT, "--version"])), 0.300),
        _row("`lanner sys database migrate`, empty -> head, SQLite", median_of(5, _sqlite_migrate), 2.0),
        _row("`lanner sys database migrate`, empty -> head, PostgreSQL", median_of(5, lambda: _postgres_migrate(server)), 2.0),
    ]
