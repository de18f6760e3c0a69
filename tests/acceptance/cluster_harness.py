"""A real cluster for tests: `lanner server ...` processes on one database, fast liveness settings.

Components are child processes with their output in a file; they are told apart by
pid, which their service instance row records.  Everything is awaited through the
database (an instance RUNNING, a task run's attempt on a given worker), never slept for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.execution import Execution
from lanner.model.service_state import ServiceState
from lanner.store import flow_repository
from lanner.store import service_instances as instances
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

# Sub-second liveness: a silent instance is declared dead within about 3.5 s.
FAST_LIVENESS = {
    "LANNER_SERVER_LIVENESS_HEARTBEAT_INTERVAL": "200ms",
    "LANNER_SERVER_LIVENESS_TIMEOUT": "3s",
    "LANNER_SERVER_LIVENESS_INTERVAL": "250ms",
    "LANNER_SERVER_LIVENESS_INITIAL_DELAY": "0s",
}


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@dataclass
class Component:
    kind: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def wait_exit(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"{self.kind} (pid {self.pid}) still runs after {timeout:g} s:\n{self.output()}") from exc

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Cluster:
    def __init__(self, url: str, folder: Path, **settings: str) -> None:
        self.url, self.folder = url, folder
        self.env = {**os.environ, "LANNER_DATABASE_URL": url, **FAST_LIVENESS, **settings}
        self.engine = prepare_database(config_for(url), may_migrate=True)
        self.queue = Queue(self.engine)
        self.executions = Executions(self.engine, self.queue)
        self.components: list[Component] = []

    def deploy(self, source: str) -> None:
        validation = validate_source(source)
        assert validation.valid, [problem.format() for problem in validation.errors]
        with write_connection(self.engine) as connection, connection.begin():
            flow_repository.save_flow(connection, validation.flow, source)

    def start(self, kind: str, *args: str, wait: bool = True, **settings: str) -> Component:
        log = self.folder / f"{kind}-{len(self.components)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "lanner", "server", kind, *args],
                                       env={**self.env, **settings}, cwd=self.folder, stdout=out,
                                       stderr=subprocess.STDOUT)
        component = Component(kind, process, log)
        self.components.append(component)
        if wait:
            self.wait_state(component, ServiceState.RUNNING)
        return component

    def instance(self, component: Component) -> instances.Instance | None:
        with self.engine.connect() as connection:
            found = [i for i in instances.list_instances(connection) if i.pid == component.pid]
        return found[-1] if found else None

    def wait_state(self, component: Component, *states: ServiceState, timeout: float = 60.0) -> instances.Instance:
        def reached() -> instances.Instance | None:
            if component.process.poll() is not None and ServiceState.RUNNING in states:
                raise AssertionError(f"{component.kind} exited ({component.process.returncode}):\n"
                                     f"{component.output()}")
            found = self.instance(component)
            return found if found is not None and found.state in states else None

        return wait_until(reached, timeout, f"{component.kind} in {', '.join(states)}")

    def run_on(self, execution_id: str, task_id: str, component: Component, attempt: int = 1) -> None:
        """Wait until ``attempt`` of ``task_id`` is held (run) by that component's worker."""
        from lanner.store import execution_repository as repo

        instance_id = self.wait_state(component, ServiceState.RUNNING).id

        def there() -> bool:
            runs = {r.id for r in self.executions.get(execution_id).task_runs if r.task_id == task_id}
            with self.engine.connect() as connection:
                held = repo.running_jobs(connection, worker_id=instance_id)
            return any(job["task_run_id"] in runs and job["attempt"] == attempt for job in held)

        wait_until(there, 60, f"attempt {attempt} of {task_id} on {component.kind} {component.pid}")

    def wait_ended(self, execution_id: str, timeout: float = 90.0) -> Execution:
        return self.executions.wait(execution_id, timeout)

    def close(self) -> None:
        for component in self.components:
            if component.process.poll() is None:
                component.send(signal.SIGCONT)
                component.process.kill()
                component.process.wait(10)
        self.queue.close()
        self.engine.dispose()
