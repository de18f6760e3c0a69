"""Service instances and the liveness coordinator against a real database, on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lanner.cluster.coordinator import RESUBMISSIONS, Coordinator
from lanner.cluster.membership import Membership
from lanner.config.settings import Liveness
from lanner.config.settings import WorkerTaskRestartStrategy as Strategy
from lanner.model.service_state import ServiceState as S
from lanner.model.service_state import ServiceType
from lanner.store import execution_repository as repo
from lanner.store import service_instances as instances
from lanner.store import settings_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.tables import queue_messages
from lanner.store.tables import service_instances as table

FAST = Liveness(interval=timedelta(milliseconds=100), timeout=timedelta(seconds=1),
                initial_delay=timedelta(0), heartbeat_interval=timedelta(milliseconds=100))


def register(engine, instance_id: str, *, grace: float = 60.0, timeout: float = 1.0) -> None:
    instances.register(engine, instance_id=instance_id, service_type="WORKER", hostname="h", pid=1,
                       lanner_version="0", schema_version="0002",
                       settings={"timeout": timeout, "initialDelay": 0, "terminationGracePeriod": grace})
    instances.change_state(engine, instance_id, S.RUNNING, "started")


def silence(engine, instance_id: str, seconds: float) -> None:
    """Pretend the instance's last heartbeat was ``seconds`` ago."""
    with write_connection(engine) as connection, connection.begin():
        now = instances.database_now(connection)
        connection.execute(sa.update(table).where(table.c.id == instance_id)
                           .values(heartbeat_at=now - timedelta(seconds=seconds)))


def hold(engine, worker_id: str, *jobs: tuple[str, int]) -> None:
    with write_connection(engine) as connection, connection.begin():
        repo.record_running_jobs(connection, [
            {"tenant_id": "main", "task_run_id": run, "attempt": attempt, "execution_id": f"e-{run}",
             "worker_id": worker_id, "payload": {}} for run, attempt in jobs])


def resubmissions(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(queue_messages.c.payload).where(queue_messages.c.topic == "executor"))
        return [payload for payload in rows.scalars() if payload.get("type") == "resubmit"]


def coordinator(engine, strategy: Strategy = Strategy.IMMEDIATELY, own: set[str] | None = None) -> Coordinator:
    return Coordinator(engine, Queue(engine), FAST, strategy=strategy, max_resubmissions=3,
                       own_ids=lambda: own or set())


def state_of(engine, instance_id: str) -> S:
    with engine.connect() as connection:
        return instances.get_instance(connection, instance_id).state


def test_invalid_transitions_are_refused_and_leave_the_row_as_it_was(engine):
    register(engine, "w1")
    with pytest.raises(instances.InvalidTransition, match="cannot go from RUNNING to NOT_RUNNING"):
        instances.change_state(engine, "w1", S.NOT_RUNNING, "no")
    instances.change_state(engine, "w1", S.TERMINATING, "SIGTERM")
    instances.change_state(engine, "w1", S.TERMINATED_GRACEFULLY, "done")
    with pytest.raises(instances.InvalidTransition):
        instances.change_state(engine, "w1", S.RUNNING, "back from the dead")
    with pytest.raises(instances.InvalidTransition, match="not registered"):
        instances.change_state(engine, "nobody", S.RUNNING, "x")
    with engine.connect() as connection:
        found = instances.get_instance(connection, "w1")
    assert found.state is S.TERMINATED_GRACEFULLY
    assert [entry["state"] for entry in found.history] == ["CREATED", "RUNNING", "TERMINATING",
                                                           "TERMINATED_GRACEFULLY"]


def test_a_heartbeat_returns_the_state_and_never_revives_a_dead_instance(engine):
    register(engine, "w1")
    assert instances.heartbeat(engine, "w1", 3) is S.RUNNING
    silence(engine, "w1", 5)
    assert coordinator(engine).check().disconnected == ["w1"]
    assert instances.heartbeat(engine, "w1", 0) is S.NOT_RUNNING  # declared dead, then dealt with
    assert instances.heartbeat(engine, "nobody", 0) is None


def test_silent_instances_are_disconnected_but_never_the_coordinators_own(engine):
    register(engine, "me")
    register(engine, "other")
    register(engine, "fresh")
    silence(engine, "me", 5)
    silence(engine, "other", 5)
    done = coordinator(engine, Strategy.AFTER_TERMINATION_GRACE_PERIOD, own={"me"}).check()
    assert done.disconnected == ["other"]
    assert (state_of(engine, "me"), state_of(engine, "other"), state_of(engine, "fresh")) == (
        S.RUNNING, S.DISCONNECTED, S.RUNNING)


def test_the_coordinator_knows_when_to_look_next_the_moment_an_instance_falls_due(engine):
    register(engine, "steady", timeout=10.0)
    register(engine, "gone", timeout=10.0, grace=30.0)
    silence(engine, "steady", 1)  # silent from 9 s from now
    silence(engine, "gone", 4)  # 6 s from now
    assert coordinator(engine).check().next_due_in == pytest.approx(6.0, abs=0.5)
    silence(engine, "gone", 12)  # declared now; under the default strategy its jobs fall due 18 s later
    done = coordinator(engine, Strategy.AFTER_TERMINATION_GRACE_PERIOD).check()
    assert done.disconnected == ["gone"]
    assert done.next_due_in == pytest.approx(9.0, abs=0.5)  # the steady one comes first
    silence(engine, "steady", 0)
    assert coordinator(engine, Strategy.AFTER_TERMINATION_GRACE_PERIOD).check().next_due_in == pytest.approx(
        10.0, abs=0.5)
    assert coordinator(engine, own={"steady"}).check().next_due_in is None  # its own, and a dead one: nothing


