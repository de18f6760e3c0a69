"""The cluster's service instances over HTTP (``GET /api/v1/cluster/instances``), and its set-aside messages.

What ``lanner sys cluster status`` shows, as JSON: every registered instance, newest
first, with its heartbeat age measured by the database's clock (the machines' clocks
need not agree; the database's is the one the coordinator judges by).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from lanner.model.service_state import ServiceState
from lanner.store import deliveries, service_instances
from lanner.store.service_instances import Instance
from lanner.timestamps import instant
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError

router = APIRouter(prefix="/api/v1/cluster", tags=["Cluster"])


@router.get("/instances")
def instances(state: list[str] = Query(default=[], description="Only instances in these states (repeatable)."),
              srv: Server = Depends(server)) -> list[dict[str, Any]]:
    wanted = parse_states(state)
    with srv.engine.connect() as connection:
        now = service_instances.database_now(connection)
        found = service_instances.list_instances(connection, wanted)
    return [instance(value, now) for value in newest_first(found)]


def parse_states(raw: list[str]) -> list[ServiceState] | None:
    """``state=`` parameters as states (None: all); a 400 naming the valid ones otherwise."""
    if not raw:
        return None
    valid = [str(s) for s in ServiceState]
    unknown = [value for value in raw if value.upper() not in valid]
    if unknown:
        raise ApiError(400, f"unknown state {', '.join(map(repr, unknown))}: expected one of {', '.join(valid)}")
    return [ServiceState(value.upper()) for value in raw]


def newest_first(found: list[Instance]) -> list[Instance]:
    return sorted(found, key=lambda i: (i.started_at, i.id), reverse=True)


def instance(value: Instance, now: datetime) -> dict[str, Any]:
    return {
        "id": value.id, "type": value.service_type, "hostname": value.hostname, "pid": value.pid,
        "version": value.lanner_version, "schemaVersion": value.schema_version, "state": str(value.state),
        "startedAt": instant(value.started_at), "heartbeatAt": instant(value.heartbeat_at),
        "heartbeatAgeSeconds": round(max(0.0, (now - value.heartbeat_at).total_seconds()), 3),
        "runningJobs": value.running_jobs, "settings": value.settings,
        "histories": [{"state": h.get("state"), "date": _date(h.get("date")), "reason": h.get("reason")}
                      for h in value.history],
    }


def _date(raw: Any) -> Any:
    # History dates are stored as ISO text with +00:00; the API writes UTC as Z, as elsewhere.
    return raw.replace("+00:00", "Z") if isinstance(raw, str) else raw


@router.get("/set-aside")
def set_aside(srv: Server = Depends(server)) -> dict[str, Any]:
    """Messages set aside after ``lanner.queue.max-deliveries`` deliveries that did not complete, newest first."""
    with srv.engine.connect() as connection:
        total = deliveries.count(connection) or 0
        found = deliveries.listed(connection) if total else []
    return {"total": total, "results": [value.shape() for value in found]}
