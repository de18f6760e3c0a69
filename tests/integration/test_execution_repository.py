"""Executions, task runs, logs and running jobs on both backends: values in, equal values out."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lanner.model.execution import Attempt, Execution, TaskRun, new_id
from lanner.model.state import State, StateHistory
from lanner.store import execution_batch
from lanner.store import execution_repository as repo
from lanner.store.database import write_connection
from lanner.store.tables import executions, task_runs

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def history(*states: State, start: float = 0) -> StateHistory:
    result = StateHistory.start(states[0], at(start))
    for offset, state in enumerate(states[1:], start=1):
        result = result.to(state, at(start + offset))
    return result


def task_run(task_id: str, *states: State, **fields) -> TaskRun:
    return TaskRun(id=new_id(), task_id=task_id, state=history(*(states or (State.CREATED,))), **fields)


def execution(*runs: TaskRun, start: float = 0, **fields) -> Execution:
    values = dict(id=new_id(), namespace="company.team", flow_id="orders", flow_revision=3,
                  state=history(State.CREATED, State.RUNNING, start=start), task_runs=runs)
    return Execution(**{**values, **fields})


def rich_execution() -> Execution:
    parent = task_run("each", State.CREATED, State.RUNNING)
    # A date in another zone comes back as the same instant.
    paris = timezone(timedelta(hours=2))
    child = TaskRun(
        id=new_id(), task_id="work", parent_task_run_id=parent.id, value='{"city": "Lyon"}', iteration=2,
        state=history(State.CREATED, State.RUNNING, State.SUCCESS),
        attempts=(
            Attempt(history(State.RUNNING, State.FAILED), worker_id="worker-1", message="boom"),
            Attempt(StateHistory.start(State.RUNNING, at(5).astimezone(paris)).to(State.SUCCESS, at(6)),
                    worker_id="worker-2"),
        ),
        outputs={"rows": 42, "files": ["a.csv", "b.csv"], "nested": {"ok": True, "ratio": 0.5, "none": None}},
        metrics=({"name": "rows", "type": "counter", "value": 42.0, "tags": {"db": "x"}},),
    )
    return execution(
        parent, child, tenant_id="acme", inputs={"day": "2025-03-01", "limit": 10},
        labels={"team": "data", "env": "prod"},
        trigger={"id": "schedule", "type": "io.kestra.plugin.core.trigger.Schedule", "variables": {"date": "x"}},
        outputs={"total": 42}, parent_id="parentExecution", original_id="firstExecution",
        variables={"region": "eu"},
    )


def insert(engine, value: Execution) -> None:
    with write_connection(engine) as connection, connection.begin():
        repo.insert_execution(connection, value)


def read(engine, execution_id: str, tenant_id: str = "main") -> Execution | None:
    with engine.connect() as connection:
        return repo.get_execution(connection, execution_id, tenant_id)


def test_an_execution_comes_back_equal_with_task_runs_attempts_outputs_metrics_labels_trigger(engine):
    value = rich_execution()
    insert(engine, value)
    assert read(engine, value.id, "acme") == value
    assert read(engine, value.id) is None  # another tenant's execution is not visible
    assert read(engine, "missing", "acme") is None


def test_an_execution_without_optional_values(engine):
    value = execution()
    insert(engine, value)
    assert read(engine, value.id) == value
    with engine.connect() as connection:
        absent = connection.execute(sa.select(sa.func.count()).select_from(executions).where(
            executions.c.trigger.is_(None), executions.c.inputs.is_(None), executions.c.outputs.is_(None))).scalar()
    assert absent == 1  # stored as SQL NULL, not JSON null


def test_json_shapes_are_kestras(engine):
    value = rich_execution()
    insert(engine, value)
    with engine.connect() as connection:
        row = connection.execute(sa.select(executions).where(executions.c.id == value.id)).one()
        child = connection.execute(sa.select(task_runs).where(task_runs.c.task_id == "work")).one()
    assert row.state == "RUNNING"
    assert row.state_history == [{"state": "CREATED", "date": "2025-03-01T12:00:00.123456Z"},
                                 {"state": "RUNNING", "date": "2025-03-01T12:00:01.123456Z"}]
    assert row.labels == [{"key": "team", "value": "data"}, {"key": "env", "value": "prod"}]
    assert child.attempts[0] == {"state": {"histories": [
        {"state": "RUNNING", "date": "2025-03-01T12:00:00.123456Z"},
        {"state": "FAILED", "date": "2025-03-01T12:00:01.123456Z"}]}, "workerId": "worker-1", "message": "boom"}
    assert child.attempts[1]["state"]["histories"][0]["date"] == "2025-03-01T12:00:05.123456Z"
    assert "message" not in child.attempts[1]
    assert child.state == "SUCCESS" and child.ordinal == 1
    assert child.metrics == [{"name": "rows", "type": "counter", "value": 42.0, "tags": {"db": "x"}}]


class Statements:
    """Counts the SQL statements an engine sends, and the rows of each executemany."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc_info):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, connection, cursor, statement, parameters, context, executemany):
        self.seen.append((" ".join(statement.split()[:2]), len(parameters) if executemany else 1))


