"""Request-scoped access to the server's services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from lanner.web.context import Server


def server(request: Request) -> Server:
    srv: Server = request.app.state.server
    return srv
