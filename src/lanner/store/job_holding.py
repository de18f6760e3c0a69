"""A worker's two writes: taking jobs (and holding them), releasing them with their results.

A job is always either queued or held by a named worker (``worker_jobs_running``):
that is what lets a dead worker's jobs be resubmitted.  Taking deletes the message and
records the holder; releasing records the results, the attempts' last log lines, and
forgets the holding; each is atomic.  (Lines printed while an attempt runs are written
before, in batches, by the worker's log flusher: ``lanner.engine.shell.log_buffer``.)  On
PostgreSQL each is one autocommit statement (one round trip, no BEGIN); on SQLite, one
write transaction.  Which messages are taken is the queue's rule (:mod:`lanner.store.queue`:
its selection, which the PostgreSQL statement wraps in CTEs; ``Queue.take`` on SQLite), and
results are sent with the queue's insert.

Jobs are taken fairly across executions (a job message's key is its execution): among
the oldest ``FAIR_WINDOW`` queued jobs, the oldest job of each execution first, then the
second of each, and so on.  An execution with many jobs queued (a loop's window of
iterations) does not make a small execution's task wait behind all of them, and the loop
itself loses nothing: the worker is as busy as before.

Taking checks maintenance mode in the same statement (transaction on SQLite): while it is
on, nothing is taken, and the taker is told so (:class:`Taken`).  Jobs sent meanwhile wait
in the queue, in order, until it is left.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from lanner.store import execution_repository as repo
from lanner.store import log_lines, maintenance_flag
from lanner.store.database import write_connection
from lanner.store.queue import (
    CHANNEL,
    FAIR_WINDOW,
    SEND_FROM_JSON_PG,
    WHOLE_NUMBER,
    Message,
    Outgoing,
    available,
    fairest,
    of_format,
    oldest,
    taking,
)
from lanner.store.tables import queue_messages, queue_set_aside, worker_jobs_running
from lanner.timestamps import offset_iso

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.store.queue import Queue

_q, _j, _a = queue_messages, worker_jobs_running, queue_set_aside
# A job message names its attempt (lanner.engine.shell.messages.job_payload): a payload of this
# format ("v") that does not (a bug, or a hand-edited row) could never be held, and a take
# that tried would fail for every worker, forever.  Such messages are set aside instead
# (queue_set_aside, with MALFORMED as the reason), as are payloads whose "v" is no number;
# the rest of the batch is taken.  (CASE, because PostgreSQL may evaluate AND's operands
# in any order: a cast must only meet text the pattern let through; coalesce, because a
# missing key is NULL, not false.)
MALFORMED = ("a job message that names no task run, execution or attempt (taskRunId, executionId, attempt) "
             "cannot be run or held; it was set aside instead of being taken")


def _shaped_pg() -> sa.ColumnElement[bool]:
    payload = sa.type_coerce(_q.c.payload, JSONB)
    # "->" spelled out: the same expression on every server (SQLAlchemy writes payload['x'] on 14+).
    return sa.func.coalesce(sa.and_(sa.func.jsonb_typeof(payload.op("->")("taskRunId")) == "string",
                                    sa.func.jsonb_typeof(payload.op("->")("executionId")) == "string",
                                    payload["attempt"].astext.regexp_match(WHOLE_NUMBER)), sa.false())


def _malformed_pg() -> sa.ColumnElement[bool]:
    v = sa.type_coerce(_q.c.payload, JSONB)["v"].astext
    return sa.case((v.regexp_match(WHOLE_NUMBER), sa.and_(of_format(True), sa.not_(_shaped_pg()))),
                   else_=sa.true())


def _take_and_hold_pg() -> sa.Select[Any]:
    """One statement: the maintenance flag, malformed messages set aside, the fair take (the
    queue's selection), and the holding.  ``paused`` has one row, so the answer always has
    one: a job per row, or one row of NULLs and the flag."""
    paused = maintenance_flag.taking_paused_pg()
    takable = sa.and_(available(True), sa.not_(sa.select(paused.c.held_back).scalar_subquery()))
    malformed = taking(oldest(True, sa.and_(takable, _malformed_pg())),
                       *_q.c["id", "topic", "key", "payload", "tenant_id", "deliveries", "created_at"]).cte("malformed")
    aside = sa.insert(_a).from_select(
        ["tenant_id", "id", "topic", "key", "payload", "deliveries", "reason", "created_at"],
        sa.select(malformed.c.tenant_id, malformed.c.id, malformed.c.topic, malformed.c.key, malformed.c.payload,
                  malformed.c.deliveries + 1, sa.bindparam("aside_reason", type_=sa.Text),
                  malformed.c.created_at)).cte("aside")
    taken = taking(fairest(True, sa.and_(takable, of_format(True), _shaped_pg())),
                   *_q.c["id", "topic", "key", "payload", "tenant_id"]).cte("taken")
    job = sa.type_coerce(taken.c.payload, JSONB)
    holding = postgresql.insert(_j).from_select(
        ["tenant_id", "task_run_id", "attempt", "execution_id", "worker_id", "payload", "taken_at"],
        sa.select(taken.c.tenant_id, job["taskRunId"].astext, sa.cast(job["attempt"].astext, sa.Integer),
                  job["executionId"].astext, sa.bindparam("worker_id", type_=sa.String), taken.c.payload,
                  sa.func.clock_timestamp()))
    held = holding.on_conflict_do_update(
        index_elements=["tenant_id", "task_run_id", "attempt"],
        set_={name: holding.excluded[name] for name in ("execution_id", "worker_id", "payload", "taken_at")},
    ).cte("held")
    return (sa.select(*taken.c["id", "topic", "key", "payload", "tenant_id"], paused.c.held_back.label("paused"),
                      sa.select(sa.func.count()).select_from(malformed).scalar_subquery().label("malformed"))
            .select_from(paused.outerjoin(taken, sa.true())).order_by(taken.c.id).add_cte(aside, held))


_TAKE_AND_HOLD_PG = _take_and_hold_pg()


def shaped(payload: Any) -> bool:
    """Whether a job payload names its task run, execution and attempt (what holding it needs)."""
    if not isinstance(payload, dict):
        return False
    attempt = payload.get("attempt")
    return (isinstance(payload.get("taskRunId"), str) and isinstance(payload.get("executionId"), str)
            and ((isinstance(attempt, int) and not isinstance(attempt, bool) and attempt >= 0)
                 or (isinstance(attempt, str) and attempt.isascii() and attempt.isdigit() and len(attempt) <= 9)))


@dataclass(frozen=True)
class Taken:
    """What one take got: the jobs (in id order), and whether maintenance mode held back the rest."""

    jobs: list[Message]
    paused: bool = False
    set_aside: int = 0  # malformed job messages moved to queue_set_aside by this take


def take_and_hold(engine: Engine, queue: Queue, topic: str, limit: int, *, worker_id: str,
                  version: int) -> Taken:
    """Up to ``limit`` jobs of payload format ``version``, now held by ``worker_id``, fairly across
    executions (the oldest job of each first);
    none while maintenance mode is on (checked by the statement that takes them)."""
    if engine.dialect.name == "postgresql":
        queue.listen()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(_TAKE_AND_HOLD_PG, {"from_topic": topic, "limit": limit, "version": version,
                                                          "window": FAIR_WINDOW, "worker_id": worker_id,
                                                          "aside_reason": MALFORMED}).all()
        return Taken([Message(row.id, row.topic, row.key, row.payload, row.tenant_id) for row in rows
                      if row.id is not None], paused=bool(rows and rows[0].paused),
                     set_aside=int(rows[0].malformed) if rows else 0)
    with write_connection(engine) as connection, connection.begin():
        if maintenance_flag.is_on(connection):  # the write lock is held: enter and exit wait for us
            return Taken([], paused=True)
        # (SQLite compares "v" as JSON: a payload whose "v" is no number is never taken, and blocks nothing.)
        taken = queue.take(connection, topic, limit, version=version, fair=True)
        malformed = [m for m in taken if not shaped(m.payload)]
        if malformed:
            taken = [m for m in taken if shaped(m.payload)]
            connection.execute(sa.insert(queue_set_aside), [
                {"tenant_id": m.tenant_id, "id": m.id, "topic": m.topic, "key": m.key, "payload": m.payload,
                 "deliveries": 1, "reason": MALFORMED, "created_at": m.sent_at} for m in malformed])
        repo.record_running_jobs(connection, [
            {"tenant_id": m.tenant_id, "task_run_id": m.payload["taskRunId"], "attempt": int(m.payload["attempt"]),
             "execution_id": m.payload["executionId"], "worker_id": worker_id, "payload": m.payload}
            for m in taken])
    return Taken(taken, set_aside=len(malformed))


# The queue's send (SEND_FROM_JSON_PG, rows of any tenants) and its notification, with the rest.
_RELEASE_PG = sa.text(f"""
WITH logged AS ({log_lines.INSERT_FROM_JSON}),
sent AS ({SEND_FROM_JSON_PG}),
released AS (
    DELETE FROM {_j.name} AS t USING jsonb_to_recordset(CAST(:held AS jsonb)) AS h(tenant_id varchar,
        task_run_id varchar, attempt int)
    WHERE t.tenant_id = h.tenant_id AND t.task_run_id = h.task_run_id AND t.attempt = h.attempt)
SELECT pg_notify(:channel, :topic)
""")


def release(engine: Engine, queue: Queue, topic: str, *, results: Sequence[tuple[str, str, dict[str, Any]]],
            held: Sequence[tuple[str, str, int]], log_entries: Sequence[log_lines.LogEntry]) -> None:
    """Send ``results`` (tenant, key, payload) to ``topic``, forget the ``held`` jobs (tenant,
    task run, attempt) and write what remains of the attempts' log lines, all or nothing (the
    lines an attempt printed while it ran were written by the worker's log flusher already)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(_RELEASE_PG, {
                "topic": topic, "channel": CHANNEL,
                "logs": log_lines.json_rows(log_entries),
                "rows": _json([{"tenant_id": t, "key": k, "payload": p} for t, k, p in results]),
                "delay": timedelta(0),
                "held": _json([{"tenant_id": t, "task_run_id": r, "attempt": a} for t, r, a in held])})
        return
    with write_connection(engine) as connection, connection.begin():
        log_lines.append_logs(connection, log_entries)
        queue.send_many(connection, topic, [Outgoing(t, k, p) for t, k, p in results])
        repo.forget_running_jobs(connection, [{"tenant_id": t, "task_run_id": r, "attempt": a} for t, r, a in held])


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return offset_iso(value)
    raise TypeError(f"cannot store {type(value).__name__}")
