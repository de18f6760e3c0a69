"""Lanner's benchmarks: `make bench`.  Prints a Markdown table to paste into docs/benchmarks.md.

Each module ``bench_*.py`` here has ``run()`` returning rows of
(benchmark, measured, target, met).  Process-level figures are medians of real
process runs, as an operator sees them.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MODULES = ["bench_startup", "bench_flows", "bench_expr", "bench_engine", "bench_scripts", "bench_logs", "bench_api",
           "bench_liveness",
           "bench_scheduler", "bench_backups"]


def main() -> None:
    rows = []
    for name in MODULES:
        for row in importlib.import_module(name).run():
            name_, measured, target, ok = row
            if isinstance(measured, float):
                measured = f"{measured:,.0f}"
            rows.append((name_, measured, target, ok))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    print("| benchmark | measured | target | verdict |")
    print("|---|---|---|---|")
    for name_, measured, target, ok in rows:
        cells = (name_.replace("|", "\\|"), measured, target, "ok" if ok else "MISSED")
        print("| " + " | ".join(cells) + " |")
    sys.exit(0 if all(row[3] for row in rows) else 1)


if __name__ == "__main__":
    main()
