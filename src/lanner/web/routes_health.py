"""``/health`` (the process serves) and ``/health/ready`` (database reachable, schema current, not draining)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from lanner import version
from lanner.store import maintenance_flag, migrator
from lanner.store.migration_scripts import head
from lanner.web.context import Server
from lanner.web.deps import server

router = APIRouter()


@router.get("/health")
def health() -> dict[str, Any]:
    return {"status": "UP"}


@router.get("/health/ready")
def ready(srv: Server = Depends(server)) -> JSONResponse:
    checks: dict[str, Any] = {"draining": srv.draining.is_set()}
    try:
        with srv.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        checks["database"] = "UP"
        current = migrator.current_state(srv.engine).current
        checks["schema"] = {"current": current, "expected": head()}
    except Exception as exc:  # the database away: not ready, say why
        checks["database"] = f"DOWN: {type(exc).__name__}"
    ok = (checks.get("database") == "UP" and not checks["draining"]
          and checks.get("schema", {}).get("current") == head())
    return JSONResponse({"status": "UP" if ok else "DOWN", "version": version(), "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/api/v1/configs")
def configs(request: Request, srv: Server = Depends(server)) -> dict[str, Any]:
    """Open without authentication, as in Kestra; ``isBasicAuthInitialized``: the basic-auth user exists."""
    with srv.engine.connect() as connection:
        maintenance = bool((maintenance_flag.read(connection) or {}).get("on"))
    users = request.app.state.users
    return {"version": version(), "schemaVersion": migrator.current_state(srv.engine).current,
            "instanceId": srv.instance_id, "isMaintenanceMode": maintenance, "features": [],
            "isBasicAuthInitialized": users is not None and users.current() is not None}
