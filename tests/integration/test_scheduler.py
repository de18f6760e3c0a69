"""The scheduler against a real database with a controllable clock: exactly once, missed ticks, backfills, edits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lanner.flows.disabling import with_disabled
from lanner.flows.validator import validate_source
from lanner.scheduler import planning
from lanner.scheduler.scheduler import Scheduler
from lanner.store import flow_repository
from lanner.store import trigger_repository as triggers
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.tables import executions

T0 = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)

HOURLY = """id: hourly
namespace: lanner.sched
inputs:
  - id: when
    type: STRING
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    inputs:
      when: "{{ trigger.date }}"
    labels:
      source: schedule
      tick: "{{ trigger.date | date('HH:mm') }}"
"""


def deploy(engine, source: str) -> None:
    validation = validate_source(source)
    assert validation.valid, [p.format() for p in validation.errors]
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validation.flow, source)


def created(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(executions.c.id, executions.c.trigger, executions.c.inputs,
                                            executions.c.labels, executions.c.state))
        found = [row._asdict() for row in rows]
    return sorted(found, key=lambda row: row["trigger"]["variables"]["date"])


def dates(engine) -> list[str]:
    return [row["trigger"]["variables"]["date"] for row in created(engine)]


def row_of(engine, trigger_id: str = "every_hour", flow_id: str = "hourly") -> triggers.TriggerRow:
    with engine.connect() as connection:
        return triggers.get_trigger(connection, "lanner.sched", flow_id, trigger_id)


@pytest.fixture
def scheduler(engine):
    queue = Queue(engine)
    yield Scheduler(engine, queue, scheduler_id="s1")
    queue.close()


def test_saving_a_flow_writes_its_trigger_rows_and_a_tick_fires_once(engine, scheduler):
    deploy(engine, HOURLY)
    assert row_of(engine).needs_planning
    assert scheduler.tick(T0).created == []  # planned: the first tick is the next hour
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert scheduler.tick(datetime(2026, 6, 1, 9, 59, 59, tzinfo=UTC)).created == []
    fired = scheduler.tick(datetime(2026, 6, 1, 10, 0, 0, 300_000, tzinfo=UTC)).created
    assert len(fired) == 1
    assert scheduler.tick(datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC)).created == []
    [execution] = created(engine)
    assert execution["trigger"]["id"] == "every_hour"
    assert execution["trigger"]["variables"] == {"date": "2026-06-01T10:00:00+00:00",
                                                 "next": "2026-06-01T11:00:00+00:00",
                                                 "previous": "2026-06-01T09:00:00+00:00"}
    assert execution["inputs"] == {"when": "2026-06-01T10:00:00+00:00"}
    assert {"key": "source", "value": "schedule"} in execution["labels"] and execution["state"] == "CREATED"
    assert {"key": "tick", "value": "10:00"} in execution["labels"]  # label values are rendered, as in Kestra
    row = row_of(engine)
    assert row.last_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC) and row.scheduler_id == "s1"
    assert row.execution_id == execution["id"]


def test_two_schedulers_on_one_tick_create_one_execution(engine):
    deploy(engine, HOURLY)
    queue = Queue(engine)
    try:
        first, second = Scheduler(engine, queue, scheduler_id="a"), Scheduler(engine, queue, scheduler_id="b")
        first.tick(T0)
        at = datetime(2026, 6, 1, 10, 0, 0, 500_000, tzinfo=UTC)
        barrier = threading.Barrier(2)
        results: list[int] = []

        def run(scheduler: Scheduler) -> None:
            barrier.wait()
            results.append(len(scheduler.tick(at).created))

        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [0, 1] and len(created(engine)) == 1
    finally:
        queue.close()


def test_a_scheduler_killed_mid_pass_leaves_the_tick_for_the_next_pass(engine, scheduler, monkeypatch):
    from lanner.scheduler import scheduler as module

    deploy(engine, HOURLY)
    scheduler.tick(T0)
    at = datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC)

    def dies(*args, **kwargs):
        raise SystemExit("killed")  # as a process dying mid-transaction: nothing it did commits

    with monkeypatch.context() as patch:
        patch.setattr(module.triggers, "save_progress", dies)
        with pytest.raises(SystemExit):
            scheduler.tick(at)
    assert created(engine) == [] and row_of(engine).next_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert len(scheduler.tick(at).created) == 1
    assert len(created(engine)) == 1


@pytest.mark.parametrize(("policy", "expected"), [
    ("ALL", ["11:00", "12:00", "13:00"]), ("LAST", ["13:00"]), ("NONE", [])])
def test_a_three_hour_downtime_recovers_missed_ticks_by_policy(engine, scheduler, policy, expected):
    deploy(engine, HOURLY.replace("    labels:", f"    recoverMissedSchedules: {policy}\n    labels:"))
    scheduler.tick(T0)
    scheduler.tick(datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC))  # the 10:00 tick, on time
    first = len(created(engine))
    # No scheduler from 10:00:02 until 13:30: the 11:00, 12:00 and 13:00 ticks were missed.
    done = scheduler.tick(datetime(2026, 6, 1, 13, 30, tzinfo=UTC))
    fired = [row["trigger"]["variables"]["date"][11:16] for row in created(engine)][first:]
    assert fired == expected  # in order
    assert len(done.skipped) == 3 - len(expected)
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 14, tzinfo=UTC)


def test_late_maximum_delay_drops_ticks_older_than_it(engine, scheduler):
    deploy(engine, HOURLY.replace("    labels:", "    lateMaximumDelay: PT90M\n    labels:"))
    scheduler.tick(T0)
    scheduler.tick(datetime(2026, 6, 1, 13, 30, tzinfo=UTC))  # 10:00 .. 13:00 due; only 12:00 and 13:00 are young
    assert [d[11:16] for d in dates(engine)] == ["12:00", "13:00"]


def test_a_backfill_of_a_day_fires_in_order_pauses_and_resumes(engine, scheduler, monkeypatch):
    monkeypatch.setattr(planning, "BACKFILL_BATCH", 10)
    deploy(engine, HOURLY)
    scheduler.tick(T0)
    with write_connection(engine) as connection, connection.begin():
        triggers.set_backfill(connection, row_of(engine), {
            "start": "2026-05-01T00:00:00Z", "end": "2026-05-01T23:59:59Z", "paused": False,
            "inputs": {}, "labels": {"campaign": "may"}, "current": None, "fired": 0})
    assert len(scheduler.tick(T0 + timedelta(seconds=1)).created) == 10
    with write_connection(engine) as connection, connection.begin():
        row = row_of(engine)
        triggers.set_backfill(connection, row, {**row.backfill, "paused": True})
    assert scheduler.tick(T0 + timedelta(seconds=2)).created == []
    with write_connection(engine) as connection, connection.begin():
        row = row_of(engine)
        triggers.set_backfill(connection, row, {**row.backfill, "paused": False})
    assert len(scheduler.tick(T0 + timedelta(seconds=3)).created) == 10
    assert len(scheduler.tick(T0 + timedelta(seconds=4)).created) == 4
    assert row_of(engine).backfill is None  # done
    fired = created(engine)
    assert [row["trigger"]["variables"]["date"][11:13] for row in fired] == [f"{h:02d}" for h in range(24)]
    assert all({"key": "system.backfill", "value": "true"} in row["labels"] for row in fired)
    assert all({"key": "campaign", "value": "may"} in row["labels"] for row in fired)
    assert all(row["trigger"]["variables"]["backfill"] is True for row in fired)
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC)  # the schedule itself goes on


def test_editing_a_trigger_replans_it_without_firing_a_tick_twice(engine, scheduler):
    deploy(engine, HOURLY)
    scheduler.tick(T0)
    scheduler.tick(datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC))
    deploy(engine, HOURLY.replace('cron: "0 * * * *"', 'cron: "0,30 * * * *"'))
    assert row_of(engine).needs_planning and row_of(engine).last_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC)
    scheduler.tick(datetime(2026, 6, 1, 10, 0, 2, tzinfo=UTC))
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    scheduler.tick(datetime(2026, 6, 1, 10, 30, 0, tzinfo=UTC))
    assert [d[11:16] for d in dates(engine)] == ["10:00", "10:30"]
    deploy(engine, HOURLY.replace("triggers:\n", "triggers: []\nx_removed:\n").split("x_removed:")[0])
    assert row_of(engine) is None  # the trigger is gone with its definition


def test_disabled_triggers_and_flows_do_not_fire_and_enabling_skips_what_was_missed(engine, scheduler):
    deploy(engine, HOURLY)
    scheduler.tick(T0)
    with write_connection(engine) as connection, connection.begin():
        triggers.set_disabled(connection, row_of(engine), True)
    assert scheduler.tick(datetime(2026, 6, 1, 12, 0, 1, tzinfo=UTC)).created == []
    with write_connection(engine) as connection, connection.begin():
        triggers.set_disabled(connection, row_of(engine), False)
    assert scheduler.tick(datetime(2026, 6, 1, 12, 0, 2, tzinfo=UTC)).created == []
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 13, tzinfo=UTC)
    deploy(engine, HOURLY.replace('cron: "0 * * * *"', 'cron: "0 * * * *"\n    disabled: true'))
    scheduler.tick(datetime(2026, 6, 1, 13, 0, 3, tzinfo=UTC))
    assert scheduler.tick(datetime(2026, 6, 1, 14, 0, 1, tzinfo=UTC)).created == []


def test_a_flow_disabled_as_the_api_does_keeps_its_schedule_planned_but_fires_nothing(engine, scheduler):
    deploy(engine, HOURLY)
    assert dates(engine) == []
    scheduler.tick(T0)  # plans 10:00
    deploy(engine, with_disabled(HOURLY, True))  # what POST /flows/disable/by-ids saves
    assert scheduler.tick(datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC)).created == []
    assert row_of(engine).next_fire_date == datetime(2026, 6, 1, 11, tzinfo=UTC)  # the pass ran, and moved on
    deploy(engine, with_disabled(with_disabled(HOURLY, True), False))
    assert len(scheduler.tick(datetime(2026, 6, 1, 11, 0, 1, tzinfo=UTC)).created) == 1
    assert [d[11:16] for d in dates(engine)] == ["11:00"]


def test_schedule_conditions_and_schedule_on_dates(engine, scheduler):
    deploy(engine, """id: dates
