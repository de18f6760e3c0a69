"""``flow.Sleep``: wait for a duration, on a worker."""

from __future__ import annotations

from datetime import timedelta

from lanner.durations import EXPECTED, parse_duration
from lanner.model.spec import Duration, Dynamic
from lanner.tasks.runnable import RunContext, RunnableTask, TaskFailure, TaskOutput


class Sleep(RunnableTask):
    TYPE = "io.kestra.plugin.core.flow.Sleep"

    duration: Dynamic[Duration]

    def run(self, context: RunContext) -> TaskOutput:
        # Waiting through the context (not time.sleep) lets a kill or a timeout end the sleep at once.
        if context.wait(_seconds(self.duration, context)):
            raise TaskFailure("stopped while sleeping")
        return TaskOutput()


def _seconds(duration: timedelta | str, context: RunContext) -> float:
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    rendered = context.render(duration)
    try:
        return parse_duration(rendered).total_seconds()
    except ValueError:
        raise TaskFailure(f"Invalid duration {str(rendered)!r}: expected {EXPECTED}") from None


TYPES = [Sleep]
