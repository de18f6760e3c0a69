"""Custom dashboards

* ``dashboards``: the dashboards of Kestra's ``/api/v1/{tenant}/dashboards`` routes, one
  row per dashboard: its YAML ``source`` kept verbatim, its ``title`` (for searches),
  when it was ``created`` and last ``updated``, and ``deleted`` (a soft delete, as
  Kestra's).  Keyed by (tenant_id, id).  A new table: nothing to do online; older
  versions ignore it.

Revision: 0005 (after 0004)
Created: 2026-12-08 04:45:00
"""

from alembic import context, op
import sqlalchemy as sa

# Types are spelled out here, never imported from lanner.store.tables (see 0001).

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = None if context.is_offline_mode() else sa.inspect(op.get_bind())
    if inspector is not None and inspector.has_table('dashboards'):
        return
    op.create_table('dashboards',
    sa.Column('tenant_id', sa.String(length=64), server_default='main', nullable=False),
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_dashboards'))
    )


def downgrade() -> None:
    # Lanner rolls back by restoring the backup taken before the upgrade (docs/upgrading.md).
    raise NotImplementedError("Lanner migrations are forward-only")
