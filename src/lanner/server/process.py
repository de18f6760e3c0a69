"""Settings of a long-running Lanner process that are not about any one component."""

from __future__ import annotations

import gc

# Python collects its youngest generation every 700 new container objects.  A server
# holds hundreds of thousands of long-lived ones (validated flows, 30 objects each in the
# scheduler's cache), and a busy pass allocates in bursts (10,000 executions at a
# minute's tick): the default promotes every burst into the old generation and pays
# full collections over the whole cache, about a fifth of the scheduler's CPU at that
# tick (bench/bench_scheduler.py).  Collecting young objects every 10,000 allocations
# keeps bursts young; at most that many cyclic garbage objects wait a little longer.
YOUNG_GENERATION_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Apply the process-wide collector thresholds servers run with (idempotent)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
