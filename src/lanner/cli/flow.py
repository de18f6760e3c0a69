"""``lanner flow``: validate flow files, deploy a namespace folder, inspect revisions."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.flows.registry import Registry
    from lanner.flows.validator import Validation


@click.group(context_settings=CONTEXT_SETTINGS)
def flow() -> None:
    """Flows: validate, deploy and inspect their revisions."""


def _registry(app: App) -> Registry:
    from lanner.errors import UsageError
    from lanner.flows.registry import PluginError, build_registry, default_registry

    app.loaded  # noqa: B018 -- the configuration's encryption key decides whether SECRET inputs are accepted
    try:
        return build_registry(app.plugins) if app.plugins else default_registry()
    except PluginError as exc:
        raise UsageError(str(exc), "Fix or remove the plugin, then try again.") from None


def _validate_files(app: App, paths: list[Path]) -> list[Validation]:
    from lanner.flows.files import flow_files, read_source
    from lanner.flows.validator import validate_source

    registry = _registry(app)
    return [validate_source(read_source(path), str(path), registry) for path in flow_files(paths)]


def _print_problems(results: list[Validation]) -> tuple[int, int]:
    errors = deprecations = 0
    for result in results:
        for problem in result.problems:
            click.echo(problem.format())
            errors += problem.is_error
            deprecations += not problem.is_error
    return errors, deprecations


@flow.command(context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@common_options
def validate(app: App, paths: tuple[Path, ...]) -> None:
    """Validate flow files, or every *.yml / *.yaml in the given folders.

    Prints every error and deprecation with its file, line, column and path.
    Exits 0 when every flow is valid, 1 otherwise.
    """
    results = _validate_files(app, list(paths))
    errors, deprecations = _print_problems(results)
    invalid = sum(not r.valid for r in results)
    click.echo(
        f"{len(results)} flow(s) checked: {len(results) - invalid} valid, {invalid} invalid "
        f"({errors} error(s), {deprecations} deprecation(s))."
    )
    if deprecations:
        click.echo("`lanner flow migrate PATH...` rewrites the deprecated syntax reported above "
                   "(add --dry-run to see the diff first).")
    if invalid:
        sys.exit(1)


@flow.group(context_settings=CONTEXT_SETTINGS)
def namespace() -> None:
    """Deploy the flows of a namespace."""


@namespace.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--delete", is_flag=True, help="Delete the namespace's flows that are not in DIRECTORY.")
@common_options
def update(app: App, namespace_id: str, directory: Path, delete: bool) -> None:
    """Deploy every flow in DIRECTORY into NAMESPACE (or its child namespaces).

    Everything is validated first: if any flow is invalid, nothing is written.
    A flow whose source is unchanged keeps its revision; a changed one gets the next.
    """
    from lanner.flows.namespace_deploy import deploy, namespace_problems
    from lanner.store.database import write_connection
    from lanner.store.schema_guard import prepare_database

    results = _validate_files(app, [directory])
    errors, _ = _print_problems(results)
    problems = namespace_problems(namespace_id, results)
    for problem in problems:
        click.echo(problem)
    if errors or problems:
        click.echo(f"Nothing deployed: fix the {errors + len(problems)} error(s) above.")
        sys.exit(1)
    from lanner.ops.backups import pre_migration

    engine = prepare_database(app.loaded, may_migrate=True, before_migrate=pre_migration.hook(app.loaded))
    try:
        with write_connection(engine) as connection, connection.begin():
            done = deploy(connection, namespace_id, results, delete=delete)
    finally:
        engine.dispose()
    for item in done:
        click.echo(f"{item.state:9} {item.namespace}.{item.flow_id} (revision {item.revision})")
    click.echo(f"Namespace {namespace_id}: {len(results)} flow(s) deployed.")


@flow.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("flow_id", metavar="FLOW_ID")
@common_options
def revisions(app: App, namespace_id: str, flow_id: str) -> None:
    """List a flow's revisions."""
    from lanner.errors import UsageError
    from lanner.store import flow_repository

    with _reader(app) as connection:
        found = flow_repository.list_revisions(connection, namespace_id, flow_id)
    if not found:
        raise UsageError(f"flow {namespace_id}.{flow_id} not found")
    for revision in found:
        when = revision.created_at.isoformat(timespec="seconds") if revision.created_at else ""
        click.echo(f"{revision.revision:>5}  {when}  {'deleted' if revision.deleted else ''}".rstrip())


@flow.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("flow_id", metavar="FLOW_ID")
@click.argument("old", type=int)
@click.argument("new", type=int)
@common_options
def diff(app: App, namespace_id: str, flow_id: str, old: int, new: int) -> None:
    """Show what changed in a flow's source between revisions OLD and NEW."""
    from lanner.errors import UsageError
    from lanner.store import flow_repository

    with _reader(app) as connection:
        revs = [flow_repository.get_flow(connection, namespace_id, flow_id, n) for n in (old, new)]
    before, after = revs
    if before is None or after is None:
        raise UsageError(f"flow {namespace_id}.{flow_id} has no revision {old if before is None else new}")
    click.echo(flow_repository.diff(before, after), nl=False)


