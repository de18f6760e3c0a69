"""How Lanner opens its database: SQLite's pragmas follow the configuration."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lanner.store.database import create_engine
from tests.helpers import config_for


@pytest.mark.parametrize(("setting", "expected"), [(None, 1), ("FULL", 2), ("NORMAL", 1)])
def test_sqlite_synchronous_level_follows_the_setting(tmp_path, setting, expected):
    env = {"DATABASE_SQLITE_SYNCHRONOUS": setting} if setting else {}
    engine = create_engine(config_for(f"sqlite:///{tmp_path}/lanner.db", **env).settings.database)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("PRAGMA synchronous")).scalar() == expected
            assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