def test_save_writes_only_what_changed_among_a_thousand_task_runs(engine):
    before = execution(*(task_run(f"t{i}") for i in range(1000)))
    insert(engine, before)
    with write_connection(engine) as connection, connection.begin():
        locked = repo.lock_execution(connection, before.id)
    assert locked == before and [run.task_id for run in locked.task_runs] == [f"t{i}" for i in range(1000)]

    changed = locked.task_runs[500].to(State.RUNNING, at(10))
    after = locked.with_task_run(changed)
    with Statements(engine) as statements, write_connection(engine) as connection, connection.begin():
        repo.save_execution(connection, locked, after)
    assert statements.seen == [("UPDATE executions", 1), ("UPDATE task_runs", 1)]
    assert read(engine, before.id) == after

    added = [task_run("late1"), task_run("late2")]
    grown = after.with_task_run(added[0]).with_task_run(added[1])
    grown = grown.with_task_run(after.task_runs[3].to(State.RUNNING, at(11))).to(State.SUCCESS, at(12))
    with Statements(engine) as statements, write_connection(engine) as connection, connection.begin():
        repo.save_execution(connection, after, grown)
    assert statements.seen == [("UPDATE executions", 1), ("UPDATE task_runs", 1), ("INSERT INTO", 2)]
    reloaded = read(engine, before.id)
    assert reloaded == grown and reloaded.task_runs[-2:] == tuple(added)

    with Statements(engine) as statements, write_connection(engine) as connection, connection.begin():
        repo.save_execution(connection, grown, dataclasses.replace(grown))
    assert statements.seen == []  # nothing changed, nothing written


def test_save_bumps_the_version_and_keeps_order_when_a_task_run_is_removed(engine):
    runs = [task_run(f"t{i}") for i in range(5)]
    before = execution(*runs)
    insert(engine, before)
    after = dataclasses.replace(before, task_runs=(runs[0], runs[1], runs[3], runs[4], task_run("t5")))
    with write_connection(engine) as connection, connection.begin():
        repo.save_execution(connection, before, after)
        repo.save_execution(connection, after, after.to(State.SUCCESS, at(9)))
    assert read(engine, before.id) == after.to(State.SUCCESS, at(9))
    with engine.connect() as connection:
        version = connection.execute(sa.select(executions.c.version).where(executions.c.id == before.id)).scalar()
    assert version == 2


def test_save_with_nothing_before_inserts(engine):
    value = rich_execution()
    with write_connection(engine) as connection, connection.begin():
        repo.save_execution(connection, None, value)
    assert read(engine, value.id, "acme") == value


