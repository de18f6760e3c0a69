"""Many flows at once (Kestra's ``/api/v1/{tenant}/flows/...`` on literal paths): search, search in
sources, the namespaces in use, a multi-document deployment, and enabling, disabling or deleting flows
named by id or matched by a search.

Disabling a flow is what Kestra does: a new revision whose source says ``disabled: true``.  Its
triggers stay as they are but fire no more (the scheduler, the Flow triggers and the webhooks check
the flow), and new executions of it are refused; enabling it writes ``disabled: false``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from lanner.flows.disabling import with_disabled
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.web import flow_bodies, query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.flow_bodies import YAML
from lanner.web.limits import blocking
from lanner.web.params import labels as label_params
from lanner.web.routes_flows import DeployedFlow, deploy_documents
from lanner.web.schemas import flows as shapes
from lanner.web.schemas.base import BulkResponse, IdWithNamespace, PagedResults
from lanner.web.schemas.flows import Flow, SourceMatch, SourceSearchResult

if TYPE_CHECKING:
    from sqlalchemy import Connection

router = APIRouter(prefix="/flows", tags=["Flows"])
SYSTEM_NAMESPACE = "system"  # Kestra's system flows' namespace (scope SYSTEM)
SORTS = ("id", "namespace", "revision")
MAX_MATCHES = 20  # source lines shown per flow


def filters(request: Request, namespace: str | None = Query(None, description="0.2x: this namespace and its children"),
            q: str | None = Query(None, description="0.2x: text in the namespace or id"),
            labels: list[str] = Query([], description="0.2x: key:value, repeatable")) -> query.Group:
    """The search's ``filters[...]`` with the 0.2x flat parameters ANDed (see :mod:`lanner.web.query`)."""
    extra: list[query.Filter] = []
    if namespace:
        extra.append(query.Filter("namespace", query.Op.PREFIX, namespace))
    if q:
        extra.append(query.Filter("q", query.Op.EQUALS, q))
    if labels:
        extra.append(query.Filter("labels", query.Op.EQUALS, label_params(labels)))
    return _text_search(query.parse(request, "FLOW", extra=extra))


def _text_search(group: query.Group) -> query.Group:
    """``q`` looks for text (Kestra's full-text ``q``): EQUALS means contains."""
    children: list[query.Filter | query.Group] = []
    for child in group.children:
        if isinstance(child, query.Group):
            children.append(_text_search(child))
        elif child.field == "q" and child.op == query.Op.EQUALS:
            children.append(query.Filter("q", query.Op.CONTAINS, child.value))
        else:
            children.append(child)
    return query.Group(group.logical, tuple(children))


def _field(flow: flow_repository.Listed, name: str) -> Any:
    return {"namespace": flow.namespace, "flowId": flow.flow_id, "labels": flow.labels,
            "q": f"{flow.namespace}.{flow.flow_id}",
            "scope": "SYSTEM" if flow.namespace == SYSTEM_NAMESPACE else "USER"}.get(name)


def matching(connection: Connection, group: query.Group, tenant: str) -> list[flow_repository.Listed]:
    """The current flows ``group`` matches (read without their sources)."""
    found = flow_repository.list_for_search(connection, tenant_id=tenant)
    return [f for f in found if query.matches(group, f, _field)]


