"""The database queue: messages between components, consumed inside the consumer's transaction.

A message is a row of ``queue_messages``.  The protocol has no leases:

1. a producer ``send``s inside its own transaction, so the message exists exactly when
   the state change that caused it is committed;
2. a consumer opens a write transaction, ``take``s the oldest available messages of a
   topic (one statement selects and deletes them: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
   so concurrent consumers never get the same row; on SQLite the transaction holds the
   database's write lock), processes them, writes its effects and commits.  A crash or a
   rollback puts the messages back, to be taken again: effects and consumption commit
   together or not at all.

Which messages a reader gets is defined once, below (:func:`available`, :func:`of_format`,
:func:`oldest`, :func:`fairest`, :func:`taking`): :meth:`Queue.take` uses them, and so do the
two readers with statements of their own, the worker's take-and-hold
(:mod:`lanner.store.job_holding`, one autocommit statement on PostgreSQL) and the executor's
counted claim (:mod:`lanner.store.deliveries`, which counts a delivery before the take so
that a message that keeps failing its consumer is set aside instead of taken forever).

Consumed rows are deleted rather than marked: Kestra's JDBC queue kept them and its
table grew to hundreds of gigabytes.  Takes return ascending ids among the committed
messages; a transaction that took id 5 may commit after one that took id 6, so ids order
messages of one producer, not of the whole system.

Waking consumers.  ``wait(topic, timeout)`` blocks until a message may be available:

* PostgreSQL: ``send`` issues ``NOTIFY lanner_queue, '<topic>'`` in the statement that
  inserts the messages (PostgreSQL delivers it at commit, drops it on rollback, even of a
  savepoint, and collapses duplicates within a transaction).  Each ``Queue``
  keeps one autocommit connection ``LISTEN``ing, read by a daemon thread.  It is opened
  by the first ``take`` or ``wait`` (or ``listen``), before the take's query, so a message
  committed after a take always wakes the next wait; after a reconnection every topic is
  woken, since notifications may have been lost.
* SQLite (one machine): ``send`` marks the topic on the connection, and the connection's
  ``commit`` event wakes the waiters of every ``Queue`` on the same database file in this
  process.  The event fires as the commit starts; the sender still holds the write lock,
  so a consumer's take (a write transaction) runs after the commit and sees the message.
  Senders in other processes are noticed within milliseconds by ``sqlite_watch``, which
  watches ``PRAGMA data_version`` and wakes the topics that hold messages.

A notification is counted per topic, and each waiting thread remembers the count it last
saw: one that arrives while the thread is busy (between its take and its next wait)
makes that wait return at once, whatever topic other threads were waiting on.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.dml import ReturningDelete

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store.database import process_label, sqlite_path
from lanner.store.sqlite_watch import CommitWatcher
from lanner.store.tables import queue_messages

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

CHANNEL = "lanner_queue"
# How long a first take or wait waits for LISTEN to be in place before going on without it.
LISTEN_READY_TIMEOUT = 5.0
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
_PENDING = "lanner_queue_pending"  # Connection.info key: topics sent in the open transaction

_q = queue_messages
_COLUMNS = (_q.c.id, _q.c.topic, _q.c.key, _q.c.payload, _q.c.tenant_id)
_INSERT = sa.insert(_q)
# The insert of a send on PostgreSQL, from JSON rows (tenant_id, key, payload), for every
# statement that sends: any number of messages, of any tenants, in one round trip and one
# prepared statement whatever the count.  "now" comes from the database clock, so producers'
# clocks need not agree.  Parameters: ``rows`` (JSON text or JSONB), ``topic``, ``delay``.
SEND_FROM_JSON_PG = (
    f"INSERT INTO {_q.name} (tenant_id, topic, key, payload, available_at) "
    "SELECT r.tenant_id, :topic, r.key, r.payload, clock_timestamp() + :delay "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(tenant_id varchar, key varchar, payload jsonb)")
# PostgreSQL folds identical notifications of one transaction into one, and drops them with
# a savepoint rolled back, so every send notifies.
_SEND_PG = sa.text(f"WITH sent AS ({SEND_FROM_JSON_PG}) SELECT pg_notify(:channel, :topic)").bindparams(
    sa.bindparam("rows", type_=JSONB), sa.bindparam("delay", type_=sa.Interval),
    sa.bindparam("topic", type_=sa.String), sa.bindparam("channel", CHANNEL, type_=sa.String))
_NOTIFY = sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("topic", type_=sa.String)))
_WITHDRAW = (sa.delete(_q)
             .where(_q.c.tenant_id == sa.bindparam("tenant_id"), _q.c.key == sa.bindparam("key"),
                    _q.c.topic == sa.bindparam("topic"))
             .returning(*_COLUMNS))

# --- Which messages a reader gets: the one definition every reader of the queue uses ----
#
# Bound parameters: ``from_topic`` (not ``topic``: an UPDATE of the queue reserves its column
# names), ``limit``, ``version`` (the payload format), ``window`` (fair selections), and ``now``
# on SQLite.

# Taking fairly (the worker's jobs, keyed by execution): among the oldest FAIR_WINDOW
# available messages, the oldest of each key first, then the second of each, and so on, so
# that a key with many messages queued (a loop's iterations) does not make the others wait
# behind all of them.  The window bounds the work of each take.
FAIR_WINDOW = 2000
# A whole number as JSON text, small enough for an int: what a cast may safely meet.
WHOLE_NUMBER = "^[0-9]{1,9}$"


def database_now(postgres: bool) -> sa.ColumnElement[datetime]:
    """The time messages become available against: the database's clock on PostgreSQL
    (``clock_timestamp()``, not ``now()``, which is the start of the reader's transaction);
    the reader's (``now``) on SQLite, where everything runs on one machine."""
    if postgres:
        return sa.func.clock_timestamp()
    return sa.bindparam("now", type_=_q.c.available_at.type)


def available(postgres: bool) -> sa.ColumnElement[bool]:
    """Messages of ``from_topic`` whose time has come (delayed ones wait for it)."""
    return sa.and_(_q.c.topic == sa.bindparam("from_topic", type_=sa.String),
                   _q.c.available_at <= database_now(postgres))


def of_format(postgres: bool) -> sa.ColumnElement[bool]:
    """Payloads in the reader's format (``"v"`` equal to ``version``): the others wait for a
    reader that knows theirs (two Lanner versions side by side in a rolling upgrade).

    PostgreSQL reads ``"v"`` as text; CASE, because it may evaluate AND's operands in any
    order, so the cast must only meet text the pattern let through (other text gives NULL,
    never equal): a payload whose ``"v"`` is no number is not taken, instead of failing the
    statement.  An equality still, which the planner estimates as it did the plain cast's
    (a boolean CASE would be estimated far less selective, and change the plans).  SQLite
    compares it as JSON, which never fails.
    """
    version: sa.BindParameter[int] = sa.bindparam("version", type_=sa.Integer)
    if not postgres:
        as_json: sa.ColumnElement[bool] = _q.c.payload["v"].as_integer() == version
        return as_json
    text = sa.type_coerce(_q.c.payload, JSONB)["v"].astext
    number: sa.Case[int] = sa.case((text.regexp_match(WHOLE_NUMBER), sa.cast(text, sa.Integer)))
    return number == version


def oldest(postgres: bool, where: sa.ColumnElement[bool], *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The oldest ``limit`` messages ``where`` (their ids, or ``columns``), in id order; on
    PostgreSQL locked, skipping those another transaction holds."""
    chosen = sa.select(*(columns or (_q.c.id,))).where(where).order_by(_q.c.id).limit(
        sa.bindparam("limit", type_=sa.Integer))
    return chosen.with_for_update(skip_locked=True) if postgres else chosen


def fairest(postgres: bool, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """The ids of ``limit`` messages ``where``, fairly across keys: among the oldest ``window``,
    the oldest of each (tenant, key) first, then the second of each... (see FAIR_WINDOW)."""
    window = (sa.select(_q.c.id, _q.c.tenant_id, _q.c.key).where(where).order_by(_q.c.id)
              .limit(sa.bindparam("window", type_=sa.Integer)).subquery("oldest"))
    turn = sa.func.row_number().over(partition_by=(window.c.tenant_id, window.c.key), order_by=window.c.id)
    ranked = sa.select(window.c.id, turn.label("turn")).subquery("ranked")
    chosen = (sa.select(_q.c.id).join(ranked, ranked.c.id == _q.c.id).order_by(ranked.c.turn, _q.c.id)
              .limit(sa.bindparam("limit", type_=sa.Integer)))
    return chosen.with_for_update(skip_locked=True, of=_q) if postgres else chosen


def taking(chosen: sa.Select[Any], *columns: sa.ColumnElement[Any]) -> ReturningDelete[Any]:
    """Delete the messages ``chosen`` (a selection of ids) and return them, with ``columns``
    (as the :class:`Message` and when it was sent, by default)."""
    # Materialized: selected (and locked) once.  As a plain subquery, PostgreSQL may run it
    # again for the DELETE's rows, and a locking, LIMITed selection run twice can name more
    # rows than its limit: a worker then took more jobs than it had free threads.
    ids = chosen.cte().prefix_with("MATERIALIZED")
    return sa.delete(_q).where(_q.c.id.in_(sa.select(ids.c.id))).returning(
        *(columns or (*_COLUMNS, _q.c.created_at)))


def _take_statement(postgres: bool, version: bool, fair: bool) -> ReturningDelete[Any]:
    where = sa.and_(available(postgres), of_format(postgres)) if version else available(postgres)
    return taking(fairest(postgres, where) if fair else oldest(postgres, where))


# (PostgreSQL?, of one format?, fairly?): Queue.take's statement.  A fair take is of one format.
_TAKES = {(postgres, version, fair): _take_statement(postgres, version, fair)
          for postgres in (True, False) for version in (True, False) for fair in (True, False) if version or not fair}


@dataclass(frozen=True)
class Message:
    id: int
    topic: str
    key: str | None
    payload: dict[str, Any]
    tenant_id: str
    sent_at: datetime | None = None  # when it was sent (as taken; not known to every reader)


@dataclass(frozen=True)
class Outgoing:
    """A message to send: the tenant it belongs to, its key (what it is about: an execution) and payload."""

    tenant_id: str
    key: str | None
    payload: dict[str, Any]


class Queue:
    """Send, take and wait for messages on one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._signals = _Signals()
        self._lock = threading.Lock()
        self._listener: _Listener | None = None
        self._closed = False
        self._signal_topics: set[str] = set()
        self._bus_key = None if self._postgres else _local_bus_join(engine, self._signals)
        path = sqlite_path(engine.url) if not self._postgres else None
        # Commits by other processes wake waiters too (in-process ones already do, through the bus).
        self._watcher = CommitWatcher(path, self._wake_waiting_topics) if path else None

    def send(self, connection: Connection, topic: str, payload: dict[str, Any], *, key: str | None = None,
             delay: float = 0.0, tenant_id: str = DEFAULT_TENANT) -> None:
        """Add a message in the caller's transaction; ``delay`` seconds before it can be taken."""
        self.send_many(connection, topic, [Outgoing(tenant_id, key, payload)], delay=delay)

    def send_many(self, connection: Connection, topic: str, outgoing: Sequence[Outgoing], *,
                  delay: float = 0.0) -> None:
        """Add several messages to one topic, of any tenants, with one statement."""
        if not outgoing:
            return
        if self._postgres:
            connection.execute(_SEND_PG, {
                "topic": topic, "delay": timedelta(seconds=max(delay, 0.0)),
                "rows": [{"tenant_id": o.tenant_id, "key": o.key, "payload": o.payload} for o in outgoing]})
            return
        available_at = _utcnow() + timedelta(seconds=max(delay, 0.0))
        connection.execute(_INSERT, [
            {"tenant_id": o.tenant_id, "topic": topic, "key": o.key, "payload": o.payload,
             "available_at": available_at} for o in outgoing])
        # Waiters are woken at the outer commit (a savepoint rolled back only wakes them in vain).
        _mark_sent(connection, topic, connection.get_transaction(), self._bus_key)

    def take(self, connection: Connection, topic: str, limit: int = 100, *,
             version: int | None = None, fair: bool = False) -> list[Message]:
        """The oldest available messages of ``topic``, deleted as they are returned, in id order.

        The caller's transaction decides: a rollback puts them back, so take in the
        transaction that handles them.  With ``version``, only payloads whose ``"v"`` is
        that format are taken; the others stay for a consumer that knows theirs (two Lanner
        versions side by side in a rolling upgrade).  ``fair`` takes the oldest of each key
        first (:data:`FAIR_WINDOW`), for messages of one format.
        """
        if fair and version is None:
            raise ValueError("a fair take is for messages of one payload format: give version")
        self.listen()  # before the query: what commits after it will wake us
        params: dict[str, Any] = {"from_topic": topic, "limit": limit, "version": version, "window": FAIR_WINDOW}
        if not self._postgres:
            params["now"] = _utcnow()
        rows = connection.execute(_TAKES[self._postgres, version is not None, fair], params)
        messages = [Message(row.id, row.topic, row.key, row.payload, row.tenant_id, row.created_at) for row in rows]
        return sorted(messages, key=lambda message: message.id)

    def withdraw(self, connection: Connection, topic: str, key: str, *,
                 tenant_id: str = DEFAULT_TENANT) -> list[Message]:
        """Delete the messages of ``topic`` sent with ``key``, delayed ones included, and return them.

        Unlike :meth:`take` it does not skip rows a consumer is taking: on PostgreSQL it
        waits for that consumer's transaction, after which the message is the consumer's
        (and not returned here).
        """
        rows = connection.execute(_WITHDRAW, {"tenant_id": tenant_id, "key": key, "topic": topic})
        return sorted((Message(row.id, row.topic, row.key, row.payload, row.tenant_id) for row in rows),
                      key=lambda message: message.id)

    def wait(self, topic: str, timeout: float) -> bool:
        """Block until a message may be available on ``topic``; True if a notification came.

        Returns at once when a notification for ``topic`` arrived since this thread's
        previous wait on it, and True for every waiter when the queue is closed (so that
        consumers notice the shutdown).  False after ``timeout`` seconds without one
        (messages sent by other processes on SQLite are only found by the take that follows).
        """
        if self._postgres:
            self._ensure_listening()
        elif self._watcher is not None and not self._closed:
            self._watcher.start()
        return self._signals.wait(topic, timeout)

    def interrupt(self) -> None:
        """Wake every waiter of every topic now (a process stopping: its loops check their stop flag)."""
        self._signals.notify_every_topic()

    def wake(self, topic: str) -> None:
        """Wake this process's waiters on ``topic`` (a consumer that can take more work now)."""
        self._signals.notify([topic])

    def _wake_waiting_topics(self, connection: Any) -> None:
        """After another connection committed (SQLite): wake the topics that hold messages."""
        topics = [row[0] for row in connection.execute(f"SELECT DISTINCT topic FROM {_q.name}")]
        topics += self._signal_topics
        if topics:
            self._signals.notify(topics)

    def depth(self, connection: Connection, topic: str | None = None) -> int:
        """Messages not yet taken (delayed ones, and those a counted claim holds, included)."""
        query = sa.select(sa.func.count()).select_from(_q)
        if topic is not None:
            query = query.where(_q.c.topic == topic)
        return connection.execute(query).scalar_one()

    def foreign_formats(self, connection: Connection, topic: str, version: int) -> dict[int, int]:
        """How many messages of ``topic`` are in each payload format other than ``version``."""
        fmt = _q.c.payload["v"].as_integer()
        rows = connection.execute(sa.select(fmt, sa.func.count()).where(_q.c.topic == topic, fmt != version)
                                  .group_by(fmt))
        return {int(value): count for value, count in rows if value is not None}

    def close(self) -> None:
        """Stop listening and wake every waiter; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        if self._watcher is not None:
            self._watcher.stop()
        if self._bus_key is not None:
            _local_bus_leave(self._bus_key, self._signals)
        self._signals.notify_every_topic()

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def signal(self, connection: Connection, topic: str) -> None:
        """Wake ``topic``'s waiters when the caller's transaction commits, whether or not it sent a message."""
        if self._postgres:
            # A savepoint rolled back drops its NOTIFYs: remember topics per innermost transaction.
            scope = connection.get_nested_transaction() or connection.get_transaction()
            if _mark_sent(connection, topic, scope, None):
                connection.execute(_NOTIFY, {"topic": topic})
        else:
            # Waiters are woken at the outer commit (a savepoint rolled back only wakes them in vain).
            _mark_sent(connection, topic, connection.get_transaction(), self._bus_key)

    def follow_signals(self, topic: str) -> None:
        """Wake ``topic``'s waiters on every commit of another process too (SQLite; PostgreSQL always does).

        For topics that carry no messages (:meth:`signal` only), which the watcher of other
        processes' commits could not tell from the queue's content.
        """
        self._signal_topics.add(topic)

    def listen(self) -> None:
        """PostgreSQL: make sure notifications are being received; call before reading a topic.

        A message committed after this call wakes the next :meth:`wait`.  :meth:`take`
        and :meth:`wait` do it themselves; a caller reading the queue with its own
        statement calls it first.  A no-op on SQLite.
        """
        if self._postgres:
            self._ensure_listening()

    def _ensure_listening(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._listener is None:
                self._listener = _Listener(_libpq_conninfo(self._engine), self._signals)
            listener = self._listener
        listener.wait_ready(LISTEN_READY_TIMEOUT)  # at once, but for the first callers


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _mark_sent(connection: Connection, topic: str, scope: object, bus_key: str | None) -> bool:
    """Remember ``topic`` for the transaction ``scope``; False if it was already sent in it."""
    pending: tuple[object, str | None, set[str]] | None = connection.info.get(_PENDING)
    if pending is None or pending[0] is not scope:
        pending = connection.info[_PENDING] = (scope, bus_key, set())
    if topic in pending[2]:
        return False
    pending[2].add(topic)
    return True


class _Signals:
    """Notification counts per topic; each thread remembers the counts it has seen."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._counts: dict[str, int] = {}
        self._everything = 0  # bumped when any topic may have been missed (listener reconnected)
        self._seen = threading.local()

    def notify(self, topics: Iterable[str]) -> None:
        with self._condition:
            for topic in topics:
                self._counts[topic] = self._counts.get(topic, 0) + 1
            self._condition.notify_all()

    def notify_every_topic(self) -> None:
        with self._condition:
            self._everything += 1
            self._condition.notify_all()

    def wait(self, topic: str, timeout: float) -> bool:
        seen: dict[str, int] = self._seen.__dict__.setdefault("counts", {})
        with self._condition:
            def stamp() -> int:
                return self._everything + self._counts.get(topic, 0)  # both only grow

            woken = self._condition.wait_for(lambda: stamp() > seen.get(topic, 0), max(timeout, 0.0))
            seen[topic] = stamp()
        return woken


# --- SQLite: waking waiters in this process when a sender commits -------------------

_local_buses: dict[str, weakref.WeakSet[_Signals]] = {}
_local_lock = threading.Lock()


def _local_bus_join(engine: Engine, signals: _Signals) -> str:
    path = engine.url.database
    key = os.path.realpath(path) if path and path != ":memory:" else f"memory:{id(engine)}"
    with _local_lock:
        _local_buses.setdefault(key, weakref.WeakSet()).add(signals)
        if not event.contains(engine, "commit", _on_commit):
            event.listen(engine, "commit", _on_commit)
            event.listen(engine, "rollback", _forget_sent)
            event.listen(engine, "begin", _forget_sent)
    return key


def _local_bus_leave(key: str, signals: _Signals) -> None:
    with _local_lock:
        members = _local_buses.get(key)
        if members is not None:
            members.discard(signals)
            if not members:
                del _local_buses[key]


def _on_commit(connection: Connection) -> None:
    pending = connection.info.pop(_PENDING, None)
    if not pending or not pending[2]:
        return
    with _local_lock:
        members = list(_local_buses.get(pending[1], ()))
    for signals in members:
        signals.notify(pending[2])


def _forget_sent(connection: Connection) -> None:
    connection.info.pop(_PENDING, None)


# --- PostgreSQL: the LISTEN connection ----------------------------------------------

def _libpq_conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Listener:
    """A daemon thread reading notifications from one autocommit ``LISTEN`` connection."""

    def __init__(self, conninfo: str, signals: _Signals) -> None:
        self._conninfo = conninfo
        self._signals = signals
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._state_lock = threading.Lock()
        self._connected_once = False
        self._gave_up_waiting = False
        # Writing to this socket pair interrupts the thread's select() at once on stop().
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="lanner-queue-listener", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> None:
        """Wait for the first LISTEN, once: later callers go on (and poll) while it is not there."""
        if self._ready.is_set() or self._gave_up_waiting or self._ready.wait(timeout):
            return
        with self._state_lock:
            if self._ready.is_set() or self._gave_up_waiting:
                return
            self._gave_up_waiting = True  # so the connection, when made, wakes every topic
        log.warning("the queue's LISTEN connection is not ready after %.0f s; consumers poll until it is", timeout)

    def stop(self) -> None:
        self._stopping.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass
        self._thread.join(timeout=15)
        self._wake_reader.close()
        self._wake_writer.close()

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self._stopping.is_set():
            try:
                # Keepalives: a connection that died silently (no RST) must not go unnoticed.
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10,
                                     keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
                                     application_name=f"lanner {process_label()} listen"[:63]) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    self._listening()
                    self._pump(connection)
            except Exception as exc:  # psycopg.Error, OSError... the listener must outlive them all
                if self._stopping.is_set():
                    break
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("queue LISTEN connection failed (%s); connecting again in %.1f s", exc, delay)
                self._stopping.wait(delay)

    def _listening(self) -> None:
        with self._state_lock:
            # Only the first connection, made while its starter still waited, missed nothing.
            missed = self._connected_once or self._gave_up_waiting
            self._connected_once = True
            self._ready.set()
        if missed:
            self._signals.notify_every_topic()

    def _pump(self, connection: Any) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(connection.fileno(), selectors.EVENT_READ, "database")
            selector.register(self._wake_reader, selectors.EVENT_READ, "stop")
            while not self._stopping.is_set():
                ready = {key.data for key, _ in selector.select()}
                if "stop" in ready:
                    return
                # Reads what arrived without blocking; raises if the server went away.
                topics = [n.payload for n in connection.notifies(timeout=0) if n.channel == CHANNEL]
                if topics:
                    self._signals.notify(topics)