class _reader:
    """A read-only connection on a database whose schema this code can read."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __enter__(self) -> Connection:
        from lanner.store.database import create_engine
        from lanner.store.migrator import current_state

        self.engine = create_engine(self.app.loaded.settings.database, create=False)
        current_state(self.engine)
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
        self.engine.dispose()


_INPUT = re.compile(r"[A-Za-z_][\w.-]*=")  # KEY=VALUE; a flow input id starts with a letter or _


def _test_file_and_inputs(file: str, raw_inputs: tuple[str, ...], more: tuple[str, ...]) -> tuple[Path, dict[str, str]]:
    """FILE and the inputs of ``flow test FILE --inputs a=1 b=2`` (``--inputs a=1 --inputs b=2`` too).

    Click collects the values after the first one of an ``--inputs`` as positional
    arguments; with ``flow test --inputs a=1 b=2 FILE``, FILE is one of them.
    """
    from lanner.errors import UsageError

    positional = [file, *more]
    if _INPUT.match(file) and not Path(file).exists():
        others = [arg for arg in more if not _INPUT.match(arg)]
        if others:
            positional.remove(others[0])
            positional.insert(0, others[0])
    inputs: dict[str, str] = {}
    for item in [*raw_inputs, *positional[1:]]:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--inputs {item!r}: expected KEY=VALUE",
                             "Give each input as KEY=VALUE: --inputs user=Ada times=2")
        inputs[key] = value
    return Path(positional[0]), inputs


@contextlib.contextmanager
def _quiet_unless_verbose(app: App) -> Iterator[None]:
    """Lanner's INFO lines off for the block, unless -v (or -l DEBUG/TRACE) asked for more; warnings still show."""
    logger = logging.getLogger("lanner")
    before = logger.level
    if app.log_level not in ("DEBUG", "TRACE"):
        logger.setLevel(max(before, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(before)


@flow.command("test", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("more_inputs", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--inputs", "raw_inputs", multiple=True, metavar="KEY=VALUE",
              help="An input value; several may follow one --inputs (--inputs a=1 b=2), or repeat it.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds to wait for the end.")
@click.option("-f", "--flow-path", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Deploy the flows of this folder too (the subflows FILE calls).")
@common_options
def test(app: App, file: str, more_inputs: tuple[str, ...], raw_inputs: tuple[str, ...], timeout: float,
         flow_path: Path | None) -> None:
    """Run one flow to completion on a temporary embedded database and show what happened.

    Prints the task-run tree (states, attempts, durations, outputs) and the logs.
    Exits 0 when the execution ends SUCCESS or WARNING, 1 otherwise.
    """
    import tempfile

    from lanner.cli.execution_view import print_execution
    from lanner.config.settings import Database
    from lanner.engine.shell.flow_folder import FlowFolder
    from lanner.engine.shell.service import Executions
    from lanner.flows.files import read_source
    from lanner.flows.validator import validate_source
    from lanner.server.runtime import Runtime
    from lanner.store import flow_repository
    from lanner.store.database import create_engine, write_connection
    from lanner.store.migrator import migrate

    path, inputs = _test_file_and_inputs(file, raw_inputs, more_inputs)
    source = read_source(path)
    result = validate_source(source, str(path), _registry(app))
    _print_problems([result])
    if result.flow is None:
        sys.exit(1)
    from lanner.tasks.core.run_as import resolve

    run_as = resolve(app.loaded.settings.worker.run_as)  # scripts run as in a server, or refused the same way
    with tempfile.TemporaryDirectory(prefix="lanner-flow-test-") as folder:
        config = Database(url=f"sqlite:///{folder}/test.db")
        engine = create_engine(config)
        try:
            with _quiet_unless_verbose(app):  # the throwaway database's own story is not what was asked for
                migrate(engine, config)
                if flow_path is not None:
                    FlowFolder(engine, flow_path).sync()
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, result.flow, source)
            with Runtime(engine, executors=1, worker_threads=4, storage_path=Path(folder) / "storage",
                         worker_settings=app.loaded.settings.worker, run_as=run_as) as runtime:
                service = Executions(engine, runtime.queue, runtime.flows)
                execution = service.create(result.flow.namespace, result.flow.id, inputs)
                execution = service.wait(execution.id, timeout)
                logs = service.logs(execution.id)
        finally:
            engine.dispose()
    print_execution(execution, logs)
    if execution.current.value not in ("SUCCESS", "WARNING"):
        sys.exit(1)


def _register_migrate() -> None:
    from lanner.cli.flow_migrate import migrate

    flow.add_command(migrate)


_register_migrate()