def test_lock_blocks_a_second_locker_until_the_first_commits(engine, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers with its database lock (BEGIN IMMEDIATE)")
    value = execution(task_run("a"))
    insert(engine, value)
    events = []
    first_locked, second_started = threading.Event(), threading.Event()

    def second() -> None:
        assert first_locked.wait(10)
        with engine.connect() as connection, connection.begin():
            second_started.set()
            repo.lock_execution(connection, value.id)
            events.append("second locked")

    thread = threading.Thread(target=second)
    thread.start()
    with engine.connect() as connection, connection.begin():
        repo.lock_execution(connection, value.id)
        first_locked.set()
        assert second_started.wait(10)
        # The second locker is now blocked on our row lock; a short lock_timeout proves it.
        with engine.connect() as probe, probe.begin():
            probe.execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                repo.lock_execution(probe, value.id)
        events.append("first commits")
    thread.join(10)
    assert events == ["first commits", "second locked"]


def test_list_executions_filters_newest_first_without_task_runs(engine):
    a = execution(task_run("x"), start=0)
    b = execution(start=10, flow_id="billing")
    c = execution(start=20, state=history(State.CREATED, State.RUNNING, State.FAILED, start=20))
    d = execution(start=30, namespace="other")
    other_tenant = execution(start=40, tenant_id="acme")
    for value in (a, b, c, d, other_tenant):
        insert(engine, value)
    with engine.connect() as connection:
        ids = lambda **kw: [e.id for e in repo.list_executions(connection, **kw)]  # noqa: E731
        assert ids() == [d.id, c.id, b.id, a.id]
        assert ids(namespace="company.team") == [c.id, b.id, a.id]
        assert ids(namespace="company.team", flow_id="orders") == [c.id, a.id]
        assert ids(states=[State.FAILED]) == [c.id]
        assert ids(states={"RUNNING", "FAILED"}, limit=2) == [d.id, c.id]
        assert ids(limit=2, offset=2) == [b.id, a.id]
        assert ids(tenant_id="acme") == [other_tenant.id]
        listed = repo.list_executions(connection, flow_id="orders", states=["RUNNING"], namespace="company.team")
    assert listed == [dataclasses.replace(a, task_runs=())]


def test_logs_append_and_list_by_task_run_and_level(engine):
    value = execution()
    insert(engine, value)
    levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "INFO"]
    entries = [
        repo.LogEntry("main", "company.team", "orders", value.id, f"run{i % 2}", "t", 1, level, f"line {i}", at(i))
        for i, level in enumerate(levels)
    ]
    with write_connection(engine) as connection, connection.begin():
        repo.append_logs(connection, entries)
        repo.append_logs(connection, [])
        repo.append_logs(connection, [repo.LogEntry("main", "company.team", "orders", "another", None, None, None,
                                                    "INFO", "elsewhere", at(0), trigger_id="schedule")])
    with engine.connect() as connection:
        assert repo.list_logs(connection, value.id) == entries
        assert [e.message for e in repo.list_logs(connection, value.id, min_level="WARN")] == ["line 3", "line 4"]
        assert [e.message for e in repo.list_logs(connection, value.id, min_level="info", task_run_id="run1")] == [
            "line 3", "line 5"]
        assert repo.list_logs(connection, "another")[0].trigger_id == "schedule"
        assert repo.list_logs(connection, value.id, tenant_id="acme") == []
        with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
            repo.list_logs(connection, value.id, min_level="LOUD")


