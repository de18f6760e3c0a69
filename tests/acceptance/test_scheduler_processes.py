"""Two real scheduler processes on a per-second schedule: every tick fires exactly once, across a restart."""

from __future__ import annotations

import itertools
import signal
from collections import Counter
from datetime import datetime

import sqlalchemy as sa

from lanner.store.tables import executions
from tests.acceptance.cluster_harness import Cluster, wait_until

EVERY_SECOND = """id: ticking
namespace: lanner.sched
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: each_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"""


def tick_dates(cluster: Cluster) -> list[str]:
    with cluster.engine.connect() as connection:
        rows = connection.execute(sa.select(executions.c.trigger).where(executions.c.flow_id == "ticking"))
        return [row.trigger["variables"]["date"] for row in rows]


def test_two_schedulers_fire_each_tick_once_across_a_restart(postgres_url, tmp_path):
    cluster = Cluster(postgres_url, tmp_path)
    try:
        cluster.deploy(EVERY_SECOND)
        first, second = cluster.start("scheduler"), cluster.start("scheduler")
        wait_until(lambda: len(tick_dates(cluster)) >= 3, 30, "three ticks")
        first.send(signal.SIGTERM)  # a rolling restart of one of them
        assert first.wait_exit(30) == 0
        seen = len(tick_dates(cluster))
        wait_until(lambda: len(tick_dates(cluster)) >= seen + 2, 30, "ticks while one scheduler is away")
        cluster.start("scheduler")
        seen = len(tick_dates(cluster))
        wait_until(lambda: len(tick_dates(cluster)) >= seen + 3, 30, "ticks after the restart")
        for component in cluster.components:
            if component.process.poll() is None:
                component.send(signal.SIGTERM)
                assert component.wait_exit(30) == 0
        fired = tick_dates(cluster)
        assert [date for date, count in Counter(fired).items() if count > 1] == []  # none twice
        seconds = sorted(datetime.fromisoformat(date) for date in fired)
        gaps = [(a, b) for a, b in itertools.pairwise(seconds) if (b - a).total_seconds() != 1]
        assert gaps == []  # none skipped, from the first tick to the last
        assert second.process.returncode == 0
    finally:
        cluster.close()
