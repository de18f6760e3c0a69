"""Initial schema

Flows and their revisions, executions, task runs, logs, the queue tables, service
instances, trigger state, the namespace key-value store and instance settings.

Revision: 0001 (the first)
Created: 2026-11-27 23:33:02.017577
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Types are spelled out here, never imported from lanner.store.tables: a migration
# must build the schema as it was when it was written, whatever the models say today.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite auto-increments INTEGER only

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('executions',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('flow_revision', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('state_history', JSON, server_default='[]', nullable=False),
    sa.Column('inputs', JSON, nullable=True),
    sa.Column('outputs', JSON, nullable=True),
    sa.Column('labels', JSON, server_default='[]', nullable=False),
    sa.Column('trigger', JSON, nullable=True),
    sa.Column('variables', JSON, nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('original_id', sa.String(length=64), nullable=True),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_executions'))
    )
    op.create_index(op.f('ix_executions_tenant_id_namespace_flow_id_created_at'), 'executions', ['tenant_id', 'namespace', 'flow_id', 'created_at'])
    op.create_index(op.f('ix_executions_tenant_id_parent_id'), 'executions', ['tenant_id', 'parent_id'])
    op.create_index(op.f('ix_executions_tenant_id_state_created_at'), 'executions', ['tenant_id', 'state', 'created_at'])

    op.create_table('flow_revisions',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'namespace', 'flow_id', 'revision', name=op.f('pk_flow_revisions'))
    )
    op.create_table('flows',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('labels', JSON, server_default='{}', nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'namespace', 'flow_id', name=op.f('pk_flows'))
    )
    op.create_index(op.f('ix_flows_tenant_id_deleted_namespace'), 'flows', ['tenant_id', 'deleted', 'namespace'])

    op.create_table('instance_settings',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', JSON, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_instance_settings'))
    )
    op.create_table('kv_store',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', JSON, nullable=False),
    sa.Column('value_type', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'namespace', 'key', name=op.f('pk_kv_store'))
    )
    op.create_index(op.f('ix_kv_store_expires_at'), 'kv_store', ['expires_at'])

    op.create_table('lanner_schema_history',
    sa.Column('installed_rank', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('script', sa.String(length=200), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('lanner_version', sa.String(length=64), nullable=False),
    sa.Column('installed_by', sa.String(length=200), nullable=False),
    sa.Column('installed_on', sa.DateTime(timezone=True), nullable=False),
    sa.Column('execution_time_ms', sa.Integer(), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('installed_rank', name=op.f('pk_lanner_schema_history'))
    )
    op.create_index(op.f('ix_lanner_schema_history_version'), 'lanner_schema_history', ['version'])

    op.create_table('logs',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('execution_id', sa.String(length=64), nullable=True),
    sa.Column('task_run_id', sa.String(length=64), nullable=True),
    sa.Column('task_id', sa.String(length=255), nullable=True),
    sa.Column('trigger_id', sa.String(length=255), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_logs'))
    )
    op.create_index(op.f('ix_logs_tenant_id_execution_id_id'), 'logs', ['tenant_id', 'execution_id', 'id'])
    op.create_index(op.f('ix_logs_tenant_id_namespace_flow_id_timestamp'), 'logs', ['tenant_id', 'namespace', 'flow_id', 'timestamp'])

    op.create_table('queue_messages',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deliveries', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_messages'))
    )
    op.create_index(op.f('ix_queue_messages_tenant_id_key'), 'queue_messages', ['tenant_id', 'key'])
    op.create_index(op.f('ix_queue_messages_topic_available_at_id'), 'queue_messages', ['topic', 'available_at', 'id'])

    op.create_table('queue_offsets',
    sa.Column('consumer_group', sa.String(length=128), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('last_id', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('consumer_group', 'topic', name=op.f('pk_queue_offsets'))
    )
    op.create_table('service_instances',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('service_type', sa.String(length=32), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('lanner_version', sa.String(length=64), nullable=False),
    sa.Column('schema_version', sa.String(length=32), nullable=False),
    sa.Column('settings', JSON, server_default='{}', nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('state_history', JSON, server_default='[]', nullable=False),
    sa.Column('running_jobs', sa.Integer(), server_default='0', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_instances'))
    )
    op.create_index(op.f('ix_service_instances_state_heartbeat_at'), 'service_instances', ['state', 'heartbeat_at'])

    op.create_table('triggers',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('trigger_id', sa.String(length=255), nullable=False),
    sa.Column('flow_revision', sa.Integer(), nullable=True),
    sa.Column('last_fire_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_fire_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('backfill', JSON, nullable=True),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('scheduler_id', sa.String(length=64), nullable=True),
    sa.Column('execution_id', sa.String(length=64), nullable=True),
    sa.Column('state', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'namespace', 'flow_id', 'trigger_id', name=op.f('pk_triggers'))
    )
    op.create_index(op.f('ix_triggers_next_fire_date'), 'triggers', ['next_fire_date'])

    op.create_table('task_runs',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('execution_id', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('flow_id', sa.String(length=255), nullable=False),
    sa.Column('task_id', sa.String(length=255), nullable=False),
    sa.Column('parent_task_run_id', sa.String(length=64), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('iteration', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('state_history', JSON, server_default='[]', nullable=False),
    sa.Column('attempts', JSON, server_default='[]', nullable=False),
    sa.Column('outputs', JSON, nullable=True),
    sa.Column('metrics', JSON, nullable=True),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'execution_id'], ['executions.tenant_id', 'executions.id'], name=op.f('fk_task_runs_tenant_id_execution_id_executions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_task_runs'))
    )
    op.create_index(op.f('ix_task_runs_tenant_id_execution_id'), 'task_runs', ['tenant_id', 'execution_id'])
    op.create_index(op.f('ix_task_runs_tenant_id_state'), 'task_runs', ['tenant_id', 'state'])



def downgrade() -> None:
    # Lanner rolls back by restoring the backup taken before the upgrade (docs/upgrading.md).
    raise NotImplementedError("Lanner migrations are forward-only")
