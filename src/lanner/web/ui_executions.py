"""UI pages of executions: the filtered, live list and one execution's page.

The pages are rendered once; their scripts then keep them current through the API
(``/api/v1/executions/search``, ``/api/v1/executions/{id}``, ``/api/v1/logs/{id}/follow``)
without reloading, so filters being typed and the log stream survive a refresh.  An
execution's page holds none of its log lines: the stream sends them, read a page at a
time, however many there are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.log_level import LEVEL_NAMES
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.state import TERMINAL, State
from lanner.model.task import TaskSpec
from lanner.store import execution_repository as repo
from lanner.store import flow_repository
from lanner.tasks.executable import ExecutableTask
from lanner.tasks.flowable import FlowableTask
from lanner.web import shapes
from lanner.web.context import Server
from lanner.web.ui_render import Srv, input_field, page

router = APIRouter()
LIST_SIZE = 50


def _moment(text: str | None) -> datetime | None:
    """A filter's date: ISO-8601; without an offset (a datetime-local field) it is UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/executions")
def executions(request: Request, srv: Srv, namespace: str | None = None,
               flow_id: str | None = Query(None, alias="flowId"), state: str | None = None,
               start_date: str | None = Query(None, alias="startDate"),
               end_date: str | None = Query(None, alias="endDate")) -> HTMLResponse:
    states = [state] if state in State.__members__ else None
    filters: dict[str, Any] = {"namespace": namespace or None, "flow_id": flow_id or None, "states": states,
                               "since": _moment(start_date), "until": _moment(end_date)}
    with srv.engine.connect() as connection:
        found = srv.executions.in_declared_order(connection, repo.list_executions(connection, limit=LIST_SIZE,
                                                                                  **filters))
        total = repo.count_executions(connection, **filters)
        known = flow_repository.list_flows(connection)
    chosen = {"namespace": namespace or "", "flowId": flow_id or "", "state": state if states else "",
              "startDate": (start_date or "")[:19], "endDate": (end_date or "")[:19]}
    return page(request, "executions.html", executions=[shapes.execution(e) for e in found], total=total,
                size=LIST_SIZE, chosen=chosen, states=list(State.__members__),
                namespaces=sorted({f.namespace for f in known}), flow_ids=sorted({f.flow_id for f in known}))


@router.get("/executions/{execution_id}")
def execution(request: Request, execution_id: str, srv: Srv) -> HTMLResponse:
    found = srv.executions.get(execution_id)  # its log lines come from the page's stream, a page at a time
    flow = _flow(srv, found)
    resume_fields = {} if flow is None else {
        task.id: [input_field(spec) for spec in on_resume] for task in flow.all_tasks()
        if isinstance(task, FlowableTask) and (on_resume := task.resume_inputs())}
    # Executable tasks (Subflow): their task runs' executionId output is the execution they started.
    starters = [] if flow is None else sorted({t.id for t in flow.all_tasks() if isinstance(t, ExecutableTask)})
    return page(request, "execution.html", e=shapes.execution(found), levels=LEVEL_NAMES,
                resume_fields=resume_fields, branches={} if flow is None else branches(flow), starters=starters,
                terminal=sorted(TERMINAL))


def _flow(srv: Server, execution: Execution) -> Flow | None:
    """The flow revision the execution runs (None: deleted since)."""
    try:
        with srv.engine.connect() as connection:
            return srv.flows.revision(connection, execution.namespace, execution.flow_id, execution.flow_revision,
                                      execution.tenant_id)
    except FlowNotFound:
        return None


def branches(flow: Flow) -> dict[str, str]:
    """Which tasks head an ``errors``, ``finally`` or ``afterExecution`` branch (of the flow or of a flowable).

    Task ids are unique in a flow, so the page marks a task run by its task id; the tasks
    nested under a branch's task show under it in the tree.
    """
    marked: dict[str, str] = {}
    groups: list[tuple[str, Any]] = [("errors", flow.errors), ("finally", flow.finally_),
                                     ("afterExecution", flow.after_execution)]
    groups += [(name, tasks) for task in flow.all_tasks() if isinstance(task, FlowableTask)
               for name, tasks in (("errors", task.errors), ("finally", task.finally_))]
    for name, tasks in groups:
        for task in tasks if isinstance(tasks, list) else []:
            if isinstance(task, TaskSpec):
                marked[task.id] = name
    return marked
