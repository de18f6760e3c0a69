"""Running engine components in one process: executor, worker and the flow-folder watcher.

``lanner server standalone`` runs all of them; ``server executor`` and ``server worker``
one each, so any number of each can share one PostgreSQL database from many machines.
Each component runs in its own thread until the stop event is set (SIGTERM, SIGINT).

The process is one service instance of the cluster (:mod:`lanner.cluster.membership`):
it heartbeats, and executors also run the liveness coordinator.  Closing is the graceful
shutdown: the instance turns TERMINATING, the webserver unready, executors finish the
batch in hand, and the worker its running tasks within the termination grace period;
the instance then ends TERMINATED_GRACEFULLY, or TERMINATED_FORCED when tasks had to be
stopped (they are resubmitted elsewhere).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanner.cluster.coordinator import Coordinator
from lanner.cluster.membership import Membership
from lanner.config.settings import Queue as QueueSettings
from lanner.config.settings import Server as ServerSettings
from lanner.config.settings import Worker as WorkerSettings
from lanner.engine.shell.executor import Executor
from lanner.engine.shell.flow_cache import FlowCache
from lanner.engine.shell.flow_folder import FlowFolder
from lanner.engine.shell.kv_purger import run_purger
from lanner.engine.shell.worker import Worker
from lanner.errors import ExitCode
from lanner.files.local import LocalStorage
from lanner.model.service_state import ServiceState, ServiceType
from lanner.server.process import tune_garbage_collector
from lanner.store.queue import Queue

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.tasks.core.run_as import RunAs
    from lanner.web.serve import WebServer

log = logging.getLogger(__name__)
JOIN_TIMEOUT = 30.0  # seconds a component loop may take to finish its batch when the process stops


@dataclass
class Runtime:
    engine: Engine
    executors: int = 1
    worker_threads: int = 0  # 0: no worker in this process
    flow_path: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    storage_path: Path = Path("./data/storage")  # internal storage (lanner.storage.path)
    web_port: int | None = None  # the webserver's port; None: no webserver in this process
    web_host: str | None = None  # the address it listens on; None: lanner.server.host
    web_auth: Any = None  # lanner.server.basic-auth settings
    web_drain_delay: float = 0.0  # seconds unready before the webserver stops accepting (lanner.server.drain-delay)
    settings: ServerSettings = field(default_factory=ServerSettings)  # lanner.server.*
    worker_settings: WorkerSettings = field(default_factory=WorkerSettings)  # lanner.worker.*
    queue_settings: QueueSettings = field(default_factory=QueueSettings)  # lanner.queue.*
    schedulers: int = 0  # 1: run a scheduler in this process
    service_type: ServiceType | None = None  # None: from the components this process runs
    run_as: RunAs | None = None  # the user scripts run as (lanner.worker.run-as, checked by run_as.resolve)

    def __post_init__(self) -> None:
        self.queue = Queue(self.engine)
        self.flows = FlowCache()
        self._threads: list[threading.Thread] = []
        self.worker: Worker | None = None
        self.web: WebServer | None = None
        self.membership: Membership | None = None
        self.force = threading.Event()  # a second signal: stop running tasks now, do not wait for the grace period
        self.failure: str | None = None  # why this process must exit non-zero (fenced, a component failed)
        self.ended: ServiceState | None = None
        self._closed = False

    @property
    def exit_code(self) -> int:
        """0 after a clean stop; 13 when the database was restored under this process; 1 on any other failure."""
        if self.failure is None:
            return ExitCode.OK
        if self.membership is not None and self.membership.restored:
            return ExitCode.DATABASE_RESTORED
        return ExitCode.INTERNAL

    @property
    def instance_id(self) -> str | None:
        return self.membership.instance_id if self.membership else None

    def start(self) -> None:
        tune_garbage_collector()
        if self.settings.liveness.enabled:
            from lanner.store.migrator import current_state_version

            self.membership = Membership(
                self.engine, self.service_type or self._kind(), self.settings.liveness,
                self.settings.termination_grace_period, schema_version=current_state_version(self.engine) or "",
                on_fenced=self._fenced, running_jobs=lambda: self.worker.running_count if self.worker else 0)
            self.membership.start()
        if self.web_port is not None:
            from lanner.web.limits import Limits
            from lanner.web.serve import WebServer  # FastAPI only for processes that serve

            host = self.web_host or self.settings.host
            self.web = WebServer(self.engine, self.queue, self.flows, host=host, port=self.web_port,
                                 basic_auth=self.web_auth, drain_delay=self.web_drain_delay,
                                 instance_id=self.instance_id, allowed_hosts=self.settings.allowed_hosts,
                                 limits=Limits.of(self.settings), storage=LocalStorage(self.storage_path))
            self.web.start()
            port = self.web.wait_started()
            log.info("webserver listening on port %d (on %s)", port, host)
            self.web.announce_authentication(host, port)
        if self.flow_path is not None:
            folder = FlowFolder(self.engine, self.flow_path)
            folder.sync()
            self._spawn("flow-watcher", lambda: folder.watch(self.stop))
        for index in range(self.executors):
            executor = Executor(self.engine, self.queue, self.flows,
                                max_deliveries=self.queue_settings.max_deliveries)
            self._spawn(f"executor-{index}", partial(executor.run, self.stop))
        if self.executors:
            from lanner.scheduler.flow_triggers import FlowTriggers

            # Deletes expired KV rows; several processes may run it at once.
            self._spawn("kv-purger", lambda: run_purger(self.engine, self.stop))
            flow_triggers = FlowTriggers(self.engine, self.queue, self.flows)
            self._spawn("flow-triggers", lambda: flow_triggers.run(self.stop))
        if self.executors and self.membership is not None:
            coordinator = Coordinator(self.engine, self.queue, self.settings.liveness,
                                      strategy=self.settings.worker_task_restart_strategy,
                                      max_resubmissions=self.settings.max_resubmissions,
                                      own_ids=lambda: {self.instance_id} if self.instance_id else set())
            self._spawn("liveness-coordinator", lambda: coordinator.run(self.stop))
        if self.schedulers:
            from lanner.scheduler.scheduler import Scheduler

            scheduler = Scheduler(self.engine, self.queue, scheduler_id=self.instance_id)
            self._spawn("scheduler", lambda: scheduler.run(self.stop))
        if self.worker_threads:
            # The worker is named after the instance: the jobs it holds are found by the instance's id.
            self.worker = worker = Worker(
                self.engine, self.queue, threads=self.worker_threads, worker_id=self.instance_id,
                storage=LocalStorage(self.storage_path),
                max_log_size=self.worker_settings.logs.max_size_per_task, run_as=self.run_as)
            self._spawn("worker", partial(worker.run, self.stop))

    def _kind(self) -> ServiceType:
        parts = {ServiceType.WEBSERVER: self.web_port is not None, ServiceType.EXECUTOR: self.executors > 0,
                 ServiceType.WORKER: self.worker_threads > 0, ServiceType.SCHEDULER: self.schedulers > 0}
        present = [kind for kind, there in parts.items() if there]
        return present[0] if len(present) == 1 else ServiceType.STANDALONE

    def _fenced(self, reason: str) -> None:
        """This instance may no longer work (the cluster gave its jobs away): stop everything now."""
        self.failure = f"fenced: {reason}"
        if self.worker is not None:
            self.worker.abandon(reason)
        self.stop.set()
        self.queue.interrupt()

    def _spawn(self, name: str, target: Callable[[], object]) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception as exc:
                log.exception("%s stopped on an unexpected error", name)
                self.failure = self.failure or f"{name} failed: {type(exc).__name__}: {exc}"
                self.stop.set()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self, timeout: float | None = None, reason: str = "stopping") -> None:
        """The graceful shutdown (see the module's docstring); idempotent."""
        if self._closed:
            return
        self._closed = True
        membership = self.membership
        if membership is not None and self.failure is not None:
            membership.fence_if_restored(self.failure)  # a component failed: because of a restore?
        if membership is not None and not membership.fenced:
            membership.terminating(reason)
        if self.web is not None:
            self.web.stop(timeout)  # unready first, then in-flight requests finish
        self.stop.set()
        self.queue.interrupt()  # loops waiting for messages see the stop at once
        for thread in self._threads:
            # Loops end after the batch in hand; one stuck on the database must not hold the exit forever.
            thread.join(timeout if timeout is not None else JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("%s did not stop within %.0f s; leaving it", thread.name,
                            timeout if timeout is not None else JOIN_TIMEOUT)
        graceful = True
        if self.worker is not None and not (membership is not None and membership.fenced):
            graceful = self.worker.finish(self.settings.termination_grace_period.total_seconds(), self.force)
        if self.failure is not None:
            self.ended = ServiceState.ERROR
        else:
            self.ended = ServiceState.TERMINATED_GRACEFULLY if graceful else ServiceState.TERMINATED_FORCED
        if membership is not None:
            why = self.failure or ("every task finished" if graceful else "running tasks were stopped")
            membership.ended(self.ended, why)
        self.queue.close()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
