"""Maintenance mode over HTTP: ``/api/v1/instance/maintenance`` (status), ``.../enter`` and ``.../exit``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from lanner.ops import maintenance as ops
from lanner.web.context import Server
from lanner.web.deps import server

router = APIRouter(prefix="/api/v1/instance", tags=["Instance"])


class Enter(BaseModel):
    reason: str | None = None


@router.get("/maintenance")
def status(srv: Server = Depends(server)) -> dict[str, Any]:
    """Whether maintenance mode is on, what still runs, and whether the instance is quiet."""
    return ops.status(srv.engine).as_json()


@router.post("/maintenance/enter")
def enter(request: Request, body: Enter | None = None, srv: Server = Depends(server)) -> dict[str, Any]:
    """New executions wait in QUEUED; running tasks finish; no task starts anywhere once this answers."""
    who = f"api {request.client.host if request.client else ''}".strip()
    return ops.enter(srv.engine, by=who, reason=body.reason if body else None).as_json()


@router.post("/maintenance/exit")
def leave(request: Request, srv: Server = Depends(server)) -> dict[str, Any]:
    """Queued executions start again, oldest first, within their flows' concurrency limits."""
    who = f"api {request.client.host if request.client else ''}".strip()
    restarted = ops.leave(srv.engine, by=who)
    return {**ops.status(srv.engine).as_json(), "restarted": restarted}