def test_running_jobs_record_forget_and_list(engine):
    jobs = [("r1", 1, "w1"), ("r2", 1, "w2"), ("r1", 2, "w1")]
    with write_connection(engine) as connection, connection.begin():
        for task_run_id, attempt, worker in jobs:
            repo.record_running_job(connection, tenant_id="main", task_run_id=task_run_id, attempt=attempt,
                                    execution_id="e1", worker_id=worker, payload={"task": {"id": task_run_id}})
    with engine.connect() as connection:
        listed = repo.running_jobs(connection)
        assert sorted((j["task_run_id"], j["attempt"], j["worker_id"]) for j in listed) == sorted(jobs)
        assert {j["task_run_id"] for j in repo.running_jobs(connection, worker_id="w1")} == {"r1"}
        assert len(repo.running_jobs(connection, execution_id="e1")) == 3
        assert repo.running_jobs(connection, execution_id="e1", tenant_id="acme") == []
    job = listed[0]
    assert job["tenant_id"] == "main" and job["execution_id"] == "e1" and job["payload"] == {"task": {"id": "r1"}}
    assert job["taken_at"].tzinfo is UTC and abs(job["taken_at"] - datetime.now(UTC)) < timedelta(minutes=1)

    with write_connection(engine) as connection, connection.begin():
        repo.forget_running_job(connection, tenant_id="main", task_run_id="r1", attempt=1)
        # The same attempt taken over by another worker moves to it.
        repo.record_running_job(connection, tenant_id="main", task_run_id="r2", attempt=1, execution_id="e1",
                                worker_id="w3", payload={})
    with engine.connect() as connection:
        assert [(j["task_run_id"], j["attempt"]) for j in repo.running_jobs(connection, worker_id="w1")] == [("r1", 2)]
        assert [j["worker_id"] for j in repo.running_jobs(connection) if j["task_run_id"] == "r2"] == ["w3"]


def test_the_cache_reuses_an_unchanged_execution_and_notices_any_write(engine):
    value = execution(task_run("a", State.CREATED, State.RUNNING), task_run("b"))
    insert(engine, value)
    cache = execution_batch.ExecutionCache()
    with write_connection(engine) as connection, connection.begin():
        first = cache.lock(connection, value.id)
    with write_connection(engine) as connection, connection.begin():
        assert cache.lock(connection, value.id) is first  # same version: nothing re-read
        changed = dataclasses.replace(first, labels={"x": "1"})
        repo.save_execution(connection, first, changed)
    cache.saved(first, changed)
    with write_connection(engine) as connection, connection.begin():
        assert cache.lock(connection, value.id) is changed
    # Another executor (a second cache) writes: the first cache must read it again.
    other = execution_batch.ExecutionCache()
    with write_connection(engine) as connection, connection.begin():
        theirs = other.lock(connection, value.id)
        repo.save_execution(connection, theirs, dataclasses.replace(theirs, labels={"x": "2"}))
    with write_connection(engine) as connection, connection.begin():
        assert cache.lock(connection, value.id).labels == {"x": "2"}


def test_the_cache_ignores_a_write_that_was_rolled_back(engine):
    value = execution(task_run("a"))
    insert(engine, value)
    cache = execution_batch.ExecutionCache()
    with write_connection(engine) as connection, connection.begin():
        first = cache.lock(connection, value.id)
        repo.save_execution(connection, first, dataclasses.replace(first, labels={"lost": "yes"}))
        connection.rollback()
    # The caller only reports a save once committed; here it never did.
    with write_connection(engine) as connection, connection.begin():
        assert cache.lock(connection, value.id).labels == {}


def test_many_executions_are_read_locked_and_saved_together(engine):
    values = [execution(task_run("a", State.CREATED, State.RUNNING), task_run("b")) for _ in range(3)]
    for value in values:
        insert(engine, value)
    keys = [("main", value.id) for value in values] + [("main", "missing")]
    with write_connection(engine) as connection, connection.begin():
        found = execution_batch.read_many(connection, keys)
        assert {key: found[key] for key in keys[:3]} == {("main", v.id): v for v in values}
        assert set(execution_batch.lock_versions(connection, keys)) == set(keys[:3])
        changed = [(v, dataclasses.replace(v, labels={"n": str(i)}, task_runs=v.task_runs + (task_run("c"),)))
                   for i, v in enumerate(values[:2])]
        execution_batch.save_many(connection, changed)
    assert [read(engine, v.id) for v in values] == [after for _, after in changed] + [values[2]]
