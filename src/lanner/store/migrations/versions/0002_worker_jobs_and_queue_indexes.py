"""Worker jobs and queue indexes

* ``worker_jobs_running``: the jobs each worker holds, one row per task-run attempt, so
  the jobs of a worker that died can be found and resubmitted.  Keyed by (tenant_id,
  task_run_id, attempt); indexed by worker_id ("what did this worker hold?", across
  tenants, since a worker serves them all) and by (tenant_id, execution_id).
* ``task_runs.ordinal``: a task run's position in its execution.  Task runs written in
  one transaction share their timestamps, so creation order needs a column of its own.
  Nullable, so that code which does not know it can still insert task runs (expand).
* ``ix_queue_messages_topic_id`` on (topic, id): a claim takes the oldest available
  messages of one topic, in id order, up to a limit.  With only (topic, available_at, id)
  the database reads every available message of the topic and sorts them by id at each
  claim (a cost that grows with the backlog); with (topic, id) it walks the topic in id
  order, skips the few delayed messages and stops after ``limit`` rows.  The queue is
  shared by all tenants (consumers claim by topic), so this index is not led by tenant_id.
  It is built online (CONCURRENTLY on PostgreSQL: the table is hot) and last, because the
  online build commits the steps before it; those steps are therefore skipped when they
  are already done, so the migration can run again after an interrupted build.

Revision: 0002 (after 0001)
Created: 2026-11-28 00:06:11.099567
"""

from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lanner.store.online import create_index_online

# Types are spelled out here, never imported from lanner.store.tables (see 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Offline (--dry-run SQL) there is no database to inspect: print every step.
    inspector = None if context.is_offline_mode() else sa.inspect(op.get_bind())

    if inspector is None or not inspector.has_table('worker_jobs_running'):
        op.create_table('worker_jobs_running',
        sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
        sa.Column('task_run_id', sa.String(length=64), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('execution_id', sa.String(length=64), nullable=False),
        sa.Column('worker_id', sa.String(length=64), nullable=False),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'task_run_id', 'attempt', name=op.f('pk_worker_jobs_running'))
        )
        op.create_index(op.f('ix_worker_jobs_running_tenant_id_execution_id'), 'worker_jobs_running', ['tenant_id', 'execution_id'])
        op.create_index(op.f('ix_worker_jobs_running_worker_id'), 'worker_jobs_running', ['worker_id'])

    if inspector is None or 'ordinal' not in {c['name'] for c in inspector.get_columns('task_runs')}:
        with op.batch_alter_table('task_runs') as batch_op:
            batch_op.add_column(sa.Column('ordinal', sa.Integer(), nullable=True))

    create_index_online('ix_queue_messages_topic_id', 'queue_messages', ['topic', 'id'])


def downgrade() -> None:
    # Lanner rolls back by restoring the backup taken before the upgrade (docs/upgrading.md).
    raise NotImplementedError("Lanner migrations are forward-only")
