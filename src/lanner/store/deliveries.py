"""Counted deliveries: a message that keeps failing its consumer is set aside, not delivered forever.

The queue (:mod:`lanner.store.queue`) has no leases: a consumer takes messages inside
the transaction that processes them, so a crash rolls the take back and the message is
taken again.  A message whose processing crashes the process (or hangs it until it is
killed, or raises every time) would be taken again forever, and, on the executor's
topic, block the executions behind it.  The executor therefore claims in two steps:

1. :func:`claim`, committed on its own: the oldest available messages get
   ``deliveries + 1`` and a short claim (``claimed_by``, ``claimed_until``) that keeps
   other claimers off them until the second step holds them.  If any of them was
   delivered before (its earlier delivery never completed), only the first such
   message is claimed, alone: a message that failed a batch is retried by itself,
   so that the healthy messages of the batch are not counted against it;
2. :func:`take`, in the transaction that processes them: the claimed messages are
   deleted there, so effects and acknowledgement still commit together.

A delivery that never completes (a crash, a kill, an exception) leaves its count behind;
a claim that finds a message delivered ``max-deliveries`` times already moves it to
``queue_set_aside`` (:func:`set_aside`) instead of delivering it again.  A claimer's
own claims are free to it at once (a batch that raised is retried without waiting);
those of a claimer that died are free after :data:`CLAIM_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.store.database import write_connection
from lanner.store.queue import Message, available, database_now, of_format, oldest
from lanner.store.tables import queue_messages, queue_set_aside
from lanner.timestamps import as_utc, instant

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.store.queue import Queue

# How long a claim keeps other claimers off (from step 1 to step 2 takes milliseconds):
# the messages of a claimer that died before step 2 wait this long to be claimed again.
CLAIM_SECONDS = 5.0
DEFAULT_MAX_DELIVERIES = 3

_q, _a = queue_messages, queue_set_aside
_COLUMNS = (_q.c.id, _q.c.topic, _q.c.key, _q.c.payload, _q.c.tenant_id)


@dataclass(frozen=True)
class Claim:
    id: int
    deliveries: int  # this one included
    tenant_id: str = ""
    key: str | None = None  # what the message is about (the executor's: an execution id)


def _claim_statement(postgres: bool) -> sa.Update:
    now = database_now(postgres)
    until = (sa.func.clock_timestamp() + sa.bindparam("lease", type_=sa.Interval) if postgres
             else sa.bindparam("until", type_=_q.c.claimed_until.type))
    claimer = sa.bindparam("claimer", type_=sa.String)
    free = sa.or_(_q.c.claimed_until.is_(None), _q.c.claimed_until < now, _q.c.claimed_by == claimer)
    # The queue's selection (lanner.store.queue), among the messages no other claimer holds.
    found = oldest(postgres, sa.and_(available(postgres), of_format(postgres), free),
                   _q.c.id, _q.c.deliveries, _q.c.tenant_id, _q.c.key).cte("candidates")
    # At most ``per_key`` messages of one key (execution) per claim: a large loop's results are
    # decided in several smaller batches, so that what is claimed beside them waits less.
    turn = sa.func.row_number().over(partition_by=(found.c.tenant_id, found.c.key), order_by=found.c.id)
    ranked = sa.select(found.c.id, found.c.deliveries, turn.label("turn")).subquery("ranked")
    first_again = sa.select(sa.func.min(found.c.id)).where(found.c.deliveries > 0).scalar_subquery()
    # A message delivered before is claimed alone, whatever its turn.
    chosen = sa.select(ranked.c.id).where(sa.or_(
        sa.and_(first_again.is_(None), ranked.c.turn <= sa.bindparam("per_key", type_=sa.Integer)),
        ranked.c.id == first_again))
    return (sa.update(_q).where(_q.c.id.in_(chosen))
            .values(deliveries=_q.c.deliveries + 1, claimed_by=claimer, claimed_until=until)
            .returning(_q.c.id, _q.c.deliveries, _q.c.tenant_id, _q.c.key))


_CLAIM_PG = _claim_statement(True)
_CLAIM_SQLITE = _claim_statement(False)
_TAKE = (sa.delete(_q)
         .where(_q.c.id.in_(sa.bindparam("ids", expanding=True)), _q.c.claimed_by == sa.bindparam("claimer"))
         .returning(*_COLUMNS))
_UNCOUNT = (sa.update(_q)
            .where(_q.c.id.in_(sa.bindparam("ids", expanding=True)), _q.c.claimed_by == sa.bindparam("claimer"),
                   _q.c.deliveries > 0)
            .values(deliveries=_q.c.deliveries - 1))


def claim(engine: Engine, queue: Queue, topic: str, limit: int, *, version: int, claimer: str,
          lease: float = CLAIM_SECONDS, per_key: int | None = None) -> list[Claim]:
    """Count a delivery of the oldest available messages of ``topic`` (payload format ``version``), committed.

    Returns them, oldest first, with their delivery counts; only one when one of them
    was delivered before.  ``per_key``: at most that many of one (tenant, key), the
    others left for the next claim.  Take them with :func:`take` in the processing transaction.
    """
    params: dict[str, Any] = {"from_topic": topic, "limit": limit, "version": version, "claimer": claimer,
                              "per_key": limit if per_key is None else per_key}
    if engine.dialect.name == "postgresql":
        queue.listen()  # before the query: what commits after it wakes the next wait
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(_CLAIM_PG, {**params, "lease": timedelta(seconds=lease)}).all()
    else:
        now = datetime.now(UTC)
        with write_connection(engine) as connection, connection.begin():
            rows = connection.execute(_CLAIM_SQLITE, {**params, "now": now,
                                                      "until": now + timedelta(seconds=lease)}).all()
    return sorted((Claim(row.id, row.deliveries, row.tenant_id, row.key) for row in rows),
                  key=lambda found: found.id)


def take(connection: Connection, ids: Sequence[int], claimer: str) -> list[Message]:
    """The claimed messages ``ids`` still claimed by ``claimer``, deleted in the caller's transaction."""
    if not ids:
        return []
    rows = connection.execute(_TAKE, {"ids": list(ids), "claimer": claimer})
    return sorted((Message(row.id, row.topic, row.key, row.payload, row.tenant_id) for row in rows),
                  key=lambda message: message.id)


