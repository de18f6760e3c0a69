"""An operator's actions on many executions (Kestra's ``/executions/{action}/by-ids`` and ``/by-query``).

``by-ids`` takes a JSON list of execution ids (for labels: ``{executionsId, executionLabels}``);
``by-query`` takes the search's ``filters[field][OPERATION]=value`` parameters (and the 0.2x flat
ones) and acts on every execution they match, at most MAX_BULK.  Either acts on all of them in one
transaction or on none: when some execution is missing or cannot take the action, the answer is a
400 listing each refused id and why (Kestra's BulkErrorResponse), and nothing changed.  Otherwise it
is ``{count}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from lanner.durations import parse_duration
from lanner.engine.shell import bulk_actions
from lanner.engine.shell.bulk_actions import Options
from lanner.model.execution import Execution
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.web import query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.routes_execution_actions import LabelBody
from lanner.web.schemas.base import BulkErrorResponse, BulkResponse, KestraModel

router = APIRouter(tags=["Executions"])
MAX_BULK = 10_000  # executions one by-query request may act on
READ = 1000  # executions read at once while matching a query
ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"model": BulkErrorResponse, "description": "Some executions cannot take the action: none did"}}
ACTION_NAMES = {"kill": "kill", "pause": "pause", "resume": "resume", "restart": "restart", "replay": "replay",
                "force-run": "force run", "unqueue": "unqueue", "labels": "set labels",
                "change-status": "change executions state", "delete": "delete"}


class SetLabelsByIds(KestraModel):
    """Kestra's ExecutionControllerSetLabelsByIdsRequest."""

    executions_id: list[str]
    execution_labels: list[LabelBody]


def _answer(srv: Server, action: str, ids: list[str], tenant: str, options: Options | None = None) -> Any:
    try:
        outcome = bulk_actions.run(srv.executions, action, ids, tenant, options)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    if outcome.invalids:
        body = BulkErrorResponse(message=f"invalid bulk {ACTION_NAMES[action]}", invalids=outcome.invalids)
        return JSONResponse(body.model_dump(by_alias=True), status_code=400)
    return BulkResponse(count=outcome.count)


def _matching(request: Request, srv: Server, tenant: str, legacy: dict[str, Any]) -> list[str]:
    """The ids of the executions the request's filters match (400 when more than MAX_BULK)."""
    group = query.parse(request, "EXECUTION", extra=query.legacy(**legacy))
    namespace = _pushed(group, "namespace")
    flow_id = _pushed(group, "flowId")
    states = [leaf.values() for leaf in group.find("state") if leaf.op in (query.Op.EQUALS, query.Op.IN)]
    if any("\x00" in str(value) for value in (namespace, flow_id, *(states[0] if states else ()))):
        return []  # nothing holds a NUL character (and PostgreSQL refuses one in a query)
    now = datetime.now(UTC)
    found: list[str] = []
    offset = 0
    with srv.engine.connect() as connection:
        while True:
            page = repo.list_executions(connection, namespace=namespace, flow_id=flow_id, tenant_id=tenant,
                                        states=states[0] if len(states) == 1 else None, limit=READ, offset=offset,
                                        oldest_first=True)
            found.extend(e.id for e in page if _matches(group, e, now))
            if len(found) > MAX_BULK:
                raise ApiError(400, f"the filters match more than {MAX_BULK} executions: narrow them "
                                    "(a namespace, a flow, a time range) and act on each part in turn")
            if len(page) < READ:
                return found
            offset += READ


def _pushed(group: query.Group, name: str) -> str | None:
    leaves = [leaf for leaf in group.find(name) if leaf.op is query.Op.EQUALS]
    return str(leaves[0].value) if len(leaves) == 1 else None


def _matches(group: query.Group, execution: Execution, now: datetime) -> bool:
    results = (_matches(child, execution, now) if isinstance(child, query.Group) else _leaf(child, execution, now)
               for child in group.children)
    return any(results) if group.logical == "or" else all(results)


def _leaf(leaf: query.Filter, execution: Execution, now: datetime) -> bool:
    negate = leaf.op in (query.Op.NOT_EQUALS, query.Op.NOT_IN)
    if leaf.field == "q":
        text = str(leaf.value).lower()
        hit = any(text in value.lower() for value in (execution.id, execution.namespace, execution.flow_id))
        return hit != negate
    if leaf.field == "timeRange":
        try:
            return execution.state.start_date >= now - parse_duration(str(leaf.value))
        except ValueError as exc:
            raise ApiError(400, f"filters[timeRange]: {exc}") from None
    if leaf.field == "childFilter":
        child = execution.parent_id is not None
        return (child if str(leaf.value).upper() == "CHILD" else not child) != negate
    if leaf.field in ("scope", "kind"):  # every Lanner execution is a user's, of kind NORMAL
        wanted = {v.upper() for v in leaf.values()}
        return bool(wanted & {"USER", "NORMAL"}) != negate
    values: dict[str, Any] = {
        "namespace": execution.namespace, "flowId": execution.flow_id, "state": str(execution.current),
        "labels": execution.labels, "startDate": execution.state.start_date, "endDate": execution.state.end_date,
        "triggerExecutionId": execution.parent_id}
    return query.matches(query.Group("and", (leaf,)), execution, lambda _, name: values.get(name))


