"""Fixtures for the integration tests."""

from __future__ import annotations

import pytest

from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for


@pytest.fixture
def engine(database_url):
    """An engine on a database migrated to head, on each backend (test_migrator starts from empty instead)."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    yield engine
    engine.dispose()
