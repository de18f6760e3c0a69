"""The executor's claims: at most ``per_key`` messages of one execution, light executions first."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lanner.engine.shell.executor import HEAVY, light_first
from lanner.store import deliveries
from lanner.store.database import write_connection
from lanner.store.queue import Outgoing, Queue
from lanner.store.tables import queue_messages


@pytest.fixture
def queue(engine):
    with Queue(engine) as queue:
        yield queue


def send(engine, queue, *keys):
    with write_connection(engine) as connection, connection.begin():
        queue.send_many(connection, "executor", [Outgoing("main", key, {"v": 1, "n": n})
                                                 for n, key in enumerate(keys)])


def claim(engine, queue, per_key=None):
    return deliveries.claim(engine, queue, "executor", 100, version=1, claimer="me", per_key=per_key)


def test_a_claim_takes_at_most_per_key_messages_of_one_execution_and_leaves_the_rest(engine, queue):
    send(engine, queue, *["loop"] * 5, "small", *["loop"] * 3)
    first = claim(engine, queue, per_key=2)
    assert [c.key for c in first] == ["loop", "loop", "small"]
    with write_connection(engine) as connection, connection.begin():
        deliveries.take(connection, [c.id for c in first], "me")
    assert [c.key for c in claim(engine, queue, per_key=2)] == ["loop", "loop"]


def test_a_message_delivered_before_is_claimed_alone_even_behind_an_older_one_of_its_execution(engine, queue):
    with write_connection(engine) as connection, connection.begin():  # a timer, due in an hour
        queue.send_many(connection, "executor", [Outgoing("main", "loop", {"v": 1, "n": "timer"})], delay=3600)
    send(engine, queue, "loop")
    [delivered] = claim(engine, queue, per_key=1)  # its processing never completes
    with write_connection(engine) as connection, connection.begin():  # the timer falls due
        connection.execute(sa.update(queue_messages).where(queue_messages.c.id != delivered.id)
                           .values(available_at=queue_messages.c.available_at - timedelta(hours=2)))
    # The timer is now the execution's oldest message, so the one delivered before has the second
    # turn: a limit of one per execution must not keep it (and everything after it) from its retry.
    again = claim(engine, queue, per_key=1)
    assert [(c.id, c.deliveries) for c in again] == [(delivered.id, 2)]


def test_light_executions_come_first_and_an_executions_messages_stay_together():
    claimed = ([deliveries.Claim(n, 1, "main", "loop") for n in range(1, HEAVY + 2)]
               + [deliveries.Claim(100, 1, "main", "small"), deliveries.Claim(101, 1, "other", "loop")])
    light, heavy = light_first(claimed)
    assert light == [100, 101]  # another tenant's "loop" is another execution
    assert heavy == list(range(1, HEAVY + 2))
