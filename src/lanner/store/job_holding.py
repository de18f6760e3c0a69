"""Taking jobs from the queue and recording their holder, as one atomic step.

A job is always either queued or held by a named worker (``worker_jobs_running``):
that is what lets a dead worker's jobs be resubmitted.  On PostgreSQL both happen in
one autocommit statement (one round trip); on SQLite, in one write transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner.store import execution_repository as repo
from lanner.store.engine import write_connection
from lanner.store.queue import Message
from lanner.store.tables import queue_messages, worker_jobs_running

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.store.queue import Queue

_q, _j = queue_messages.name, worker_jobs_running.name
# The job payload names its attempt (lanner.engine.messages.job_payload).
_TAKE_AND_HOLD_PG = sa.text(f"""
WITH taken AS (
    DELETE FROM {_q} WHERE id IN (
        SELECT id FROM {_q}
        WHERE topic = :topic AND available_at <= clock_timestamp() AND (payload ->> 'v')::int = :version
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id, topic, key, payload, tenant_id),
held AS (
    INSERT INTO {_j} (tenant_id, task_run_id, attempt, execution_id, worker_id, payload, taken_at)
    SELECT tenant_id, payload ->> 'taskRunId', (payload ->> 'attempt')::int, payload ->> 'executionId',
           :worker_id, payload, clock_timestamp()
    FROM taken
    ON CONFLICT (tenant_id, task_run_id, attempt) DO UPDATE
    SET execution_id = excluded.execution_id, worker_id = excluded.worker_id,
        payload = excluded.payload, taken_at = excluded.taken_at)
SELECT id, topic, key, payload, tenant_id FROM taken ORDER BY id
""").columns(sa.column("id"), sa.column("topic"), sa.column("key"), sa.column("payload", worker_jobs_running.c.payload.type),
             sa.column("tenant_id"))


def take_and_hold(engine: Engine, queue: Queue, topic: str, limit: int, *, worker_id: str,
                  version: int) -> list[Message]:
    """Up to ``limit`` jobs of payload format ``version``, now held by ``worker_id``, oldest first."""
    if engine.dialect.name == "postgresql":
        queue.listen()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(_TAKE_AND_HOLD_PG, {"topic": topic, "limit": limit, "version": version,
                                                          "worker_id": worker_id}).all()
        return [Message(row.id, row.topic, row.key, row.payload, row.tenant_id) for row in rows]
    with write_connection(engine) as connection, connection.begin():
        taken = queue.take(connection, topic, limit, version=version)
        repo.record_running_jobs(connection, [
            {"tenant_id": m.tenant_id, "task_run_id": m.payload["taskRunId"], "attempt": int(m.payload["attempt"]),
             "execution_id": m.payload["executionId"], "worker_id": worker_id, "payload": m.payload}
            for m in taken])
    return taken
