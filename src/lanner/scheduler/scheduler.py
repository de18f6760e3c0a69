"""The scheduler: fires Schedule and ScheduleOnDates triggers, exactly once across any number of schedulers.

Each pass is one write transaction: claim the due trigger rows (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so two schedulers never take the same row; SQLite's write lock does the
same), plan each (:mod:`lanner.scheduler.planning`), create the executions of their ticks
(CREATED, with a start message for the executors) and move the rows' dates on.  The
executions and the new dates commit together: a scheduler killed mid-pass leaves the
rows as they were, and the next pass (of any scheduler) fires those ticks once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.engine.core.creation import new_execution
from lanner.engine.core.inputs import InputsError
from lanner.engine.core.variables import rendered_labels
from lanner.engine.shell.flow_cache import FlowCache, FlowNotFound
from lanner.engine.shell.service import start_many
from lanner.expr import ExpressionError, render_value
from lanner.model.execution import Execution
from lanner.scheduler import planning
from lanner.store import flow_repository, settings_repository
from lanner.store import trigger_repository as triggers
from lanner.store.database import write_connection
from lanner.store.trigger_repository import TriggerRow
from lanner.tasks.core.triggers import Schedule, ScheduleOnDates

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.store.queue import Queue

log = logging.getLogger(__name__)
BATCH = 2500  # trigger rows per pass
ADOPTED = "triggers.adopted"  # instance_settings: flows from before trigger rows got theirs
MISSED_AFTER = timedelta(seconds=60)  # a tick seen later than this was missed (no scheduler ran)


@dataclass
class Pass:
    """What one pass did (for logs and tests)."""

    created: list[Execution] = field(default_factory=list)
    skipped: list[tuple[tuple[str, str, str, str], datetime, str]] = field(default_factory=list)
    failed: list[tuple[tuple[str, str, str, str], str]] = field(default_factory=list)
    rows: int = 0


class Scheduler:
    def __init__(self, engine: Engine, queue: Queue, *, scheduler_id: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), recover_missed: str = "ALL",
                 missed_after: timedelta = MISSED_AFTER, flows: FlowCache | None = None) -> None:
        self.engine, self.queue, self.clock = engine, queue, clock
        self.scheduler_id = scheduler_id
        self.recover_missed, self.missed_after = recover_missed, missed_after
        self.flows = flows or FlowCache(size=50_000)
        # PostgreSQL: two passes at once (disjoint rows, SKIP LOCKED), so that one plans while the
        # database writes the other's executions.  SQLite runs one writer at a time anyway.
        self.threads = 2 if engine.dialect.name == "postgresql" else 1

    def adopt_flows(self) -> int:
        """Once per database: trigger rows for flows saved before Lanner kept them (an upgrade).

        Saving a flow writes its trigger rows; flows saved by an older version have none.
        Idempotent, and marked done in the instance settings.  Returns the flows adopted.
        """
        adopted = 0
        try:
            with write_connection(self.engine) as connection, connection.begin():
                if settings_repository.get(connection, ADOPTED):
                    return 0
                for stored in flow_repository.list_flows(connection):
                    flow = self.flows.revision(connection, stored.namespace, stored.flow_id, stored.revision)
                    # A flow saved by this version has its rows already (a fresh database's flows
                    # deployed before the scheduler's first pass): only one missing them is adopted.
                    if flow.triggers and triggers.sync_flow(connection, flow, stored.revision, stored.tenant_id):
                        adopted += 1
                settings_repository.put(connection, ADOPTED, True)
        except sa.exc.IntegrityError:
            return 0  # another scheduler adopted them at the same time
        except FlowNotFound as exc:
            log.warning("cannot read a stored flow's triggers: %s", exc)
        if adopted:
            log.info("trigger state created for %d flow(s) saved by an earlier version", adopted)
        return adopted

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        self.adopt_flows()
        helpers = [threading.Thread(target=self._loop, args=(stop, idle_wait), name=f"scheduler-{n}", daemon=True)
                   for n in range(1, self.threads)]
        for helper in helpers:
            helper.start()
        self._loop(stop, idle_wait)
        for helper in helpers:
            helper.join()

    def _loop(self, stop: threading.Event, idle_wait: float) -> None:
        while not stop.is_set():
            try:
                done = self.tick()
            except Exception:
                log.exception("scheduler pass failed; retrying")
                stop.wait(idle_wait)
                continue
            if done.rows < BATCH:
                stop.wait(self._until_due(idle_wait))

    def _until_due(self, most: float) -> float:
        with self.engine.connect() as connection:
            soonest = triggers.soonest(connection)
        if soonest is None:
            return most
        return min(max((soonest - self.clock()).total_seconds(), 0.0), most)

    def tick(self, now: datetime | None = None) -> Pass:
        """One pass at ``now`` (the clock's time by default)."""
        now = now or self.clock()
        done = Pass()
        with write_connection(self.engine) as connection, connection.begin():
            rows = triggers.claim_due(connection, now, BATCH)
            done.rows = len(rows)
            # The row names the flow revision its definition came from (both are written together).
            self.flows.preload(connection, [(r.tenant_id, r.namespace, r.flow_id, r.flow_revision) for r in rows
                                            if r.flow_revision is not None])
            updates = [self._fire(connection, row, now, done) for row in rows]
            start_many(connection, self.queue, done.created)
            triggers.save_progress(connection, [u for u in updates if u is not None])
        for key, why in done.failed:
            log.warning("trigger %s of flow %s.%s: %s", key[3], key[1], key[2], why)
        if done.skipped:
            log.info("%d tick(s) not fired (missed, late or conditions not met)", len(done.skipped))
        return done

    def _fire(self, connection: Connection, row: TriggerRow, now: datetime, done: Pass) -> dict[str, Any] | None:
        try:
            revision = row.flow_revision or 0
            flow = self.flows.revision(connection, row.namespace, row.flow_id, revision, row.tenant_id)
            spec = next((t for t in flow.triggers if t.id == row.trigger_id), None)
            if spec is None:
                raise ValueError(f"revision {revision} of the flow has no trigger {row.trigger_id}")
        except (FlowNotFound, ValueError) as exc:
            done.failed.append((row.key, str(exc)))
            return {"key": row.key, "next_fire_date": None, "scheduler_id": self.scheduler_id}
        if not isinstance(spec, Schedule | ScheduleOnDates):
            return {"key": row.key, "next_fire_date": None}
        if spec.disabled or flow.disabled:
            # Kept planned from now on, so that enabling it again does not fire what was skipped.
            ticker = planning.Ticker(spec)
            return {"key": row.key, "next_fire_date": ticker.next_after(now), "scheduler_id": self.scheduler_id}
        context = {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": revision}}
        plan = planning.plan(row, spec, now, missed_after=self.missed_after, default_recover=self.recover_missed,
                             variables=context)
        zone = spec.timezone or "UTC"
        last_execution = row.execution_id
        for fire in plan.fires:
            variables = fire.variables(zone)
            trigger = {"id": row.trigger_id, "type": spec.TYPE, "variables": variables}
            try:
                rendering = {**context, "trigger": variables}
                labels = rendered_labels({**(spec.labels or {}), **fire.labels}, rendering)
                if fire.backfill:
                    labels.setdefault("system.backfill", "true")
                inputs = render_value({**spec.inputs, **fire.inputs}, rendering)
                execution = new_execution(flow, revision, inputs=inputs, labels=labels, trigger=trigger,
                                          tenant_id=row.tenant_id, now=now)
            except (InputsError, ExpressionError) as exc:
                done.failed.append((row.key, f"tick {fire.date.isoformat()} not fired: {exc}"))
                continue
            done.created.append(execution)
            last_execution = execution.id
        done.skipped.extend((row.key, date, why) for date, why in plan.skipped)
        update: dict[str, Any] = {"key": row.key, "next_fire_date": plan.next_fire_date,
                                  "last_fire_date": plan.last_fire_date, "scheduler_id": self.scheduler_id,
                                  "execution_id": last_execution}
        if plan.backfill != row.backfill:
            update["backfill"] = plan.backfill
        return update
