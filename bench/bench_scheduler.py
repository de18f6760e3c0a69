"""Scheduler benchmark: 10,000 flows with per-minute schedules on PostgreSQL.

The scheduler runs in this process against a controllable clock (no minute is waited
for): one pass plans the new triggers, then the minute's tick is fired (every due row,
in passes of ``BATCH``), then 59 idle passes stand for the rest of the minute.  Measured:
the wall time from the tick to the last execution created (each must be created within
1 s of its tick), and this process's CPU time for the whole minute (target <= 1 s).  The
process runs with a server's garbage-collector settings (:mod:`lanner.server.process`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bench_engine import pg_database

from lanner.flows.validator import validate_source
from lanner.scheduler.scheduler import Scheduler
from lanner.server.process import tune_garbage_collector
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

FLOWS = 10_000
SOURCE = """id: minutely_{i}
namespace: bench.schedules.n{group}
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}}"
triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""


def _deploy(engine) -> None:
    template = validate_source(SOURCE.format(i=0, group=0)).flow
    with write_connection(engine) as connection, connection.begin():
        for i in range(FLOWS):
            source = SOURCE.format(i=i, group=i % 50)
            flow = template.model_copy(update={"id": f"minutely_{i}", "namespace": f"bench.schedules.n{i % 50}"})
            flow_repository.save_flow(connection, flow, source)


def run() -> list[tuple[str, object, str, bool]]:
    with pg_database() as url:
        engine = prepare_database(config_for(url), may_migrate=True)
        queue = Queue(engine)
        try:
            tune_garbage_collector()  # as every server process runs (lanner.server.runtime)
            _deploy(engine)
            scheduler = Scheduler(engine, queue, scheduler_id="bench")
            start = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)
            while scheduler.tick(start).rows:  # plan every new trigger
                pass
            tick = datetime(2026, 6, 1, 9, 1, tzinfo=UTC)
            cpu, wall = time.process_time(), time.perf_counter()
            counts: list[int] = []

            def passes() -> None:  # as Scheduler.run's threads do: until nothing is due
                while True:
                    done = scheduler.tick(tick + timedelta(milliseconds=100))
                    counts.append(len(done.created))
                    if done.rows == 0:
                        return

            threads = [threading.Thread(target=passes) for _ in range(scheduler.threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            created = sum(counts)
            fire_wall = time.perf_counter() - wall
            for second in range(1, 60):  # the rest of the minute: nothing due
                scheduler.tick(tick + timedelta(seconds=second))
                scheduler._until_due(1.0)
            minute_cpu = time.process_time() - cpu
        finally:
            queue.close()
            engine.dispose()
    return [
        (f"PG: {FLOWS:,} per-minute schedules, tick -> last execution created", f"{fire_wall:.2f} s "
         f"({created:,} executions)", "<= 1 s", fire_wall <= 1.0 and created == FLOWS),
        ("PG: the scheduler's CPU for that minute (the tick and 59 idle passes)", f"{minute_cpu:.2f} s", "<= 1 s",
         minute_cpu <= 1.0),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