namespace: lanner.sched
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hi
triggers:
  - id: on_dates
    type: io.kestra.plugin.core.trigger.ScheduleOnDates
    timezone: Europe/Paris
    dates:
      - 2026-06-01T12:00:00
      - 2026-06-06T12:00:00
      - 2026-06-08T12:00:00
    conditions:
      - type: io.kestra.plugin.core.condition.Weekend
""")
    scheduler.tick(T0)
    assert row_of(engine, "on_dates", "dates").next_fire_date == datetime(2026, 6, 1, 10, tzinfo=UTC)
    for day in (1, 6, 8, 9):
        scheduler.tick(datetime(2026, 6, day, 10, 0, 1, tzinfo=UTC))
    assert [d[:10] for d in dates(engine)] == ["2026-06-06"]  # the only Saturday
    assert row_of(engine, "on_dates", "dates").next_fire_date is None  # no date left


def test_flows_saved_before_trigger_rows_existed_are_adopted_once(engine, scheduler):
    deploy(engine, HOURLY)
    with write_connection(engine) as connection, connection.begin():
        connection.execute(sa.delete(triggers.triggers))  # as a database from an older version
    assert row_of(engine) is None
    assert scheduler.adopt_flows() == 1
    assert row_of(engine).needs_planning
    assert scheduler.adopt_flows() == 0  # once per database


@pytest.mark.parametrize(("cron", "start", "end", "expected"), [
    # spring forward (29 March 2026): 02:30 does not exist; it fires at 03:00, once
    ("30 2 * * *", datetime(2026, 3, 27, 12, tzinfo=UTC), datetime(2026, 3, 31, 12, tzinfo=UTC),
     ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
      "2026-03-31T02:30:00+02:00"]),
    # fall back (25 October 2026): 02:30 happens twice; it fires once
    ("30 2 * * *", datetime(2026, 10, 23, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC),
     ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
])
def test_daylight_saving_in_europe_paris_neither_skips_nor_doubles(engine, scheduler, cron, start, end, expected):
    deploy(engine, HOURLY.replace('cron: "0 * * * *"', f'cron: "{cron}"\n    timezone: Europe/Paris'))
    scheduler.tick(start)
    now = start
    while now < end:  # a pass every 20 minutes of the fake clock
        now += timedelta(minutes=20)
        scheduler.tick(now)
    assert dates(engine) == expected


def test_a_fresh_databases_flows_are_not_taken_for_an_earlier_versions(engine, scheduler, caplog):
    deploy(engine, HOURLY)  # saved by this version, before the scheduler's first pass: its rows exist
    with caplog.at_level("INFO", logger="lanner.scheduler"):
        assert scheduler.adopt_flows() == 0
    assert "earlier version" not in caplog.text
    assert row_of(engine).needs_planning
