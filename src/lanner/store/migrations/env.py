"""Alembic environment for Lanner's schema.

Lanner drives Alembic programmatically (``lanner.store.migrator``): it opens the
connection, takes the migration lock and passes both through ``config.attributes``.
This file only wires that connection (or, for ``--dry-run``, the dialect) into
Alembic's context.  Never run ``alembic upgrade`` by hand: it would bypass the lock,
the history table and the checksum checks.
"""

from alembic import context

from lanner.store.migration_scripts import VERSION_TABLE
from lanner.store.tables import metadata

config = context.config
options = dict(
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    transaction_per_migration=True,
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
    on_version_apply=config.attributes.get("on_version_apply", ()),
)

if context.is_offline_mode():
    context.configure(dialect_name=config.attributes["dialect_name"], literal_binds=True, **options)
else:
    context.configure(connection=config.attributes["connection"], **options)

with context.begin_transaction():
    context.run_migrations()
