"""The database queue on both backends: take (select and delete) in a transaction, wake on commit."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from lanner.store.database import write_connection
from lanner.store.queue import Message, Outgoing, Queue
from lanner.store.schema_guard import prepare_database
from lanner.store.tables import queue_messages
from tests.helpers import config_for

PROMPTLY = 5.0  # seconds: a bound for "at once" that a loaded CI machine still meets


@pytest.fixture
def queue(engine):
    with Queue(engine) as queue:
        yield queue


def send(engine, queue, topic, *payloads, **options):
    with write_connection(engine) as connection, connection.begin():
        for payload in payloads:
            queue.send(connection, topic, payload, **options)


def consume(engine, queue, topic, limit=100):
    with write_connection(engine) as connection, connection.begin():
        return queue.take(connection, topic, limit)


def rows(engine):
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar()


def in_thread(target, *args):
    """Run ``target`` in a thread; the returned function joins it and returns its result or raises."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target(*args)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()

    def join():
        thread.join(30)
        assert not thread.is_alive(), "thread did not finish"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return join


def test_send_take_round_trip(engine, queue):
    with write_connection(engine) as connection, connection.begin():
        queue.send(connection, "jobs", {"n": 1, "nested": {"list": [1, "two", None]}}, key="k1", tenant_id="acme")
        queue.send_many(connection, "jobs", [Outgoing("main", "k2", {"n": 2}), Outgoing("main", None, {"n": 3}),
                                             Outgoing("acme", "k2", {"n": 5})])
        queue.send(connection, "other", {"n": 4})
    with write_connection(engine) as connection, connection.begin():
        messages = queue.take(connection, "jobs")
        assert [(m.topic, m.key, m.payload, m.tenant_id) for m in messages] == [
            ("jobs", "k1", {"n": 1, "nested": {"list": [1, "two", None]}}, "acme"),
            ("jobs", "k2", {"n": 2}, "main"),
            ("jobs", None, {"n": 3}, "main"),
            ("jobs", "k2", {"n": 5}, "acme"),  # one send, messages of several tenants, each keeps its own
        ]
        assert all(isinstance(m, Message) and m.sent_at is not None for m in messages)
    assert consume(engine, queue, "jobs") == []
    assert [m.payload for m in consume(engine, queue, "other")] == [{"n": 4}]
    assert rows(engine) == 0  # acknowledged messages are deleted, not kept


def test_takes_come_in_id_order_up_to_the_limit(engine, queue):
    with write_connection(engine) as connection, connection.begin():
        queue.send_many(connection, "jobs", [Outgoing("main", None, {"n": n}) for n in range(10)])
        queue.send_many(connection, "jobs", [])
    first = consume(engine, queue, "jobs", limit=4)
    rest = consume(engine, queue, "jobs")
    assert [m.payload["n"] for m in first + rest] == list(range(10))
    assert [m.id for m in first + rest] == sorted(m.id for m in first + rest)


def test_a_delayed_message_waits_for_its_time(engine, queue):
    send(engine, queue, "jobs", {"n": "later"}, delay=3600)
    send(engine, queue, "jobs", {"n": "soon"}, delay=0.3)
    send(engine, queue, "jobs", {"n": "now"})
    assert [m.payload["n"] for m in consume(engine, queue, "jobs")] == ["now"]
    deadline = time.monotonic() + PROMPTLY
    found = []
    while not found and time.monotonic() < deadline:
        found = consume(engine, queue, "jobs")
    assert [m.payload["n"] for m in found] == ["soon"]
    with engine.connect() as connection:
        assert queue.depth(connection, "jobs") == 1  # the one due in an hour is still there


def test_a_rollback_makes_taken_messages_available_again(engine, queue):
    send(engine, queue, "jobs", {"n": 1}, {"n": 2})
    with write_connection(engine) as connection:
        with connection.begin():
            taken = queue.take(connection, "jobs")
            connection.rollback()  # as a crash before the commit would
    assert consume(engine, queue, "jobs") == taken and len(taken) == 2


def test_two_consumers_never_share_a_message_and_together_take_all(engine, queue):
    send(engine, queue, "jobs", *({"n": n} for n in range(200)))

    def consumer():
        taken = []
        while batch := consume(engine, queue, "jobs", limit=7):
            taken.extend(m.id for m in batch)
        return taken

    first, second = in_thread(consumer), in_thread(consumer)
    a, b = first(), second()
    assert not set(a) & set(b)
    assert len(a) + len(b) == 200 and rows(engine) == 0


