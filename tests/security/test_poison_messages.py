"""A message that keeps failing the executor is set aside, never replayed forever: real `lanner server`
processes, on both backends.  The server starts and answers /health whatever is queued, fails the execution
with the reason, goes on with other executions, and `lanner sys cluster status` reports what it set aside."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from lanner.model.state import State
from lanner.store import deliveries
from lanner.store.tables import executions as executions_table
from lanner.store.tables import queue_messages
from tests.acceptance.cluster_harness import Cluster, Component, wait_until
from tests.conftest import run_lanner
from tests.integration.test_poison_messages import (
    CORRUPT,
    HELLO,
    claim,
    counts,
    created,
    send,
)
from tests.security.conftest import assert_healthy, web_url

CRASH_REASON = ("a message for this execution was set aside after 3 deliveries that did not complete; the last one: "
                "the executor stopped while processing it (it crashed, or was killed or stopped by a timeout)")


@pytest.fixture
def cluster(database_url, tmp_path) -> Iterator[Cluster]:
    lanner = Cluster(database_url, tmp_path)
    lanner.deploy(HELLO)
    try:
        yield lanner
    finally:
        lanner.close()


def set_aside_count(cluster: Cluster) -> int:
    with cluster.engine.connect() as connection:
        return deliveries.count(connection) or 0


def error_lines(cluster: Cluster, execution_id: str) -> list[str]:
    return [entry.message for entry in cluster.executions.logs(execution_id) if entry.level == "ERROR"]


def test_a_server_sets_poison_messages_aside_answers_health_and_goes_on(cluster, database_url):
    doomed = created(cluster.engine, cluster.queue)
    for number in range(3):  # three executors claimed its start and died before completing it
        claim(cluster.engine, cluster.queue, f"dead-{number}")
    send(cluster.engine, cluster.queue, CORRUPT)  # raises in every executor that takes it
    server = cluster.start("standalone", "--port", "0")
    url = web_url(server)
    assert_healthy(url)  # up, with both poison messages queued

    failed = cluster.executions.wait(doomed.id, 60)
    assert failed.current is State.FAILED
    assert error_lines(cluster, doomed.id) == [CRASH_REASON]
    wait_until(lambda: set_aside_count(cluster) == 2, 60, "the corrupt message set aside after its 3 deliveries")
    assert_healthy(url)
    assert counts(cluster.engine) == {}  # nothing is left to replay

    later = cluster.executions.create("lanner.poison", "hello")
    assert cluster.executions.wait(later.id, 60).current is State.SUCCESS

    env = {"LANNER_DATABASE_URL": database_url}
    status = run_lanner("sys", "cluster", "status", "--format", "json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["setAsideMessages"] == 2
    text = run_lanner("sys", "cluster", "status", env=env)
    assert "Set aside:    2 message(s)" in text.stdout
    with httpx.Client(base_url=url, timeout=30) as client:
        listed = client.get("/api/v1/cluster/set-aside").json()
        assert "\nlanner_queue_set_aside 2.0\n" in client.get("/metrics").text
    assert listed["total"] == 2
    assert {row["executionId"] for row in listed["results"]} == {doomed.id, None}
    assert all("payload" not in row for row in listed["results"])
    assert "processing it raised KeyError: 'executionId'" in \
        next(row["reason"] for row in listed["results"] if row["executionId"] is None)
    shown = run_lanner("sys", "cluster", "set-aside", env=env)
    assert shown.returncode == 0 and f"execution {doomed.id}" in shown.stdout, shown.stderr
    cleared = run_lanner("sys", "cluster", "set-aside", "--delete-all", env=env)
    assert cleared.returncode == 0 and "deleted 2 set-aside message(s)" in cleared.stdout
    assert set_aside_count(cluster) == 0
    assert_healthy(url)


def end_sessions_of(cluster: Cluster, server: Component) -> None:
    """What PostgreSQL does by itself once it notices the client is gone: its sessions end, their locks go.

    A session waiting for a lock does not read its socket, so it notices the death of its
    client only when the lock is granted (or after ``client_connection_check_interval``).
    """
    with cluster.engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name LIKE :name"), {"name": f"lanner {server.pid}@%"})
        connection.commit()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_message_whose_processing_kills_the_executor_is_set_aside_after_three_crashes(cluster):
    """Real crashes: the executor is SIGKILLed while it processes the message (held on the execution's row lock)."""
    doomed = created(cluster.engine, cluster.queue)
    (message_id,) = counts(cluster.engine)
    with cluster.engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(sa.select(executions_table.c.id).where(executions_table.c.id == doomed.id).with_for_update())
        for crash in range(1, 4):
            server = cluster.start("standalone", "--port", "0")
            url = web_url(server)
            # The executor counted its delivery and now waits for the row: it is processing the message.
            wait_until(lambda crash=crash: counts(cluster.engine) == {message_id: crash}, 60,
                       f"delivery {crash} under way")
            assert_healthy(url)  # during
            server.send(signal.SIGKILL)
            server.wait_exit()
            end_sessions_of(cluster, server)
        transaction.rollback()
    server = cluster.start("standalone", "--port", "0")
    url = web_url(server)
    assert cluster.executions.wait(doomed.id, 60).current is State.FAILED
    assert error_lines(cluster, doomed.id) == [CRASH_REASON]
    assert_healthy(url)  # after
    with cluster.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(queue_messages)
                                  .where(queue_messages.c.id == message_id)).scalar() == 0
    later = cluster.executions.create("lanner.poison", "hello")
    assert cluster.executions.wait(later.id, 60).current is State.SUCCESS
