"""Blueprints (Kestra's ``/api/v1/{tenant}/blueprints/community``), from Lanner's own catalogue.

Kestra proxies these routes to its online catalogue; Lanner serves the flows shipped in the
package (:mod:`lanner.blueprints`), so they work offline.  Both path forms are served: Kestra 0.2x's
``/community/{id}[/flow|/graph]`` and 1.x's ``/community/{kind}[/{id}[/source|/graph]]`` (kind ``FLOW``;
the ``DASHBOARD`` and ``APP`` catalogues are empty).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from lanner.blueprints import Blueprint, catalogue, find, tag_id
from lanner.flows.graph import flow_graph
from lanner.web import flow_bodies, query
from lanner.web.errors import ApiError
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.blueprints import BlueprintItem, BlueprintItemWithSource, BlueprintTagItem
from lanner.web.schemas.flows import FlowGraph

router = APIRouter(prefix="/blueprints/community", tags=["Blueprints"])
KINDS = ("FLOW", "DASHBOARD", "APP")
SORTS = ("id", "title", "publishedAt")
YAML_TYPE = "application/x-yaml"


def _kind(segment: str) -> str | None:
    return segment.upper() if segment.upper() in KINDS else None


def _item(blueprint: Blueprint) -> BlueprintItem:
    return BlueprintItem(id=blueprint.id, title=blueprint.title, description=blueprint.description,
                         included_tasks=list(blueprint.included_tasks), tags=[tag_id(t) for t in blueprint.tags],
                         published_at=blueprint.published_at)


def _with_source(blueprint: Blueprint) -> BlueprintItemWithSource:
    return BlueprintItemWithSource(**_item(blueprint).model_dump(), source=blueprint.source, kind="FLOW")


def _found(blueprint_id: str, kind: str = "FLOW") -> Blueprint:
    blueprint = find(blueprint_id) if kind == "FLOW" else None
    if blueprint is None:
        raise ApiError(404, f"no {kind.lower()} blueprint {blueprint_id[:255]!r} in Lanner's catalogue",
                       [f"list them with GET /api/v1/main/blueprints/community (ids: "
                        f"{', '.join(b.id for b in catalogue())})"])
    return blueprint


def _search(kind: str, q: str | None, tags: list[str], sort: str | None,
            paging: query.Page) -> PagedResults[BlueprintItem]:
    found = list(catalogue()) if kind == "FLOW" else []
    if q:
        text = q.lower()
        found = [b for b in found if text in b.title.lower() or text in b.description.lower()
                 or text in b.id or any(text in t.lower() for t in b.tags)]
    wanted = {tag_id(t) for value in tags for t in value.split(",") if t.strip()}
    if wanted:
        found = [b for b in found if wanted & {tag_id(t) for t in b.tags}]
    if sort:
        for order in reversed(query.sorts([sort], SORTS, sort)):
            key = {"id": lambda b: b.id, "title": lambda b: b.title.lower(),
                   "publishedAt": lambda b: b.published_at}[order.field]
            found.sort(key=key, reverse=order.descending)
    return PagedResults(results=[_item(b) for b in paging.of(found)], total=len(found))


def _tags(kind: str, q: str | None) -> list[BlueprintTagItem]:
    names: dict[str, BlueprintTagItem] = {}
    for blueprint in catalogue() if kind == "FLOW" else ():
        for name in blueprint.tags:
            names.setdefault(tag_id(name), BlueprintTagItem(id=tag_id(name), name=name,
                                                            published_at=blueprint.published_at))
    return [t for t in names.values() if not q or q.lower() in t.name.lower()]


def _graph(blueprint: Blueprint) -> FlowGraph:
    flow, _ = flow_bodies.valid(blueprint.source, f"{blueprint.id}.yaml")
    return FlowGraph.model_validate(flow_graph(flow))


def _yaml(blueprint: Blueprint) -> Response:
    return Response(blueprint.source, media_type=YAML_TYPE)


Q = Query(None, max_length=1000, description="Text in the title, description, id or tags")
TAGS = Query([], description="Tag ids (repeated or comma-separated): blueprints with any of them")
SORT = Query(None, description="id, title or publishedAt, with :asc or :desc")


@router.get("", response_model=PagedResults[BlueprintItem])
def search(q: str | None = Q, tags: list[str] = TAGS, sort: str | None = SORT,
           paging: query.Page = Depends(query.page)) -> PagedResults[BlueprintItem]:
    return _search("FLOW", q, tags, sort, paging)


@router.get("/tags", response_model=list[BlueprintTagItem])
def tags(q: str | None = Q) -> list[BlueprintTagItem]:
    return _tags("FLOW", q)


@router.get("/{segment}", response_model=None)
def one(segment: str, q: str | None = Q, tags: list[str] = TAGS, sort: str | None = SORT,
        paging: query.Page = Depends(query.page)) -> Any:
    """A blueprint by id (0.2x), or the search of a kind's catalogue (``/community/FLOW``, 1.x)."""
    kind = _kind(segment)
    if kind is not None:
        return _search(kind, q, tags, sort, paging)
    return _with_source(_found(segment))


@router.get("/{blueprint_id}/flow", response_class=Response, responses={200: {"content": {YAML_TYPE: {}}}})
def flow_source(blueprint_id: str) -> Response:
    """The blueprint's flow, as YAML (0.2x)."""
    return _yaml(_found(blueprint_id))


@router.get("/{blueprint_id}/graph", response_model=FlowGraph)
def graph(blueprint_id: str) -> FlowGraph:
    """The blueprint's flow drawn as Kestra's FlowGraph (0.2x)."""
    return _graph(_found(blueprint_id))


@router.get("/{kind}/{blueprint_id}", response_model=None)
def of_kind(kind: str, blueprint_id: str, q: str | None = Q) -> Any:
    """A blueprint of a kind (1.x), or the kind's tags (``{kind}/tags``)."""
    found = _kind(kind)
    if found is None:
        raise ApiError(404, f"no blueprint route .../community/{kind[:100]}/{blueprint_id[:100]}: use {{id}}/flow, "
                            f"{{id}}/graph or {{kind}}/{{id}}, kind one of {', '.join(KINDS)}")
    return _tags(found, q) if blueprint_id == "tags" else _with_source(_found(blueprint_id, found))


@router.get("/{kind}/{blueprint_id}/source", response_class=Response, responses={200: {"content": {YAML_TYPE: {}}}})
def source_of_kind(kind: str, blueprint_id: str) -> Response:
    """A blueprint's source, as YAML (1.x)."""
    return _yaml(_found(blueprint_id, _known_kind(kind)))


@router.get("/{kind}/{blueprint_id}/graph", response_model=FlowGraph)
def graph_of_kind(kind: str, blueprint_id: str) -> FlowGraph:
    """A blueprint's flow drawn as Kestra's FlowGraph (1.x)."""
    return _graph(_found(blueprint_id, _known_kind(kind)))


def _known_kind(segment: str) -> str:
    kind = _kind(segment)
    if kind is None:
        raise ApiError(404, f"no blueprint kind {segment[:100]!r}: use one of {', '.join(KINDS)}")
    return kind
