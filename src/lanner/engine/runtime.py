"""Running engine components in one process: executor, worker and the flow-folder watcher.

``lanner server standalone`` runs all of them; ``server executor`` and ``server worker``
one each, so any number of each can share one PostgreSQL database from many machines.
Each component runs in its own thread until the stop event is set (SIGTERM, SIGINT).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanner.engine.executor import Executor
from lanner.engine.flow_cache import FlowCache
from lanner.engine.flow_folder import FlowFolder
from lanner.engine.kv_purger import run_purger
from lanner.engine.worker import Worker
from lanner.storage.local import LocalStorage
from lanner.store.queue import Queue

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    engine: Engine
    executors: int = 1
    worker_threads: int = 0  # 0: no worker in this process
    flow_path: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    storage_path: Path = Path("./data/storage")  # internal storage (lanner.storage.path)
    web_port: int | None = None  # the webserver's port; None: no webserver in this process
    web_auth: Any = None  # lanner.server.basic-auth settings
    web_drain_delay: float = 0.0  # seconds unready before the webserver stops accepting (lanner.server.drain-delay)

    def __post_init__(self) -> None:
        self.queue = Queue(self.engine)
        self.flows = FlowCache()
        self._threads: list[threading.Thread] = []
        self.worker: Worker | None = None
        self.web = None

    def start(self) -> None:
        if self.web_port is not None:
            from lanner.web.serve import WebServer  # FastAPI only for processes that serve

            self.web = WebServer(self.engine, self.queue, self.flows, port=self.web_port, basic_auth=self.web_auth,
                                 drain_delay=self.web_drain_delay)
            self.web.start()
            log.info("webserver listening on port %d", self.web.wait_started())
        if self.flow_path is not None:
            folder = FlowFolder(self.engine, self.flow_path)
            folder.sync()
            self._spawn("flow-watcher", lambda: folder.watch(self.stop))
        for index in range(self.executors):
            executor = Executor(self.engine, self.queue, self.flows)
            self._spawn(f"executor-{index}", lambda e=executor: e.run(self.stop))
        if self.executors:
            # Deletes expired KV rows; several processes may run it at once.
            self._spawn("kv-purger", lambda: run_purger(self.engine, self.stop))
        if self.worker_threads:
            self.worker = Worker(self.engine, self.queue, threads=self.worker_threads,
                                 storage=LocalStorage(self.storage_path))
            self._spawn("worker", lambda: self.worker.run(self.stop))  # type: ignore[union-attr]

    def _spawn(self, name: str, target) -> None:  # type: ignore[no-untyped-def]
        def guarded() -> None:
            try:
                target()
            except Exception:
                log.exception("%s stopped on an unexpected error", name)
                self.stop.set()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self, timeout: float | None = None) -> None:
        if self.web is not None:
            self.web.stop(timeout)  # unready first, then in-flight requests finish
        self.stop.set()
        self.queue.interrupt()  # loops waiting for messages see the stop at once
        for thread in self._threads:
            thread.join(timeout)
        self.queue.close()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