def _legacy(namespace: str | None = None, flow_id: str | None = Query(None, alias="flowId"),
            state: list[State] = Query(default=[]), q: str | None = None,
            labels: list[str] = Query(default=[]),
            trigger_execution_id: str | None = Query(None, alias="triggerExecutionId")) -> dict[str, Any]:
    """The 0.2x flat filters of a by-query request."""
    flat: dict[str, Any] = {"namespace": namespace, "flowId": flow_id, "state": [str(s) for s in state],
                            "q": q, "triggerExecutionId": trigger_execution_id}
    for label in labels:
        key, colon, value = label.partition(":")
        if not colon:
            raise ApiError(400, f"label {label[:100]!r}: expected key:value")
        flat.setdefault("labels", {})[key] = value
    return flat


def _register(method: str, action: str, by_ids: Any, by_query: Any) -> None:
    base = "/executions" if action == "delete" else f"/executions/{action}"
    router.add_api_route(f"{base}/by-ids", by_ids, methods=[method], responses=ANSWERS,
                         response_model=BulkResponse)
    router.add_api_route(f"{base}/by-query", by_query, methods=[method], responses=ANSWERS,
                         response_model=BulkResponse)


def _simple(method: str, action: str) -> None:
    """by-ids and by-query for an action that takes nothing but the executions."""
    def by_ids(ids: list[str] = Body(..., description="The execution ids"), tenant: str = Depends(tenants.tenant),
               srv: Server = Depends(server)) -> Any:
        return _answer(srv, action, ids, tenant)

    def by_query(request: Request, legacy: dict[str, Any] = Depends(_legacy), tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> Any:
        return _answer(srv, action, _matching(request, srv, tenant, legacy), tenant)

    by_ids.__name__ = f"{action.replace('-', '_')}_executions_by_ids"
    by_query.__name__ = f"{action.replace('-', '_')}_executions_by_query"
    _register(method, action, by_ids, by_query)


_simple("DELETE", "kill")
for _action in ("pause", "resume", "restart", "force-run"):
    _simple("POST", _action)


def _deleting(include_non_terminated: bool) -> None:
    if include_non_terminated:
        raise ApiError(422, "includeNonTerminated=true: Lanner deletes ended executions only; kill the others "
                            "first, then delete them")


def delete_by_ids(ids: list[str] = Body(...), include_non_terminated: bool = Query(False, alias="includeNonTerminated"),
                  tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    """Delete ended executions (their logs and metrics go with them)."""
    _deleting(include_non_terminated)
    return _answer(srv, "delete", ids, tenant)


def delete_by_query(request: Request, legacy: dict[str, Any] = Depends(_legacy),
                    include_non_terminated: bool = Query(False, alias="includeNonTerminated"),
                    tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    _deleting(include_non_terminated)
    return _answer(srv, "delete", _matching(request, srv, tenant, legacy), tenant)


_register("DELETE", "delete", delete_by_ids, delete_by_query)


def replay_by_ids(ids: list[str] = Body(...), latest_revision: bool = Query(False, alias="latestRevision"),
                  tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    """New executions replaying ended ones from their start, on their revision (or the flow's latest)."""
    return _answer(srv, "replay", ids, tenant, Options(latest_revision=latest_revision))


def replay_by_query(request: Request, legacy: dict[str, Any] = Depends(_legacy),
                    latest_revision: bool = Query(False, alias="latestRevision"),
                    tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    return _answer(srv, "replay", _matching(request, srv, tenant, legacy), tenant,
                   Options(latest_revision=latest_revision))


_register("POST", "replay", replay_by_ids, replay_by_query)


def unqueue_by_ids(ids: list[str] = Body(...), state: State = Query(State.RUNNING),
                   tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    """Take QUEUED executions out of their flow's queue: RUNNING now (the default), CANCELLED or FAILED."""
    return _answer(srv, "unqueue", ids, tenant, Options(state=state))


def unqueue_by_query(request: Request, legacy: dict[str, Any] = Depends(_legacy),
                     new_state: State = Query(State.RUNNING, alias="newState"),
                     tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    return _answer(srv, "unqueue", _matching(request, srv, tenant, legacy), tenant, Options(state=new_state))


_register("POST", "unqueue", unqueue_by_ids, unqueue_by_query)


def labels_by_ids(body: SetLabelsByIds, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    """Add labels to ended executions (a label they have takes the new value)."""
    labels = [(label.key, label.value) for label in body.execution_labels]
    return _answer(srv, "labels", body.executions_id, tenant, Options(labels=labels))


def labels_by_query(request: Request, set_labels: list[LabelBody] = Body(...),
                    legacy: dict[str, Any] = Depends(_legacy), tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> Any:
    return _answer(srv, "labels", _matching(request, srv, tenant, legacy), tenant,
                   Options(labels=[(label.key, label.value) for label in set_labels]))


_register("POST", "labels", labels_by_ids, labels_by_query)


def status_by_ids(ids: list[str] = Body(...), new_status: State = Query(..., alias="newStatus"),
                  tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    """Mark ended executions ``newStatus``, an end state."""
    return _answer(srv, "change-status", ids, tenant, Options(status=new_status))


def status_by_query(request: Request, legacy: dict[str, Any] = Depends(_legacy),
                    new_status: State = Query(..., alias="newStatus"),
                    tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Any:
    return _answer(srv, "change-status", _matching(request, srv, tenant, legacy), tenant, Options(status=new_status))


_register("POST", "change-status", status_by_ids, status_by_query)
