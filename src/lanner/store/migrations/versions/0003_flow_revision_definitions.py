"""Flow revisions keep their parsed source

* ``flow_revisions.definition``: the revision's YAML source parsed, as JSON, written when
  the revision is saved, so that searching flows reads it instead of parsing every
  source at every request.  Nullable (expand): revisions saved before this migration,
  or by a version that does not know the column, have none, and readers parse their
  source instead.  Not backfilled here: parsing is Lanner's YAML reader, which a
  migration does not import.

Revision: 0003 (after 0002)
Created: 2026-12-07 22:10:00
"""

from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Types are spelled out here, never imported from lanner.store.tables (see 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Offline (--dry-run SQL) there is no database to inspect: print every step.
    inspector = None if context.is_offline_mode() else sa.inspect(op.get_bind())
    if inspector is None or 'definition' not in {c['name'] for c in inspector.get_columns('flow_revisions')}:
        with op.batch_alter_table('flow_revisions') as batch_op:
            batch_op.add_column(sa.Column('definition', JSON, nullable=True))


def downgrade() -> None:
    # Lanner rolls back by restoring the backup taken before the upgrade (docs/upgrading.md).
    raise NotImplementedError("Lanner migrations are forward-only")
