"""A running Lanner for engine tests: a migrated database, some flows deployed, executor and worker threads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.server.runtime import Runtime
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

FLOWS = Path(__file__).parents[1] / "flows" / "engine"


@contextmanager
def running(database_url: str, storage: Path, flows: Iterable[str] = ("*",), *, executors: int = 1,
            worker_threads: int = 4) -> Iterator[Executions]:
    """``flows``: names or glob patterns of files in tests/flows/engine (without ``.yaml``)."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        paths = sorted({path for pattern in flows for path in FLOWS.glob(f"{pattern}.yaml")})
        assert paths, f"no flow matches {list(flows)}"
        for path in paths:
            source = path.read_text()
            validation = validate_source(source, path.name)
            assert validation.valid, [problem.format() for problem in validation.errors]
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, validation.flow, source)
        with Runtime(engine, executors=executors, worker_threads=worker_threads, storage_path=storage) as runtime:
            yield Executions(engine, runtime.queue, runtime.flows)
    finally:
        engine.dispose()
