"""Malformed job messages, on both backends: a take sets them aside and takes the rest of its batch,
instead of failing for every worker forever; a job whose task cannot be read fails its attempt."""

from __future__ import annotations

import sqlalchemy as sa

from lanner.engine.core.decide import Job
from lanner.engine.shell import messages
from lanner.engine.shell.worker import _readable
from lanner.store import job_holding
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.tables import queue_messages, queue_set_aside, worker_jobs_running

TASK = {"id": "say", "type": "io.kestra.plugin.core.debug.Return", "format": "hi"}


def good(run: str) -> dict:
    return messages.job_payload(Job("exec-1", run, 1, TASK, {"inputs": {}}, None), "main", "ns", "flow")


def send(engine, queue, payloads) -> None:
    with write_connection(engine) as connection, connection.begin():
        for payload in payloads:
            queue.send(connection, messages.WORKER, payload)


def test_malformed_job_messages_are_set_aside_and_the_rest_of_the_batch_is_taken(engine):
    no_run = {k: v for k, v in good("tr-x").items() if k != "taskRunId"}
    bad_attempt = {**good("tr-y"), "attempt": "first"}
    with Queue(engine) as queue:
        send(engine, queue, [good("tr-1"), no_run, bad_attempt, good("tr-2")])
        taken = job_holding.take_and_hold(engine, queue, messages.WORKER, 10, worker_id="w1",
                                          version=messages.FORMAT)
    assert [m.payload["taskRunId"] for m in taken.jobs] == ["tr-1", "tr-2"]
    assert taken.set_aside == 2
    with engine.connect() as connection:
        aside = connection.execute(sa.select(queue_set_aside).order_by(queue_set_aside.c.id)).all()
        held = connection.execute(sa.select(worker_jobs_running.c.task_run_id)).scalars().all()
        left = connection.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar_one()
    assert [row.payload for row in aside] == [no_run, bad_attempt]
    assert all(row.reason == job_holding.MALFORMED and row.created_at is not None for row in aside)
    assert sorted(held) == ["tr-1", "tr-2"] and left == 0


def test_a_payload_of_another_format_stays_for_a_worker_that_knows_it(engine):
    newer = {**good("tr-new"), "v": messages.FORMAT + 1}
    with Queue(engine) as queue:
        send(engine, queue, [newer])
        taken = job_holding.take_and_hold(engine, queue, messages.WORKER, 10, worker_id="w1",
                                          version=messages.FORMAT)
    assert taken.jobs == [] and taken.set_aside == 0
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar_one() == 1
        assert connection.execute(sa.select(sa.func.count()).select_from(queue_set_aside)).scalar_one() == 0


def test_a_job_whose_task_cannot_be_read_fails_its_attempt_with_the_reason():
    payload = {k: v for k, v in good("tr-1").items() if k != "variables"}
    attempt = _readable(payload)
    assert attempt.job.task_run_id == "tr-1" and attempt.job.attempt == 1
    assert attempt.problem == ("the job message for this attempt cannot be read (KeyError: 'variables'); "
                               "it was not run")
    assert _readable(good("tr-2")).problem is None


def test_a_payload_whose_format_is_no_number_blocks_no_take(engine):
    odd = {**good("tr-odd"), "v": "one"}
    with Queue(engine) as queue:
        send(engine, queue, [odd, good("tr-1")])
        taken = job_holding.take_and_hold(engine, queue, messages.WORKER, 10, worker_id="w1",
                                          version=messages.FORMAT)
    assert [m.payload["taskRunId"] for m in taken.jobs] == ["tr-1"]
    with engine.connect() as connection:
        aside = connection.execute(sa.select(queue_set_aside.c.payload)).scalars().all()
        left = connection.execute(sa.select(queue_messages.c.payload)).scalars().all()
    # PostgreSQL reads "v" as text and sets it aside; SQLite compares it as JSON and never takes it.
    assert (aside, left) == (([odd], []) if engine.dialect.name == "postgresql" else ([], [odd]))