@router.get("/search", response_model=PagedResults[Flow])
def search(group: query.Group = Depends(filters), sort: list[str] = Query([]), page: query.Page = Depends(query.page),
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> PagedResults[Flow]:
    """Flows by ``filters[namespace|flowId|labels|q|scope][OP]``, ``sort=id|namespace|revision:asc|desc``;
    only the page's revisions are read, with the definitions parsed when they were saved."""
    order = query.sorts(sort, SORTS, "namespace:asc,id:asc")
    with srv.engine.connect() as connection:
        found = matching(connection, group, tenant)
        for key in reversed(order):
            attribute = {"id": "flow_id"}.get(key.field, key.field)
            found.sort(key=attrgetter(attribute), reverse=key.descending)
        shown = page.of(found)
        keys = [(f.tenant_id, f.namespace, f.flow_id, f.revision) for f in shown]
        revisions = {(r.namespace, r.flow_id): r for r in flow_repository.get_revisions(connection, keys)}
    results = [shapes.flow(revisions[f.namespace, f.flow_id]) for f in shown if (f.namespace, f.flow_id) in revisions]
    return PagedResults[Flow](results=results, total=len(found))


@router.get("/source", response_model=PagedResults[SourceSearchResult])
def search_sources(q: str = Query(..., min_length=1, description="The text to find in flows' sources"),
                   namespace: str | None = Query(None, description="This namespace and its children"),
                   case_sensitive: bool = Query(False, alias="caseSensitive"),
                   whole_word: bool = Query(False, alias="wholeWord"), regex: bool = False,
                   page: query.Page = Depends(query.page), tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> PagedResults[SourceSearchResult]:
    """Flows whose source contains ``q`` (a regular expression with ``regex=true``), each with its matching
    lines (at most 20 per flow)."""
    pattern = _pattern(q, case_sensitive=case_sensitive, whole_word=whole_word, regex=regex)
    with srv.engine.connect() as connection:
        flows = flow_repository.list_flows(connection, namespace, with_children=bool(namespace), tenant_id=tenant)
    found = []
    for revision in flows:
        matches = [SourceMatch(line=number, column=hit.start() + 1, snippet=line.strip()[:300])
                   for number, line in enumerate(revision.source.splitlines(), start=1)
                   if (hit := pattern.search(line))]
        if matches:
            found.append(SourceSearchResult(namespace=revision.namespace, id=revision.flow_id,
                                            matches=matches[:MAX_MATCHES]))
    return PagedResults[SourceSearchResult](results=page.of(found), total=len(found))


def _pattern(q: str, *, case_sensitive: bool, whole_word: bool, regex: bool) -> re.Pattern[str]:
    text = q if regex else re.escape(q)
    if whole_word:
        text = rf"\b(?:{text})\b"
    try:
        return re.compile(text, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise ApiError(400, f"q: {q[:100]!r} is not a regular expression: {exc}") from None


@router.get("/distinct-namespaces", response_model=list[str])
def distinct_namespaces(q: str | None = Query(None, description="Text the namespace contains"),
                        tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[str]:
    """The namespaces holding flows, in order; ``q``: those containing this text (any case)."""
    with srv.engine.connect() as connection:
        found = flow_repository.namespaces(connection, tenant)
    return [n for n in found if not q or q.lower() in n.lower()]


@router.post("/bulk", openapi_extra=YAML, response_model=list[DeployedFlow])
async def bulk_update(request: Request, delete: bool = True, namespace: str | None = None,
                      allow_namespace_child: bool = Query(False, alias="allowNamespaceChild"),
                      tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[DeployedFlow]:
    """Deploys every flow of a multi-document YAML body at once, all or nothing.  With ``namespace``, every
    flow must be in it (or a child with ``allowNamespaceChild``), and with ``delete`` (default true) its
    other flows are deleted; without it, nothing is deleted."""
    source = await flow_bodies.source(request)
    return await blocking(deploy_documents, srv, tenant, source, namespace, delete, allow_namespace_child)


IDS = Body(..., description="The flows, as [{namespace, id}]")


@router.post("/disable/by-ids", response_model=BulkResponse)
def disable_by_ids(ids: list[IdWithNamespace] = IDS, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> BulkResponse:
    """Disables the flows (a new revision each with ``disabled: true``); 404 naming flows that do not exist,
    and nothing changed."""
    return _set_disabled(srv, tenant, _keys(ids), None, True)


@router.post("/enable/by-ids", response_model=BulkResponse)
def enable_by_ids(ids: list[IdWithNamespace] = IDS, tenant: str = Depends(tenants.tenant),
                  srv: Server = Depends(server)) -> BulkResponse:
    return _set_disabled(srv, tenant, _keys(ids), None, False)


@router.post("/disable/by-query", response_model=BulkResponse)
def disable_by_query(group: query.Group = Depends(filters), tenant: str = Depends(tenants.tenant),
                     srv: Server = Depends(server)) -> BulkResponse:
    """Disables every flow the search matches (every flow when it has no filter, as Kestra)."""
    return _set_disabled(srv, tenant, None, group, True)


@router.post("/enable/by-query", response_model=BulkResponse)
def enable_by_query(group: query.Group = Depends(filters), tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> BulkResponse:
    return _set_disabled(srv, tenant, None, group, False)


@router.delete("/delete/by-ids", response_model=BulkResponse)
def delete_by_ids(ids: list[IdWithNamespace] = IDS, tenant: str = Depends(tenants.tenant),
                  srv: Server = Depends(server)) -> BulkResponse:
    """Deletes the flows and their triggers; 404 naming flows that do not exist, and nothing deleted."""
    return _delete(srv, tenant, _keys(ids), None)


@router.delete("/delete/by-query", response_model=BulkResponse)
def delete_by_query(group: query.Group = Depends(filters), tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> BulkResponse:
    """Deletes every flow the search matches (every flow when it has no filter, as Kestra)."""
    return _delete(srv, tenant, None, group)


def _keys(ids: Sequence[IdWithNamespace]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((i.namespace, i.id) for i in ids))


def targets(connection: Connection, tenant: str, keys: list[tuple[str, str]] | None,
            group: query.Group | None) -> list[flow_repository.FlowRevision]:
    """The current revisions of the flows named (404 naming the missing ones) or matched."""
    if keys is None:
        assert group is not None
        keys = [(f.namespace, f.flow_id) for f in matching(connection, group, tenant)]
    found = [(key, flow_repository.get_flow(connection, *key, tenant_id=tenant)) for key in keys]
    if missing := [f"{ns}.{flow_id}" for (ns, flow_id), revision in found if revision is None]:
        raise ApiError(404, f"flow{'s' if len(missing) > 1 else ''} not found: {', '.join(missing[:20])}; "
                            "nothing was changed")
    return [revision for _, revision in found if revision is not None]


def _set_disabled(srv: Server, tenant: str, keys: list[tuple[str, str]] | None, group: query.Group | None,
                  disabled: bool) -> BulkResponse:
    changed = 0
    with write_connection(srv.engine) as connection, connection.begin():
        for revision in targets(connection, tenant, keys, group):
            if (revision.parsed().get("disabled") is True) == disabled:
                continue
            flow, stored = flow_bodies.valid(with_disabled(revision.source, disabled),
                                             f"{revision.namespace}.{revision.flow_id}")
            if flow.disabled != disabled:
                raise ApiError(409, f"flow {revision.namespace}.{revision.flow_id}: its source could not be set to "
                                    f"disabled: {str(disabled).lower()}; edit it and set the property yourself")
            flow_repository.save_flow(connection, flow, stored, tenant)
            changed += 1
    return BulkResponse(count=changed)


def _delete(srv: Server, tenant: str, keys: list[tuple[str, str]] | None, group: query.Group | None) -> BulkResponse:
    with write_connection(srv.engine) as connection, connection.begin():
        found = targets(connection, tenant, keys, group)
        for revision in found:
            flow_repository.delete_flow(connection, revision.namespace, revision.flow_id, tenant)
    return BulkResponse(count=len(found))
