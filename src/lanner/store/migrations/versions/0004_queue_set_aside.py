"""Messages set aside after repeated failed deliveries

* ``queue_set_aside``: executor messages delivered ``lanner.queue.max-deliveries`` times
  without ever being processed (each delivery crashed the executor, was killed with it,
  or raised) are moved here instead of being delivered again; the operator reads and
  deletes them (``lanner sys cluster set-aside``).  Keyed by (tenant_id, id), ``id``
  being the message's id in ``queue_messages``.  A new table: nothing to do online.
* ``queue_messages.deliveries``, ``claimed_by`` and ``claimed_until`` already exist
  (0001) and are now written by the executor's claims: no change to that table.

Revision: 0004 (after 0003)
Created: 2026-12-07 22:00:00
"""

from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Types are spelled out here, never imported from lanner.store.tables (see 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = None if context.is_offline_mode() else sa.inspect(op.get_bind())
    if inspector is not None and inspector.has_table('queue_set_aside'):
        return
    op.create_table('queue_set_aside',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('id', BIG_ID, autoincrement=False, nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_aside_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_queue_set_aside'))
    )


def downgrade() -> None:
    # Lanner rolls back by restoring the backup taken before the upgrade (docs/upgrading.md).
    raise NotImplementedError("Lanner migrations are forward-only")
