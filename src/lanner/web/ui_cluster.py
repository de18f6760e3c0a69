"""The Services page: the cluster's instances as the database knows them, refreshed while open."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lanner.cluster import versions as cluster_versions
from lanner.model.service_state import ServiceState
from lanner.store import deliveries
from lanner.store import service_instances as instances
from lanner.web.ui_render import Srv, page

router = APIRouter()


@router.get("/services")
def services(request: Request, srv: Srv, all: bool = False) -> HTMLResponse:  # noqa: A002 - the query parameter's name
    with srv.engine.connect() as connection:
        now = instances.database_now(connection)
        found = instances.list_instances(connection)
        held = cluster_versions.held_jobs(connection)
        set_aside = deliveries.count(connection) or 0
    rows: list[dict[str, Any]] = []
    for instance in sorted(found, key=lambda i: i.started_at, reverse=True):
        if instance.state is ServiceState.EMPTY and not all:
            continue
        rows.append({"i": instance, "age": (now - instance.heartbeat_at).total_seconds(),
                     "alive": instance.state.alive,
                     "reason": instance.history[-1].get("reason", "") if instance.history else ""})
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["i"].state)] = counts.get(str(row["i"].state), 0) + 1
    skew = cluster_versions.skew_warning(i.lanner_version for i in found if i.state.alive)
    return page(request, "services.html", rows=rows, counts=sorted(counts.items()), show_all=all, skew=skew, held=held,
                set_aside=set_aside)
