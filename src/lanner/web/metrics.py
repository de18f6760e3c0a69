"""Prometheus metrics at ``/metrics``: the whole cluster's figures, read from the database at scrape time.

A custom collector instead of counters updated in process: every webserver reads the
same tables (:mod:`lanner.store.metrics_queries`), so Prometheus may scrape any one of
them, or all of them behind a load balancer, and get the same, cluster-wide answer.
Series that may be zero are reported as zero (every instance type and state, every
execution and task-run state, the executor and worker topics), so alerts compare
numbers instead of testing for absent series.

``lanner_execution_duration_seconds`` is a *gauge histogram* of the executions that
ended in the last hour: its buckets rise and fall with the window, so query it without
``rate()``: ``histogram_quantile(0.95, lanner_execution_duration_seconds_bucket)``.

When the database cannot be read, the scrape still answers 200 with
``lanner_database_up 0`` and nothing else, so the failure is a series to alert on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily, Metric

from lanner.cluster.coordinator import RESUBMISSIONS
from lanner.engine.shell import messages
from lanner.model.service_state import ServiceState, ServiceType
from lanner.model.state import State
from lanner.store import metrics_queries
from lanner.store.metrics_queries import Figures
from lanner.web.context import Server
from lanner.web.deps import server

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
router = APIRouter()
_TOPICS = (messages.EXECUTOR, messages.WORKER)


class ClusterCollector:
    """Reads the database on each ``collect()`` (one scrape, one connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("lanner_database_up", "1 when this scrape could read the database, 0 otherwise.")
        try:
            with self.engine.connect() as connection:
                figures = metrics_queries.read(connection, resubmissions_key=RESUBMISSIONS)
        except Exception as exc:  # the database away: say so as a series, not as a failed scrape
            log.warning("metrics: cannot read the database: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families(figures)


def families(figures: Figures) -> Iterator[Metric]:
    instances = GaugeMetricFamily("lanner_instances", "Service instances of the cluster by type and state.",
                                  labels=["type", "state"])
    counts: dict[tuple[str, str], int] = {(str(t), str(s)): 0 for t in ServiceType for s in ServiceState}
    for row in figures.instances:
        counts[(row.service_type, row.state)] = counts.get((row.service_type, row.state), 0) + 1
    for (kind, state), count in sorted(counts.items()):
        instances.add_metric([kind, state], count)
    yield instances

    age = GaugeMetricFamily("lanner_instance_heartbeat_age_seconds",
                            "Seconds since an alive instance's last heartbeat, by the database's clock.",
                            labels=["id", "type"])
    for row in sorted(figures.instances, key=lambda r: r.id):
        if ServiceState(row.state).alive:
            age.add_metric([row.id, row.service_type], round(row.heartbeat_age, 3))
    yield age

    resubmitted = CounterMetricFamily("lanner_resubmissions", "Jobs resubmitted after their worker died, cluster-wide.")
    resubmitted.add_metric([], figures.resubmissions)
    yield resubmitted

    yield _by("lanner_queue_depth", "Messages waiting in the queue, by topic.", "topic",
              {**dict.fromkeys(_TOPICS, 0), **figures.queue_depth})
    set_aside = GaugeMetricFamily("lanner_queue_set_aside",
                                  "Executor messages set aside after repeated deliveries that did not complete.")
    set_aside.add_metric([], figures.set_aside)
    yield set_aside
    yield _by("lanner_task_runs", "Task runs by current state.", "state",
              {**dict.fromkeys(map(str, State), 0), **figures.task_runs})
    yield _by("lanner_executions", "Executions (not deleted) by current state.", "state",
              {**dict.fromkeys(map(str, State), 0), **figures.executions})

    durations = figures.durations
    buckets = [(_le(bound), count) for bound, count in durations.buckets] + [("+Inf", durations.count)]
    yield GaugeHistogramMetricFamily(
        "lanner_execution_duration_seconds", "Durations of the executions that ended in the last hour.",
        buckets=buckets, gsum_value=durations.total)


def _by(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def registry(engine: Engine) -> CollectorRegistry:
    """A registry of its own, not the process-global one (several apps may share a process, as in tests)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(ClusterCollector(engine))
    return found


# Not in the OpenAPI document: Prometheus text, for scrapers rather than API clients.
@router.get("/metrics", include_in_schema=False)
def metrics(srv: Server = Depends(server)) -> Response:
    return Response(generate_latest(registry(srv.engine)), media_type=CONTENT_TYPE_LATEST)