def uncount(engine: Engine, ids: Sequence[int], claimer: str) -> None:
    """Take back the delivery counted for ``ids`` (their processing failed for a reason of the database's)."""
    if ids:
        with write_connection(engine) as connection, connection.begin():
            connection.execute(_UNCOUNT, {"ids": list(ids), "claimer": claimer})


def set_aside(connection: Connection, ids: Sequence[int], claimer: str, reasons: Mapping[int, str]) -> list[Message]:
    """Move the claimed messages ``ids`` to ``queue_set_aside`` with their reasons; returns them."""
    if not ids:
        return []
    rows = connection.execute(
        sa.delete(_q).where(_q.c.id.in_(list(ids)), _q.c.claimed_by == claimer)
        .returning(*_COLUMNS, _q.c.deliveries, _q.c.created_at)).all()
    if rows:
        connection.execute(sa.insert(_a), [
            {"tenant_id": row.tenant_id, "id": row.id, "topic": row.topic, "key": row.key, "payload": row.payload,
             "deliveries": row.deliveries, "reason": reasons.get(row.id, ""), "created_at": row.created_at}
            for row in rows])
    return sorted((Message(row.id, row.topic, row.key, row.payload, row.tenant_id) for row in rows),
                  key=lambda message: message.id)


@dataclass(frozen=True)
class SetAside:
    tenant_id: str
    id: int
    topic: str
    key: str | None
    payload: Any
    deliveries: int
    reason: str
    created_at: datetime
    set_aside_at: datetime

    def shape(self) -> dict[str, Any]:
        """As the API and ``lanner sys cluster set-aside`` show it: without the payload, which may carry a
        task's outputs or resume inputs."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        return {"id": self.id, "tenantId": self.tenant_id, "topic": self.topic, "key": self.key,
                "executionId": _text(payload.get("executionId")), "type": _text(payload.get("type")),
                "deliveries": self.deliveries, "reason": self.reason, "createdAt": _shown(self.created_at),
                "setAsideAt": _shown(self.set_aside_at)}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _shown(moment: datetime) -> str:
    # SQLite gives back naive UTC; PostgreSQL's session zone is shown as it comes.
    return instant(moment if moment.tzinfo is not None else as_utc(moment))


def count(connection: Connection) -> int | None:
    """How many messages are set aside; None on a schema that has no such table yet."""
    if not sa.inspect(connection).has_table(_a.name):
        return None
    return connection.execute(sa.select(sa.func.count()).select_from(_a)).scalar_one()


def listed(connection: Connection, limit: int = 100) -> list[SetAside]:
    """The set-aside messages, most recently set aside first."""
    rows = connection.execute(sa.select(_a).order_by(_a.c.set_aside_at.desc(), _a.c.id.desc()).limit(limit))
    return [SetAside(**row._mapping) for row in rows]


def delete(connection: Connection, ids: Sequence[int] | None = None) -> int:
    """Forget set-aside messages (``ids``, or all of them); returns how many were deleted."""
    statement = sa.delete(_a)
    if ids is not None:
        statement = statement.where(_a.c.id.in_(list(ids)))
    return connection.execute(statement).rowcount
