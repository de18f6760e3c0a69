"""A RunContext for unit tests: renders with a given mapping, records logs and waits, never sleeps."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanner.expr import render_value
from lanner.files import file_uri, task_run_prefix
from lanner.files.local import LocalStorage
from lanner.model.task import TaskSpec


@dataclass
class FakeContext:
    variables: dict[str, Any] = field(default_factory=dict)
    # What wait() answers: True plays a kill or a timeout arriving during the wait.
    stopped: bool = False
    execution_id: str = "exec-1"
    task_run_id: str = "taskrun-1"
    attempt: int = 1
    logs: list[tuple[str, str]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    tenant_id: str = "main"
    namespace: str = "company.team"
    flow_id: str = "flow"
    task_id: str = "t"
    # Internal storage in a fresh temporary folder unless a test gives one.
    storage: Any = field(default_factory=lambda: LocalStorage(Path(tempfile.mkdtemp(prefix="lanner-storage-"))))
    kv: Any = None
    run_as: Any = None  # lanner.tasks.core.run_as.RunAs
    stop_event: threading.Event = field(default_factory=threading.Event)

    def storage_uri(self, name: str) -> str:
        return file_uri(task_run_prefix(self.namespace, self.flow_id, self.execution_id, self.task_id,
                                        self.task_run_id), name)

    def render(self, value: Any) -> Any:
        return render_value(value, self.variables)

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.stopped


def task(cls: type[TaskSpec], **properties: Any) -> Any:
    """A validated task of type ``cls``; properties are given with their YAML (camelCase) names."""
    return cls.model_validate({"id": "t", "type": cls.TYPE, **properties})
