"""Lanner's benchmarks: `make bench`.  Prints a Markdown table to paste into docs/benchmarks.md.

Each module ``bench_*.py`` here has ``run()`` returning rows of
(benchmark, measured, target, met).  Arguments name the modules to run instead of the
default list; ``OPT_IN`` ones run only when named, as they take minutes
(``make bench BENCH=bench_fan_out``).  Process-level figures are medians of real
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
OPT_IN = ["bench_fan_out"]  # ForEach over 100,000 values beside a small flow: about 15 minutes


def main() -> None:
    rows = []
    names = sys.argv[1:] or MODULES
    unknown = [name for name in names if name not in MODULES + OPT_IN]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(MODULES + OPT_IN)}")
    for name in names:
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
