"""``/health`` (the process serves) and ``/health/ready`` (database reachable, schema current, not draining)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from lanner import version
from lanner.store import maintenance_flag, migrator
from lanner.store.log_lines import SYSTEM_NAMESPACE
from lanner.store.migration_scripts import head
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.query import OPERATIONS, RESOURCES
from lanner.web.schemas.base import KestraModel

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


class Configuration(KestraModel):
    """Kestra's ``MiscController.Configuration`` (what its UI and clients read at start), with Lanner's own
    fields (schema version, service instance, maintenance mode, features).  Kestra's Enterprise-only and
    cloud settings are false or null."""

    model_config = ConfigDict(extra="allow")

    uuid: str | None = None
    version: str
    edition: str = "OSS"
    commit_id: str | None = None
    commit_date: str | None = None
    chart_default_duration: str | None = "P30D"
    flow_template: str | None = None
    is_custom_dashboards_enabled: bool = True  # /dashboards is served
    is_task_run_enabled: bool = True
    is_anonymous_usage_enabled: bool = False
    is_ui_anonymous_usage_enabled: bool = False
    is_template_enabled: bool = False
    environment: dict[str, Any] | None = None
    url: str | None = None
    preview: dict[str, Any] | None = None
    system_namespace: str = SYSTEM_NAMESPACE
    hidden_labels_prefixes: list[str] = Field(default_factory=list)
    resource_to_filters: list[dict[str, Any]] = Field(default_factory=list)
    is_ai_enabled: bool = False
    is_ai_api_key_configured: bool = False
    is_basic_auth_initialized: bool = False
    plugins_hub_url: str | None = None
    plugins_hash: int | None = None
    is_plugin_auto_install_enabled: bool = False
    # Lanner's own
    schema_version: str | None = None
    instance_id: str | None = None
    is_maintenance_mode: bool = False
    features: list[str] = Field(default_factory=list)


@router.get("/api/v1/configs", response_model=Configuration, tags=["Misc"])
def configs(request: Request, srv: Server = Depends(server)) -> Configuration:
    """Open without authentication, as in Kestra; ``isBasicAuthInitialized``: the basic-auth user exists."""
    with srv.engine.connect() as connection:
        maintenance = bool((maintenance_flag.read(connection) or {}).get("on"))
    users = request.app.state.users
    return Configuration(
        uuid=srv.instance_id, version=version(), schema_version=migrator.current_state(srv.engine).current,
        instance_id=srv.instance_id, is_maintenance_mode=maintenance,
        is_basic_auth_initialized=users is not None and users.current() is not None,
        resource_to_filters=[{"key": resource, "filters": [{"field": name, "operations": list(OPERATIONS[name])}
                                                           for name in fields]}
                             for resource, fields in RESOURCES.items()])
