"""``lanner server``: run Lanner's components (standalone, or one kind per process)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options
from lanner.model.service_state import ServiceType

log = logging.getLogger("lanner.server")


def default_worker_threads() -> int:
    """Eight per CPU this process may use, as Kestra 1.0 does: most tasks wait on I/O."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 8 * max(cpus, 1)


@click.group(context_settings=CONTEXT_SETTINGS)
def server() -> None:
    """Run Lanner's server components."""
    from lanner.server.environment import hide_credentials

    hide_credentials()  # may execute this command again, with the same arguments and a clean environment
    os.umask(0o077)  # what a server creates (database, storage, backups) is its user's alone; scripts get 022


def _serve(app: App, *, executors: int, worker_threads: int, flow_path: Path | None, may_migrate: bool,
           name: str, kind: ServiceType, web_port: int | None = None, web_host: str | None = None,
           schedulers: int = 0) -> None:
    from lanner.ops.backups import pre_migration
    from lanner.server.runtime import Runtime
    from lanner.store.schema_guard import prepare_database

    settings = app.loaded.settings.server
    if web_port is not None:  # before anything else: an open door is refused, not opened
        from lanner.web.security import check_exposure

        check_exposure(web_host or settings.host, settings.basic_auth.enabled, settings.allow_unauthenticated)
    run_as = None
    if worker_threads:  # a user scripts cannot run as is refused now, not at the first script
        from lanner.tasks.core import run_as as scripts_user

        run_as = scripts_user.resolve(app.loaded.settings.worker.run_as)
        if run_as is not None:
            log.info("scripts run as %s (uid %d)", run_as.name, run_as.uid)
    engine = prepare_database(app.loaded, may_migrate=may_migrate, before_migrate=pre_migration.hook(app.loaded))
    stop = threading.Event()
    runtime = Runtime(engine, executors=executors, worker_threads=worker_threads, flow_path=flow_path, stop=stop,
                      storage_path=app.loaded.settings.storage.path, web_port=web_port, web_host=web_host,
                      web_auth=settings.basic_auth, web_drain_delay=settings.drain_delay.total_seconds(),
                      settings=settings, worker_settings=app.loaded.settings.worker,
                      queue_settings=app.loaded.settings.queue, service_type=kind,
                      schedulers=schedulers, run_as=run_as)
    received: list[str] = []

    def on_signal(number: int, _frame: object) -> None:
        received.append(signal.Signals(number).name)
        if len(received) == 1:
            log.info("%s received: stopping; running tasks may finish within %s (send it again to stop them now)",
                     received[0], settings.termination_grace_period)
            stop.set()
        elif len(received) == 2:
            log.warning("second signal: stopping running tasks now (they will be resubmitted)")
            runtime.force.set()
        else:
            log.warning("third signal: exiting at once")
            os._exit(130)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runtime.start()
        log.info("Lanner %s ready (instance %s)", name, runtime.instance_id or "without liveness")
        # A signal may be delivered to any thread; Python runs its handler only when the main
        # thread executes bytecode, which a wait without a timeout may never give it the chance to.
        while not stop.wait(0.2):
            pass
    finally:
        runtime.close(reason=f"{received[0]} received" if received else "stopping")
        engine.dispose()
    if runtime.failure:
        log.error("Lanner %s stopped (exit code %d): %s", name, runtime.exit_code, runtime.failure)
    else:
        log.info("Lanner %s stopped (%s)", name, runtime.ended)
    logging.shutdown()
    # Not sys.exit: a task thread that ignored its stop order must not keep the process alive.
    os._exit(runtime.exit_code)


@server.command(context_settings=CONTEXT_SETTINGS)
@click.option("-f", "--flow-path", type=click.Path(path_type=Path, file_okay=False),
              help="Deploy the flows of this folder, and follow its changes.")
@click.option("--worker-thread", "worker_threads", type=click.IntRange(min=1), default=None,
              help="Tasks the embedded worker runs at once.  [default: 8 per CPU]")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, show_default=True,
              help="The webserver's port (0: one the system picks, printed at start).")
@click.option("--host", default=None,
              help="The address to listen on.  [default: lanner.server.host, 127.0.0.1]")
@common_options
def standalone(app: App, flow_path: Path | None, worker_threads: int | None, port: int, host: str | None) -> None:
    """Run every component in one process (embedded SQLite by default)."""
    worker_threads = worker_threads or default_worker_threads()
    _serve(app, executors=1, worker_threads=worker_threads, flow_path=flow_path, may_migrate=True,
           name=f"standalone (webserver, executor, scheduler, worker with {worker_threads} threads)", web_port=port,
           web_host=host, kind=ServiceType.STANDALONE, schedulers=1)


@server.command(context_settings=CONTEXT_SETTINGS)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, show_default=True,
              help="The port to listen on (0: one the system picks, printed at start).")
@click.option("--host", default=None,
              help="The address to listen on.  [default: lanner.server.host, 127.0.0.1]")
@common_options
def webserver(app: App, port: int, host: str | None) -> None:
    """Run the webserver: the REST API (/api/v1) and the health endpoints."""
    _serve(app, executors=0, worker_threads=0, flow_path=None, may_migrate=True, name="webserver", web_port=port,
           web_host=host, kind=ServiceType.WEBSERVER)


@server.command(context_settings=CONTEXT_SETTINGS)
@common_options
def executor(app: App) -> None:
    """Run an executor: it decides what runs next for every execution."""
    _serve(app, executors=1, worker_threads=0, flow_path=None, may_migrate=True, name="executor",
           kind=ServiceType.EXECUTOR)


@server.command(context_settings=CONTEXT_SETTINGS)
@common_options
def scheduler(app: App) -> None:
    """Run a scheduler: it fires schedules. Any number may run; each tick fires once."""
    _serve(app, executors=0, worker_threads=0, flow_path=None, may_migrate=True, name="scheduler",
           kind=ServiceType.SCHEDULER, schedulers=1)


@server.command(context_settings=CONTEXT_SETTINGS)
@click.option("-t", "--thread", "threads", type=click.IntRange(min=1), default=None,
              help="Tasks this worker runs at once.  [default: 8 per CPU]")
@common_options
def worker(app: App, threads: int | None) -> None:
    """Run a worker: it runs tasks. It never migrates the database; it waits for the schema."""
    threads = threads or default_worker_threads()
    _serve(app, executors=0, worker_threads=threads, flow_path=None, may_migrate=False,
           name=f"worker ({threads} threads)", kind=ServiceType.WORKER)