def test_the_initial_delay_spares_a_starting_instance(engine):
    instances.register(engine, instance_id="slow", service_type="WORKER", hostname="h", pid=1, lanner_version="0",
                       schema_version="0", settings={"timeout": 1, "initialDelay": 3600})
    silence(engine, "slow", 5)
    assert coordinator(engine).check().disconnected == []


def test_immediately_resubmits_a_dead_workers_jobs_once(engine):
    register(engine, "w1")
    hold(engine, "w1", ("tr1", 1), ("tr2", 3))
    silence(engine, "w1", 5)
    done = coordinator(engine).check()
    assert sorted(done.resubmitted) == [("tr1", 1), ("tr2", 3)]
    sent = resubmissions(engine)
    assert sorted((p["taskRunId"], p["attempt"], p["fail"]) for p in sent) == [("tr1", 1, False), ("tr2", 3, False)]
    assert all("stopped while running attempt" in p["reason"] and p["maxResubmissions"] == 3 for p in sent)
    assert state_of(engine, "w1") is S.NOT_RUNNING
    assert coordinator(engine).check().resubmitted == []  # nothing twice
    assert len(resubmissions(engine)) == 2
    with engine.connect() as connection:
        assert settings_repository.get(connection, RESUBMISSIONS) == 2
        assert repo.running_jobs(connection, worker_id="w1") == []


def test_after_the_grace_period_waits_for_the_dead_workers_own_grace(engine):
    register(engine, "patient", grace=3600)
    register(engine, "done", grace=2)
    hold(engine, "patient", ("tr1", 1))
    hold(engine, "done", ("tr2", 1))
    silence(engine, "patient", 5)
    silence(engine, "done", 5)
    done = coordinator(engine, Strategy.AFTER_TERMINATION_GRACE_PERIOD).check()
    assert done.resubmitted == [("tr2", 1)]
    assert state_of(engine, "patient") is S.DISCONNECTED


def test_a_forced_termination_is_resubmitted_at_once_even_after_the_grace_period(engine):
    register(engine, "w1", grace=3600)
    hold(engine, "w1", ("tr1", 1))
    instances.change_state(engine, "w1", S.TERMINATING, "SIGTERM")
    instances.change_state(engine, "w1", S.TERMINATED_FORCED, "grace over")
    assert coordinator(engine, Strategy.AFTER_TERMINATION_GRACE_PERIOD).check().resubmitted == [("tr1", 1)]


def test_never_sends_failures_instead(engine):
    register(engine, "w1")
    hold(engine, "w1", ("tr1", 1))
    silence(engine, "w1", 5)
    done = coordinator(engine, Strategy.NEVER).check()
    assert done.failed == [("tr1", 1)] and done.resubmitted == []
    assert [p["fail"] for p in resubmissions(engine)] == [True]


def test_jobs_a_fenced_zombie_took_after_it_was_dealt_with_are_resubmitted(engine):
    register(engine, "w1")
    silence(engine, "w1", 5)
    coordinator(engine).check()
    assert state_of(engine, "w1") is S.NOT_RUNNING
    hold(engine, "w1", ("tr9", 1))  # it woke up and took one before noticing
    hold(engine, "ghost", ("tr8", 1))  # no instance at all
    assert sorted(coordinator(engine).check().resubmitted) == [("tr8", 1), ("tr9", 1)]


def test_a_membership_heartbeats_and_fences_itself_when_declared_dead(engine):
    fenced: list[str] = []
    told = threading.Event()
    membership = Membership(engine, ServiceType.WORKER, FAST, timedelta(seconds=1), schema_version="0002",
                            on_fenced=lambda reason: (fenced.append(reason), told.set()))
    membership.start()
    try:
        assert state_of(engine, membership.instance_id) is S.RUNNING
        instances.change_state(engine, membership.instance_id, S.DISCONNECTED, "test")
        assert told.wait(10)
        assert fenced and "declared this instance DISCONNECTED" in fenced[0]
    finally:
        membership.ended(S.TERMINATED_GRACEFULLY, "test over")
    assert state_of(engine, membership.instance_id) is S.DISCONNECTED  # a fenced instance records nothing more


def test_a_membership_records_how_it_ended(engine):
    membership = Membership(engine, ServiceType.EXECUTOR, FAST, timedelta(seconds=1), schema_version="0002",
                            on_fenced=lambda reason: None)
    membership.start()
    membership.terminating("SIGTERM received")
    membership.ended(S.TERMINATED_GRACEFULLY, "every task finished")
    with engine.connect() as connection:
        found = instances.get_instance(connection, membership.instance_id)
    assert found.state is S.TERMINATED_GRACEFULLY and found.service_type == "EXECUTOR"
    assert found.settings["timeout"] == 1.0 and found.settings["terminationGracePeriod"] == 1.0
    assert [entry["reason"] for entry in found.history][-2:] == ["SIGTERM received", "every task finished"]
