"""Developer tool: ``python -m lanner.store.new_migration "message"`` drafts the next migration.

It migrates a scratch SQLite database to the current head, then lets Alembic's
autogenerate write the difference between that schema and ``tables.py`` as migration
``NNNN`` (the next number).  The draft must be reviewed: see ``docs/migrations.md``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print('usage: python -m lanner.store.new_migration "what the migration does"', file=sys.stderr)
        return 2
    from alembic import command

    from lanner.config import load_config
    from lanner.store.database import create_engine
    from lanner.store.migration_scripts import alembic_config, catalog
    from lanner.store.migrator import migrate

    with tempfile.TemporaryDirectory() as folder:
        scratch = {"LANNER_DATABASE_URL": f"sqlite:///{Path(folder) / 'scratch.db'}"}
        config = load_config(None, scratch).settings.database
        engine = create_engine(config)
        try:
            migrate(engine, config)
            with engine.connect() as connection:
                revision = f"{len(catalog()) + 1:04d}"
                command.revision(
                    alembic_config(connection=connection), message=argv[0], autogenerate=True, rev_id=revision
                )
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