def test_concurrent_takes_skip_each_others_locked_messages(engine, queue, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes run one write transaction at a time")
    send(engine, queue, "jobs", *({"n": n} for n in range(10)))
    first_holds, second_done = threading.Event(), threading.Event()

    def second():
        assert first_holds.wait(10)
        try:
            return consume(engine, queue, "jobs", limit=4)  # does not wait for the first's locks
        finally:
            second_done.set()

    join = in_thread(second)
    with write_connection(engine) as connection, connection.begin():
        held = queue.take(connection, "jobs", limit=4)  # deleted, not committed: still locked
        first_holds.set()
        assert second_done.wait(10)
    taken = join()
    assert [m.payload["n"] for m in held] == [0, 1, 2, 3]
    assert [m.payload["n"] for m in taken] == [4, 5, 6, 7]


def test_depth_counts_waiting_messages(engine, queue):
    send(engine, queue, "a", {}, {}, {})
    send(engine, queue, "b", {}, delay=3600)
    with engine.connect() as connection:
        assert (queue.depth(connection), queue.depth(connection, "a"), queue.depth(connection, "b"),
                queue.depth(connection, "c")) == (4, 3, 1, 0)


def test_wait_wakes_when_another_thread_sends_and_commits(engine, queue):
    assert consume(engine, queue, "jobs") == []  # a consumer takes, then waits
    started = time.monotonic()
    waiter = in_thread(queue.wait, "jobs", 30)
    send(engine, queue, "jobs", {"n": 1})
    assert waiter() is True
    assert time.monotonic() - started < PROMPTLY
    assert [m.payload for m in consume(engine, queue, "jobs")] == [{"n": 1}]


def test_wait_times_out_when_nothing_is_sent(engine, queue):
    consume(engine, queue, "jobs")
    send(engine, queue, "elsewhere", {})
    started = time.monotonic()
    assert queue.wait("jobs", 0.2) is False
    assert 0.2 <= time.monotonic() - started < PROMPTLY


def test_a_notification_that_arrives_between_take_and_wait_is_not_lost(engine, queue):
    consume(engine, queue, "a")
    consume(engine, queue, "b")
    in_thread(send, engine, queue, "a", {"n": 1})()  # committed while nobody waits
    in_thread(send, engine, queue, "b", {"n": 2})()
    started = time.monotonic()
    assert queue.wait("a", 30) is True
    assert queue.wait("b", 30) is True  # remembered for b although we first waited on a
    assert time.monotonic() - started < PROMPTLY
    assert queue.wait("a", 0.1) is False  # consumed by the previous wait


def test_threads_waiting_on_different_topics_wake_for_their_own(engine, queue):
    consume(engine, queue, "a")
    waiters = {topic: in_thread(queue.wait, topic, 30 if topic == "b" else 0.5) for topic in ("a", "b", "c")}
    send(engine, queue, "b", {})
    assert {topic: join() for topic, join in waiters.items()} == {"a": False, "b": True, "c": False}


def test_a_queue_on_another_engine_wakes_the_waiter(engine, queue, database_url):
    consume(engine, queue, "jobs")
    other_engine = prepare_database(config_for(database_url), may_migrate=False)
    try:
        with Queue(other_engine) as other:
            waiter = in_thread(queue.wait, "jobs", 30)
            send(other_engine, other, "jobs", {"from": "elsewhere"})
            assert waiter() is True
    finally:
        other_engine.dispose()


def test_a_rolled_back_send_wakes_nobody(engine, queue):
    consume(engine, queue, "jobs")
    with write_connection(engine) as connection, connection.begin():
        queue.send(connection, "jobs", {})
        connection.rollback()
    assert queue.wait("jobs", 0.3) is False
    assert rows(engine) == 0


def test_one_statement_per_send_and_one_notification_per_topic_and_transaction(engine, queue, database_url):
    statements = []
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    listener = None
    if database_url.startswith("postgresql"):
        import psycopg

        listener = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                                   autocommit=True)
        listener.execute("LISTEN lanner_queue")
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with write_connection(engine) as connection, connection.begin():
            for _ in range(3):
                queue.send(connection, "a", {})
            queue.send_many(connection, "b", [Outgoing("main", None, {}), Outgoing("acme", None, {})])
        send(engine, queue, "a", {})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "INSERT INTO queue_messages" in s]) == 5
    if listener is not None:
        with listener:
            received = [n.payload for n in listener.notifies(timeout=1, stop_after=3)]
            received += [n.payload for n in listener.notifies(timeout=0.2)]  # and nothing more
        assert sorted(received) == ["a", "a", "b"]


