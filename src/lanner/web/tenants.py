"""Tenants in the API's paths: ``/api/v1/{tenant}/...``, as Kestra serves every route since 0.23.

An instance serves one tenant, ``main`` (Kestra's open-source edition; tenant ids are already the
leading key of every table).  A path naming another tenant answers 404 naming it.

The 0.2x paths without a tenant (``/api/v1/flows/...``) stay: :class:`TenantAliases` rewrites them to
the ``main`` tenant's path before routing, so each route is declared once, under its tenant form, and
the OpenAPI document shows that form.  The rewrite runs after authentication, which therefore sees
the path the client sent (``open-urls`` match either form as written).

Routes that are tenant-free in Kestra (``/api/v1/configs``, ``/api/v1/plugins``, the instance and
cluster routes, health) are not rewritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Path

from lanner.model.tenant import DEFAULT_TENANT
from lanner.web.errors import ApiError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

TENANTS = frozenset({DEFAULT_TENANT})  # the tenants this instance serves
API = "/api/v1/"
PREFIX = "/api/v1/{tenant}"
ALIASED = "lanner.aliased"  # set in the ASGI scope of a request whose 0.2x path was rewritten

# The route families that carry a tenant: their first segment after /api/v1/ in a 0.2x path.  A
# tenant cannot be named like one of them (its paths would be read as the family's).
SCOPED = frozenset({
    "flows", "executions", "logs", "namespaces", "triggers", "kv", "metrics", "stats", "usages",
    "taskruns", "outputs", "concurrency-limit", "worker-selectors", "dashboards", "templates", "secrets",
    "blueprints",
})


def tenant(tenant: str = Path(description="The tenant: `main` on an instance without multi-tenancy")) -> str:
    """The path's tenant, checked: a 404 naming it when this instance does not serve it."""
    if tenant not in TENANTS:
        raise ApiError(404, f"tenant {tenant[:100]!r} not found: this instance serves the tenant "
                            f"{', '.join(sorted(TENANTS))}", [f"use /api/v1/{DEFAULT_TENANT}/..."])
    return tenant


def aliased(path: str) -> str | None:
    """The tenant form of a 0.2x path without a tenant (``/api/v1/flows/x`` → ``/api/v1/main/flows/x``);
    None for any other path."""
    if not path.startswith(API):
        return None
    first = path[len(API):].partition("/")[0]
    if first not in SCOPED:
        return None
    return f"{API}{DEFAULT_TENANT}/{path[len(API):]}"


class TenantAliases:
    """ASGI middleware: serves the 0.2x paths as the ``main`` tenant's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (rewritten := aliased(scope["path"])) is not None:
            scope = dict(scope)
            scope["path"] = rewritten
            scope[ALIASED] = True
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = raw.replace(API.encode(), f"{API}{DEFAULT_TENANT}/".encode(), 1)
        await self.app(scope, receive, send)
