"""HTTP basic authentication (``lanner.server.basic-auth``), as in Kestra's open-source edition.

When enabled, every route but the health endpoints and ``/metrics`` needs the configured
user name and password; they are compared in constant time.  ``/metrics`` stays open
like the probes: scrapers (Prometheus, a Kubernetes ServiceMonitor) reach each pod
directly, and it holds only counts and instance ids, no flow, input or host name.
Basic authentication sends the password with every request: serve Lanner behind a
reverse proxy that terminates TLS.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lanner.web.errors import body

if TYPE_CHECKING:
    from starlette.middleware.base import RequestResponseEndpoint

    from lanner.config.settings import BasicAuth

OPEN = ("/health", "/metrics")  # probes and scrapers must not need credentials


class BasicAuthMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, settings: BasicAuth) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self._user = settings.username.encode()
        self._password = settings.password.encode()

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith(OPEN) or self._allowed(request.headers.get("authorization", "")):
            return await call_next(request)
        return JSONResponse(body("authentication required"), status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="Lanner"'})

    def _allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # Both compared, always: how long it takes says nothing about which one was wrong.
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return user_ok and password_ok