def test_close_wakes_waiters_and_is_idempotent(engine):
    queue = Queue(engine)
    queue.wait("jobs", 0)  # opens the listening connection on PostgreSQL
    waiter = in_thread(queue.wait, "jobs", 30)
    queue.close()
    queue.close()
    assert waiter() is True


def test_the_listening_connection_comes_back_after_it_drops(engine, queue, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL listens on a connection")
    consume(engine, queue, "jobs")
    with engine.connect() as connection:
        killed = connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query ILIKE 'LISTEN %'")).scalar()
    assert killed == 1
    # Notifications may have been lost while it was down: every topic is woken once.
    assert queue.wait("jobs", 30) is True
    in_thread(send, engine, queue, "jobs", {})()
    assert queue.wait("jobs", 30) is True  # heard on the new connection


def test_a_send_after_a_rolled_back_savepoint_still_wakes(engine, queue):
    consume(engine, queue, "jobs")
    with write_connection(engine) as connection, connection.begin():
        savepoint = connection.begin_nested()
        queue.send(connection, "jobs", {"n": "lost"})
        savepoint.rollback()  # PostgreSQL drops the savepoint's NOTIFY with it
        queue.send(connection, "jobs", {"n": "kept"})
    assert queue.wait("jobs", 30) is True
    assert [m.payload["n"] for m in consume(engine, queue, "jobs")] == ["kept"]


_SEND_FROM_ANOTHER_PROCESS = """
import os
from lanner.config import load_config
from lanner.store.database import create_engine, write_connection
from lanner.store.queue import Queue
engine = create_engine(load_config().settings.database)
with Queue(engine) as queue, write_connection(engine) as connection, connection.begin():
    queue.send(connection, "jobs", {"from": "another process"})
engine.dispose()
"""


def test_a_send_from_another_process_wakes_the_waiter(engine, queue, database_url):
    import os
    import subprocess
    import sys

    consume(engine, queue, "jobs")
    waiter = in_thread(queue.wait, "jobs", 60)
    subprocess.run([sys.executable, "-c", _SEND_FROM_ANOTHER_PROCESS], check=True,
                   env={**os.environ, "LANNER_DATABASE_URL": database_url})
    assert waiter() is True  # within the poll, not after the 60 s timeout
    assert [m.payload for m in consume(engine, queue, "jobs")] == [{"from": "another process"}]


def test_take_claims_and_deletes_in_one_statement_and_a_rollback_restores(engine, queue):
    for n in range(3):
        send(engine, queue, "jobs", {"n": n})
    with write_connection(engine) as connection, connection.begin():
        taken = queue.take(connection, "jobs", 2)
        assert [m.payload["n"] for m in taken] == [0, 1]
        connection.rollback()
    assert rows(engine) == 3
    with write_connection(engine) as connection, connection.begin():
        assert [m.payload["n"] for m in queue.take(connection, "jobs", 10)] == [0, 1, 2]
    assert rows(engine) == 0


def test_concurrent_takers_never_share_a_message(engine, queue, database_url):
    import threading

    for n in range(40):
        send(engine, queue, "jobs", {"n": n})
    taken: list[int] = []
    lock = threading.Lock()

    def taker():
        while True:
            with write_connection(engine) as connection, connection.begin():
                batch = queue.take(connection, "jobs", 3)
            if not batch:
                return
            with lock:
                taken.extend(m.payload["n"] for m in batch)

    threads = [threading.Thread(target=taker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == list(range(40))


def test_withdraw_removes_one_keys_messages_of_one_topic_delayed_ones_included(engine, queue):
    send(engine, queue, "jobs", {"n": 1}, key="e1")
    send(engine, queue, "jobs", {"n": 2}, key="e1", delay=3600)
    send(engine, queue, "jobs", {"n": 3}, key="e2")
    send(engine, queue, "results", {"n": 4}, key="e1")
    with write_connection(engine) as connection, connection.begin():
        withdrawn = queue.withdraw(connection, "jobs", "e1")
    assert [m.payload for m in withdrawn] == [{"n": 1}, {"n": 2}]
    assert [m.payload for m in consume(engine, queue, "jobs")] == [{"n": 3}]
    assert [m.payload for m in consume(engine, queue, "results")] == [{"n": 4}]


def test_withdraw_never_returns_a_message_a_consumer_is_taking(engine, queue, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    send(engine, queue, "jobs", {"n": 1}, key="e1")
    taken = threading.Event()
    release = threading.Event()

    def take():
        with write_connection(engine) as connection, connection.begin():
            messages = queue.take(connection, "jobs", 10)
            taken.set()
            release.wait(PROMPTLY)
        return messages

    join_taker = in_thread(take)
    assert taken.wait(PROMPTLY)

    def withdraw():
        with write_connection(engine) as connection, connection.begin():
            return queue.withdraw(connection, "jobs", "e1")

    join_withdraw = in_thread(withdraw)
    release.set()
    assert [m.payload for m in join_taker()] == [{"n": 1}]
    assert join_withdraw() == []  # the taker's: not withdrawn twice


def test_take_of_a_version_leaves_other_formats_for_a_consumer_that_knows_them(engine, queue):
    send(engine, queue, "jobs", {"v": 2, "n": 1}, {"v": 1, "n": 2}, {"n": 3}, {"v": 1, "n": 4}, {"v": "one", "n": 5})
    for fair in (False, True):
        with write_connection(engine) as connection, connection.begin():
            taken = queue.take(connection, "jobs", 10, version=1, fair=fair)
            connection.rollback()
        # A "v" that is no number is not taken (nor does it fail the take, on PostgreSQL either).
        assert [m.payload["n"] for m in taken] == [2, 4]
    with write_connection(engine) as connection, connection.begin():
        taken = queue.take(connection, "jobs", 10, version=1)
    assert [m.payload["n"] for m in taken] == [2, 4]
    assert sorted(m.payload["n"] for m in consume(engine, queue, "jobs")) == [1, 3, 5]


def test_take_and_hold_records_the_holder_with_the_take(engine, queue):
    from lanner.store import execution_repository as repo
    from lanner.store.job_holding import take_and_hold

    job = {"v": 1, "executionId": "e1", "taskRunId": "t1", "attempt": 2}
    send(engine, queue, "worker", job, {**job, "v": 9, "taskRunId": "t2"}, key="e1")
    taken = take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
    assert [m.payload["taskRunId"] for m in taken.jobs] == ["t1"] and not taken.paused
    with engine.connect() as connection:
        held = repo.running_jobs(connection, worker_id="w1")
        left = queue.depth(connection, "worker")
    assert [(h["task_run_id"], h["attempt"], h["execution_id"], h["payload"]) for h in held] == [("t1", 2, "e1", job)]
    assert left == 1  # the unknown format stays queued


def _jobs(execution_id, *task_runs):
    return [{"v": 1, "executionId": execution_id, "taskRunId": t, "attempt": 1} for t in task_runs]


def test_take_and_hold_takes_the_oldest_job_of_each_execution_first(engine, queue):
    from lanner.store.job_holding import take_and_hold

    send(engine, queue, "worker", *_jobs("loop", "l1", "l2", "l3", "l4"), key="loop")
    send(engine, queue, "worker", *_jobs("small", "s1", "s2"), key="small")
    send(engine, queue, "worker", *_jobs("other", "o1"), key="other")
    first = take_and_hold(engine, queue, "worker", 3, worker_id="w1", version=1)
    # Oldest first would have taken l1, l2, l3: the small executions would wait behind the loop.
    assert sorted(m.payload["taskRunId"] for m in first.jobs) == ["l1", "o1", "s1"]
    second = take_and_hold(engine, queue, "worker", 2, worker_id="w1", version=1)
    assert sorted(m.payload["taskRunId"] for m in second.jobs) == ["l2", "s2"]
    rest = take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
    assert [m.payload["taskRunId"] for m in rest.jobs] == ["l3", "l4"]  # each execution's jobs in order


def test_a_fair_take_keeps_each_keys_order_and_tells_tenants_apart(engine, queue):
    send(engine, queue, "jobs", *({"v": 1, "n": n} for n in (1, 2, 3)), key="e1")
    send(engine, queue, "jobs", {"v": 1, "n": 4}, key="e1", tenant_id="other")
    with write_connection(engine) as connection, connection.begin():
        taken = queue.take(connection, "jobs", 2, version=1, fair=True)
    # Same key, another tenant: another execution, so it goes before e1's second message.
    assert sorted(m.payload["n"] for m in taken) == [1, 4]
    with write_connection(engine) as connection, connection.begin():
        assert [m.payload["n"] for m in queue.take(connection, "jobs", 10, version=1, fair=True)] == [2, 3]
        with pytest.raises(ValueError, match="give version"):
            queue.take(connection, "jobs", 10, fair=True)


def test_take_and_hold_takes_nothing_while_maintenance_mode_is_on_and_says_so(engine, queue):
    from lanner.ops import maintenance
    from lanner.store import execution_repository as repo
    from lanner.store.job_holding import take_and_hold

    maintenance.enter(engine, by="test")
    send(engine, queue, "worker", *({"v": 1, "executionId": "e1", "taskRunId": f"t{n}", "attempt": 1}
                                    for n in (1, 2)), key="e1")
    paused = take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
    with engine.connect() as connection:
        assert repo.running_jobs(connection, worker_id="w1") == []
        assert queue.depth(connection, "worker") == 2
    assert paused.jobs == [] and paused.paused
    maintenance.leave(engine, by="test")
    resumed = take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
    assert [m.payload["taskRunId"] for m in resumed.jobs] == ["t1", "t2"] and not resumed.paused


def test_release_sends_results_forgets_holdings_and_writes_logs_at_once(engine, queue):
    from datetime import UTC, datetime

    from lanner.store import execution_repository as repo
    from lanner.store.job_holding import release, take_and_hold

    for n in (1, 2):
        send(engine, queue, "worker", {"v": 1, "executionId": "e1", "taskRunId": f"t{n}", "attempt": 1}, key="e1")
    take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
    lines = [repo.LogEntry("main", "ns", "f", "e1", "t1", "task", 1, "INFO", f"line {i}", datetime.now(UTC))
             for i in range(3)]
    release(engine, queue, "executor", results=[("main", "e1", {"v": 1, "taskRunId": "t1"})],
            held=[("main", "t1", 1)], log_entries=lines)
    with engine.connect() as connection:
        held = [h["task_run_id"] for h in repo.running_jobs(connection, worker_id="w1")]
        written = [entry.message for entry in repo.list_logs(connection, "e1")]
    assert held == ["t2"]
    assert written == ["line 0", "line 1", "line 2"]
    assert [m.payload for m in consume(engine, queue, "executor")] == [{"v": 1, "taskRunId": "t1"}]


def test_messages_in_other_formats_are_counted_and_reported(engine, queue, caplog):
    from lanner.engine.shell import messages
    from lanner.engine.shell.foreign_formats import ForeignFormats

    send(engine, queue, "worker", {"v": 2, "n": 1}, {"v": 2, "n": 2}, {"v": 1, "n": 3}, {"v": 7, "n": 4})
    with engine.connect() as connection:
        assert queue.foreign_formats(connection, "worker", 1) == {2: 2, 7: 1}
    watch = ForeignFormats(engine, queue, messages.WORKER, every=0)
    with caplog.at_level("WARNING"):
        assert watch.check() == {2: 2, 7: 1}
    assert "2 in format 2, 1 in format 7" in caplog.text and "knows format 1 only" in caplog.text


def test_take_and_hold_and_release_are_one_statement_each_on_postgresql(engine, queue, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes and releases in one write transaction of several statements")
    from lanner.store.job_holding import release, take_and_hold

    send(engine, queue, "worker", *_jobs("e1", "t1", "t2"), key="e1")
    queue.listen()  # the LISTEN connection is its own
    statements = []
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        taken = take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)
        release(engine, queue, "executor", results=[("main", "e1", {"v": 1}), ("acme", "e1", {"v": 1})],
                held=[("main", "t1", 1)], log_entries=[])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [m.payload["taskRunId"] for m in taken.jobs] == ["t1", "t2"]
    assert len(statements) == 2, statements  # one each, in autocommit
    assert sorted(m.tenant_id for m in consume(engine, queue, "executor")) == ["acme", "main"]
