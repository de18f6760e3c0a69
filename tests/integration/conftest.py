"""Fixtures for the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests import pg_harness
from tests.conftest import IN_CI
from tests.helpers import config_for


@pytest.fixture
def engine(database_url):
    """An engine on a database migrated to head, on each backend (test_migrator starts from empty instead)."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory):
    """A database for a whole test module, on each backend (tests sharing it keep to their own namespaces)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'lanner.db'}"
        return
    try:
        server = pg_harness.server_url()
    except pg_harness.Unavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    name = f"lanner_test_{uuid.uuid4().hex[:12]}"
    url = pg_harness.create_database(server, name)
    try:
        yield url
    finally:
        pg_harness.drop_database(server, name)


@pytest.fixture(scope="module")
def module_api(module_database_url, tmp_path_factory) -> Iterator[httpx.Client]:
    """One real server (executor, worker, webserver) for a whole test module, on each backend: an HTTP client
    to it.  Tests sharing it keep to their own namespaces (or flow ids), so that their searches see only what
    they made."""
    engine = prepare_database(config_for(module_database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path_factory.mktemp("storage"),
                     web_port=0) as runtime:
            port = runtime.web.wait_started()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                yield client
    finally:
        engine.dispose()
