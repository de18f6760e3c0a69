"""The Triggers page: every trigger with its next and last fire date and state, and what an operator does to it.

Its buttons (enable or disable, unlock, start, pause, resume or cancel a backfill) call
``/api/v1/triggers`` with ``fetch`` (``static/triggers.js``); the flow page shows the same
table for its flow's triggers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lanner.ops import triggers as ops
from lanner.store.trigger_repository import TriggerRow
from lanner.web.ui_render import Srv, page

router = APIRouter()
SHOWN = 500  # triggers on one page


def rows(found: list[TriggerRow]) -> list[dict[str, Any]]:
    """What the table shows of each trigger."""
    return [{"t": row, "api": ops.describe(row), "type": ops.short_type(row.type),
             "progress": ops.backfill_progress(row.backfill)} for row in found]


@router.get("/triggers")
def triggers(request: Request, srv: Srv, q: str | None = None, namespace: str | None = None) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found, total = ops.search(connection, namespace=namespace or None, query=q or None, limit=SHOWN)
        namespaces = sorted({row.namespace for row in ops.search(connection)[0]})
    return page(request, "triggers.html", rows=rows(found), total=total, q=q or "", namespace=namespace or "",
                namespaces=namespaces)
