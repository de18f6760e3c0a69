"""Log lines as Kestra sends them (its ``LogEntry``), and a page of a log search."""

from __future__ import annotations

from lanner.store.log_lines import LogEntry as StoredLine
from lanner.timestamps import instant
from lanner.web.schemas.base import KestraModel, PagedResults


class LogEntry(KestraModel):
    """One line: where it was written (flow, execution, task run, attempt, trigger) and what it says."""

    tenant_id: str | None = None
    namespace: str
    flow_id: str
    task_id: str | None = None
    execution_id: str | None = None
    task_run_id: str | None = None
    attempt_number: int | None = None
    trigger_id: str | None = None
    timestamp: str
    level: str
    thread: str | None = None  # the JVM thread in Kestra; Lanner does not record one
    message: str | None = None
    deleted: bool = False
    execution_kind: str | None = None  # NORMAL, TEST or PLAYGROUND in Kestra; Lanner runs NORMAL ones only
    progress: str | None = None


class LogPage(PagedResults[LogEntry]):
    """A page of a log search: Kestra's ``PagedResults``, with the pagination type 1.x clients read."""

    type: str = "OFFSET"
    next_cursor: str | None = None


def log_entry(line: StoredLine) -> LogEntry:
    return LogEntry(tenant_id=line.tenant_id, namespace=line.namespace, flow_id=line.flow_id, task_id=line.task_id,
                    execution_id=line.execution_id, task_run_id=line.task_run_id, attempt_number=line.attempt,
                    trigger_id=line.trigger_id, timestamp=instant(line.timestamp), level=line.level,
                    message=line.message, execution_kind="NORMAL" if line.execution_id else None)
