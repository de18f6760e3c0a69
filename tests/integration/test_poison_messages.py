"""Poison messages, on both backends: every delivery to the executor is counted before it is processed,
a message whose deliveries never complete is retried alone, then set aside and its execution failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lanner.engine.core.creation import new_execution
from lanner.engine.core.decide import Start
from lanner.engine.shell import messages
from lanner.engine.shell.executor import Executor
from lanner.engine.shell.flow_cache import FlowCache
from lanner.engine.shell.service import Executions, start_many
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import deliveries, flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.tables import queue_messages, queue_set_aside

HELLO = """id: hello
namespace: lanner.poison
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: hello
"""
# No executionId: the executor cannot even tell which execution it is for (it raises grouping its batch).
CORRUPT = {"v": messages.FORMAT, "tenantId": "main", "type": "start"}


@pytest.fixture
def queue(engine):
    with Queue(engine) as queue:
        yield queue


def deploy(engine) -> None:
    validation = validate_source(HELLO)
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validation.flow, HELLO)


def created(engine, queue):
    """A CREATED execution of ``hello`` whose start message waits for an executor."""
    with engine.connect() as connection:
        flow, revision = FlowCache().current(connection, "lanner.poison", "hello", "main")
    execution = new_execution(flow, revision, inputs={}, labels={}, trigger=None, tenant_id="main",
                              now=datetime.now(UTC))
    with write_connection(engine) as connection, connection.begin():
        start_many(connection, queue, [execution])
    return execution


def send(engine, queue, payload) -> None:
    with write_connection(engine) as connection, connection.begin():
        queue.send(connection, messages.EXECUTOR, payload)


def counts(engine) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(queue_messages.c.id, queue_messages.c.deliveries)
                                       .where(queue_messages.c.topic == messages.EXECUTOR)).all())


def aside(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(queue_set_aside)).all()


def claim(engine, queue, claimer, limit=100):
    return deliveries.claim(engine, queue, messages.EXECUTOR, limit, version=messages.FORMAT, claimer=claimer,
                            lease=0)


def test_a_delivery_that_never_completes_stays_counted_and_the_message_is_then_retried_alone(engine, queue):
    for number in range(3):
        send(engine, queue, messages.event_payload(f"e{number}", Start()))
    first = claim(engine, queue, "dead-executor")
    assert [found.deliveries for found in first] == [1, 1, 1]
    with write_connection(engine) as connection:  # the processing transaction, then a crash: rolled back
        transaction = connection.begin()
        assert len(deliveries.take(connection, [found.id for found in first], "dead-executor")) == 3
        transaction.rollback()
    assert sorted(counts(engine).values()) == [1, 1, 1]
    # Another executor: the messages of that failed delivery come back one at a time, counted again.
    again = claim(engine, queue, "other-executor")
    assert [(found.id, found.deliveries) for found in again] == [(first[0].id, 2)]


def test_a_claim_keeps_other_executors_off_until_it_is_taken_or_expires(engine, queue):
    send(engine, queue, messages.event_payload("e1", Start()))
    held = deliveries.claim(engine, queue, messages.EXECUTOR, 10, version=messages.FORMAT, claimer="a", lease=60)
    assert len(held) == 1
    assert claim(engine, queue, "b") == []  # not counted twice while "a" is between its claim and its take
    assert [found.deliveries for found in claim(engine, queue, "a")] == [2]  # its own: free to it at once


def test_a_message_that_raises_is_set_aside_after_max_deliveries_and_the_rest_goes_on(engine, queue):
    deploy(engine)
    send(engine, queue, CORRUPT)
    execution = created(engine, queue)  # its start message is in the same batch, after the corrupt one
    executor = Executor(engine, queue, max_deliveries=3)
    for _ in range(3):  # the batch, then the corrupt message alone, twice
        with pytest.raises(KeyError):
            executor.process_batch()
    service = Executions(engine, queue)
    assert service.get(execution.id).current is State.CREATED
    assert executor.process_batch() == 1  # the fourth delivery: set aside, not processed
    (row,) = aside(engine)
    assert row.deliveries == 4 and row.payload == CORRUPT
    assert row.reason == "set aside after 3 deliveries that did not complete; the last one: processing it raised " \
                         "KeyError: 'executionId'"
    assert executor.process_batch() == 1  # the start, counted against nothing of the corrupt message's
    assert service.get(execution.id).current is State.RUNNING
    assert counts(engine) == {}  # its job went to the workers' topic


def test_an_execution_whose_message_exhausted_its_deliveries_is_failed_with_the_reason(engine, queue):
    deploy(engine)
    execution = created(engine, queue)
    for number in range(3):  # three executors claimed it and died before completing it
        assert [found.deliveries for found in claim(engine, queue, f"dead-{number}")] == [number + 1]
    executor = Executor(engine, queue, max_deliveries=3)
    assert executor.process_batch() == 1
    service = Executions(engine, queue)
    failed = service.get(execution.id)
    assert failed.current is State.FAILED
    (line,) = [entry for entry in service.logs(execution.id) if entry.level == "ERROR"]
    assert line.message == ("a message for this execution was set aside after 3 deliveries that did not complete; "
                            "the last one: the executor stopped while processing it (it crashed, or was killed or "
                            "stopped by a timeout)")
    (row,) = aside(engine)
    assert row.payload["executionId"] == execution.id and row.deliveries == 4
    with engine.connect() as connection:
        assert deliveries.count(connection) == 1
        assert deliveries.listed(connection)[0].shape()["executionId"] == execution.id
    with write_connection(engine) as connection, connection.begin():
        assert deliveries.delete(connection) == 1
    assert aside(engine) == []


def test_a_batch_the_database_failed_is_not_counted_against_its_messages(engine, queue):
    send(engine, queue, messages.event_payload("e1", Start()))
    executor = Executor(engine, queue)
    (found,) = deliveries.claim(engine, queue, messages.EXECUTOR, 10, version=messages.FORMAT,
                                claimer=executor.claimer)
    lost = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    executor._failed_delivery([found.id], lost)
    assert counts(engine) == {found.id: 0}
    executor._failed_delivery([found.id], ValueError("a bug"))
    assert counts(engine) == {found.id: 0} and executor.last_error(found.id) == "ValueError: a bug"
