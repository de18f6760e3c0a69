"""The schema the code expects, as SQLAlchemy Core tables (the single source for migrations).

Design rules, kept from the first table on:

* Every table holding user data has ``tenant_id`` (default ``main``) leading its keys
  and indexes.  Kestra added tenants later and its 0.12 -> 0.13 upgrade rebuilt every
  index for hours; we pay that cost never.
* An execution row stays small: task runs and logs live in their own tables, so a
  large ForEach updates one small row per task run instead of rewriting a document.
* Flow sources are kept verbatim (comments and key order included) in every revision.
* Queue rows carry a monotonically increasing integer id; consumers claim with
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and a write transaction on SQLite.
* Every change to these tables needs a new migration in ``migrations/versions``; a
  test compares this module with the migrated schema on both backends.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from lanner.model.tenant import DEFAULT_TENANT

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def _tenant() -> sa.Column[Any]:
    return sa.Column("tenant_id", sa.String(64), nullable=False, server_default=DEFAULT_TENANT)


def _flow_key() -> list[sa.Column[Any]]:
    """The flow a row belongs to, within its tenant."""
    return [
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("flow_id", sa.String(255), nullable=False),
    ]


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    ]


# Written by the migrator, one row per migration attempt (Flyway's flyway_schema_history).
schema_history = sa.Table(
    "lanner_schema_history",
    metadata,
    sa.Column("installed_rank", BigId, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("script", sa.String(200), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("lanner_version", sa.String(64), nullable=False),
    sa.Column("installed_by", sa.String(200), nullable=False),
    sa.Column("installed_on", Timestamp, nullable=False),
    sa.Column("execution_time_ms", sa.Integer, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Index(None, "version"),
)

instance_settings = sa.Table(
    "instance_settings",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", Json, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
)

flows = sa.Table(
    "flows",
    metadata,
    _tenant(),
    *_flow_key(),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("labels", Json, nullable=False, server_default="{}"),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    *_timestamps(),
    sa.PrimaryKeyConstraint("tenant_id", "namespace", "flow_id"),
    sa.Index(None, "tenant_id", "deleted", "namespace"),
)

flow_revisions = sa.Table(
    "flow_revisions",
    metadata,
    _tenant(),
    *_flow_key(),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    # The source parsed when the revision was saved (searches never parse); None: saved before 0003.
    sa.Column("definition", Json, nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "namespace", "flow_id", "revision"),
)

executions = sa.Table(
    "executions",
    metadata,
    _tenant(),
    sa.Column("id", sa.String(64), nullable=False),
    *_flow_key(),
    sa.Column("flow_revision", sa.Integer, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("state_history", Json, nullable=False, server_default="[]"),
    sa.Column("inputs", Json, nullable=True),
    sa.Column("outputs", Json, nullable=True),
    sa.Column("labels", Json, nullable=False, server_default="[]"),
    sa.Column("trigger", Json, nullable=True),
    sa.Column("variables", Json, nullable=True),
    sa.Column("parent_id", sa.String(64), nullable=True),
    sa.Column("original_id", sa.String(64), nullable=True),
    sa.Column("start_date", Timestamp, nullable=True),
    sa.Column("end_date", Timestamp, nullable=True),
    # Incremented on every write: lets readers detect a concurrent change cheaply.
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    *_timestamps(),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.Index(None, "tenant_id", "namespace", "flow_id", "created_at"),
    sa.Index(None, "tenant_id", "state", "created_at"),
    sa.Index(None, "tenant_id", "parent_id"),
)

task_runs = sa.Table(
    "task_runs",
    metadata,
    _tenant(),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("execution_id", sa.String(64), nullable=False),
    *_flow_key(),
    sa.Column("task_id", sa.String(255), nullable=False),
    sa.Column("parent_task_run_id", sa.String(64), nullable=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("iteration", sa.Integer, nullable=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("state_history", Json, nullable=False, server_default="[]"),
    sa.Column("attempts", Json, nullable=False, server_default="[]"),
    sa.Column("outputs", Json, nullable=True),
    sa.Column("metrics", Json, nullable=True),
    sa.Column("start_date", Timestamp, nullable=True),
    sa.Column("end_date", Timestamp, nullable=True),
    *_timestamps(),
    # The task run's position in its execution (added in 0002): reads return task runs in
    # the order they were created, which timestamps cannot give (one transaction, one time).
    sa.Column("ordinal", sa.Integer, nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.ForeignKeyConstraint(
        ["tenant_id", "execution_id"], ["executions.tenant_id", "executions.id"], ondelete="CASCADE"
    ),
    sa.Index(None, "tenant_id", "execution_id"),
    sa.Index(None, "tenant_id", "state"),
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _tenant(),
    *_flow_key(),
    sa.Column("execution_id", sa.String(64), nullable=True),
    sa.Column("task_run_id", sa.String(64), nullable=True),
    sa.Column("task_id", sa.String(255), nullable=True),
    sa.Column("trigger_id", sa.String(255), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Index(None, "tenant_id", "execution_id", "id"),
    sa.Index(None, "tenant_id", "namespace", "flow_id", "timestamp"),
    # Nobody reads a new log line's id: no RETURNING, so inserts can be pipelined
    # (lanner.store.database.then_commit).  Not a schema property.
    implicit_returning=False,
)

# Work handed between components (executor <-> worker, scheduler -> executor...).
# A consumer claims messages inside its own transaction (``FOR UPDATE SKIP LOCKED`` on
# PostgreSQL), processes them and deletes them before committing: a crash or rollback
# makes them available again, with no lease to expire (``store/queue.py``).  The
# executor's topic also counts its deliveries (``claimed_by``, ``claimed_until``,
# ``deliveries``: ``store/deliveries.py``), so that a message that keeps crashing its
# consumer is set aside instead of delivered forever.
queue_messages = sa.Table(
    "queue_messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("key", sa.String(255), nullable=True),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("available_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", Timestamp, nullable=True),
    sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "topic", "available_at", "id"),
    sa.Index(None, "tenant_id", "key"),
    # Claims read a topic in id order and stop at their limit (added in 0002).
    sa.Index(None, "topic", "id"),
    implicit_returning=False,  # as for logs
)

# Messages set aside after ``lanner.queue.max-deliveries`` deliveries that never completed
# (``store/deliveries.py``): kept for the operator to read and delete, never delivered again.
queue_set_aside = sa.Table(
    "queue_set_aside",
    metadata,
    _tenant(),
    sa.Column("id", BigId, nullable=False, autoincrement=False),  # the message's id in queue_messages
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("key", sa.String(255), nullable=True),
    sa.Column("payload", Json, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),  # when the message was sent
    sa.Column("set_aside_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
)

# Broadcast topics are read by every consumer group from its own offset.
queue_offsets = sa.Table(
    "queue_offsets",
    metadata,
    sa.Column("consumer_group", sa.String(128), nullable=False),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("last_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.PrimaryKeyConstraint("consumer_group", "topic"),
)

# The jobs a worker holds right now, one row per attempt: when a worker dies, what it
# held is found here and resubmitted.  Workers serve every tenant, hence the index led by
# ``worker_id`` alone.
worker_jobs_running = sa.Table(
    "worker_jobs_running",
    metadata,
    _tenant(),
    sa.Column("task_run_id", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("execution_id", sa.String(64), nullable=False),
    sa.Column("worker_id", sa.String(64), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("taken_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.PrimaryKeyConstraint("tenant_id", "task_run_id", "attempt"),
    sa.Index(None, "worker_id"),
    sa.Index(None, "tenant_id", "execution_id"),
)

service_instances = sa.Table(
    "service_instances",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("service_type", sa.String(32), nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("lanner_version", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.String(32), nullable=False),
    sa.Column("settings", Json, nullable=False, server_default="{}"),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("state_history", Json, nullable=False, server_default="[]"),
    sa.Column("running_jobs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("heartbeat_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Index(None, "state", "heartbeat_at"),
)

triggers = sa.Table(
    "triggers",
    metadata,
    _tenant(),
    *_flow_key(),
    sa.Column("trigger_id", sa.String(255), nullable=False),
    sa.Column("flow_revision", sa.Integer, nullable=True),
    sa.Column("last_fire_date", Timestamp, nullable=True),
    sa.Column("next_fire_date", Timestamp, nullable=True),
    sa.Column("backfill", Json, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scheduler_id", sa.String(64), nullable=True),
    sa.Column("execution_id", sa.String(64), nullable=True),
    sa.Column("state", Json, nullable=True),
    *_timestamps(),
    sa.PrimaryKeyConstraint("tenant_id", "namespace", "flow_id", "trigger_id"),
    sa.Index(None, "next_fire_date"),
)

kv_store = sa.Table(
    "kv_store",
    metadata,
    _tenant(),
    sa.Column("namespace", sa.String(255), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("value", Json, nullable=False),
    sa.Column("value_type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("expires_at", Timestamp, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    *_timestamps(),
    sa.PrimaryKeyConstraint("tenant_id", "namespace", "key"),
    sa.Index(None, "expires_at"),
)

dashboards = sa.Table(
    "dashboards",
    metadata,
    _tenant(),
    sa.Column("id", sa.String(255), nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # the YAML as sent
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("created", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("updated", Timestamp, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
)
