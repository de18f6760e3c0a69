"""A RunContext for unit tests: renders with a given mapping, records logs and waits, never sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.expr import render_value
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
