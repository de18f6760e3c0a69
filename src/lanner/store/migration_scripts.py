"""The catalogue of migration scripts shipped with this Lanner: order, descriptions, checksums.

Migrations are append-only: once a script reached main it is never edited, because
every database it ran on recorded its checksum in ``lanner_schema_history`` and will
refuse to start with a changed file (``lanner sys database repair`` is the escape
hatch).  Revisions are numbered ``0001``, ``0002``... and form a single line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "lanner_schema_version"


@dataclass(frozen=True)
class Migration:
    revision: str
    description: str
    script: str
    checksum: str


def checksum(path: Path) -> str:
    """SHA-256 of a script, line endings normalised so a checkout on Windows does not differ."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def alembic_config(**attributes: Any) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes.update(attributes)
    return config


@cache
def catalog() -> tuple[Migration, ...]:
    """All migrations, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    ordered = list(reversed(list(scripts.walk_revisions())))
    return tuple(
        Migration(
            revision=s.revision,
            description=(s.doc or "").strip().splitlines()[0] if s.doc else s.revision,
            script=Path(s.path).name,
            checksum=checksum(Path(s.path)),
        )
        for s in ordered
    )


def by_revision() -> dict[str, Migration]:
    return {m.revision: m for m in catalog()}


def head() -> str:
    return catalog()[-1].revision


def pending_after(current: str | None) -> list[Migration]:
    """The migrations still to apply to a database at ``current`` (None: an empty database)."""
    migrations = list(catalog())
    if current is None:
        return migrations
    index = [m.revision for m in migrations].index(current)
    return migrations[index + 1 :]
