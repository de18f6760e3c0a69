"""HTTP basic authentication (``lanner.server.basic-auth``), as in Kestra's open-source edition.

When enabled, every route but the health endpoints and ``/metrics`` needs the configured
user name and password; they are compared in constant time.  A browser may instead sign
in once on the UI's login form (``/ui/login``): it then carries a session cookie
(HttpOnly, SameSite=Strict, 12 hours) signed with a key derived from the credentials, so
every webserver of a cluster accepts it and changing the password ends every session.
A request for a UI page without either is sent to the login form.  ``/metrics`` stays open
like the probes: scrapers (Prometheus, a Kubernetes ServiceMonitor) reach each pod
directly, and it holds only counts and instance ids, no flow, input or host name.
Basic authentication sends the password with every request: serve Lanner behind a
reverse proxy that terminates TLS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from lanner.web.errors import body

if TYPE_CHECKING:
    from starlette.middleware.base import RequestResponseEndpoint

    from lanner.config.settings import BasicAuth

# Probes and scrapers must not need credentials, nor the login form and what it loads
# (nor ``/`` itself, only a redirect to ``/ui/``, which leads to the login form).
OPEN = ("/health", "/metrics", "/ui/login", "/ui/static/")
COOKIE = "lanner_session"
SESSION_SECONDS = 12 * 3600


class Credentials:
    """The configured user and password: checks them, and signs and checks session cookies."""

    def __init__(self, settings: BasicAuth) -> None:
        self._user = settings.username.encode()
        self._password = settings.password.encode()
        # Derived from the credentials: every webserver agrees, and a new password ends old sessions.
        self._key = hmac.new(self._password, b"lanner session v1|" + self._user, hashlib.sha256).digest()

    def valid(self, user: bytes, password: bytes) -> bool:
        # Both compared, always: how long it takes says nothing about which one was wrong.
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return user_ok and password_ok

    def session(self, now: float | None = None) -> str:
        expires = str(int((now or time.time()) + SESSION_SECONDS))
        return f"{expires}.{self._sign(expires)}"

    def session_valid(self, cookie: str, now: float | None = None) -> bool:
        expires, _, signature = cookie.partition(".")
        if not expires.isdigit() or not hmac.compare_digest(signature, self._sign(expires)):
            return False
        return int(expires) > (now or time.time())

    def _sign(self, expires: str) -> str:
        digest = hmac.new(self._key, expires.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class BasicAuthMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, settings: BasicAuth) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self._credentials = Credentials(settings)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path == "/" or path.startswith(OPEN) or self._allowed(request.headers.get("authorization", "")) \
                or self._credentials.session_valid(request.cookies.get(COOKIE, "")):
            return await call_next(request)
        if path.startswith("/ui") and request.method == "GET":
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
        # No challenge for the UI's own calls: the browser would open its password prompt.
        challenge = {} if request.headers.get("x-lanner-ui") else {"WWW-Authenticate": 'Basic realm="Lanner"'}
        return JSONResponse(body("authentication required"), status_code=401, headers=challenge)

    def _allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return self._credentials.valid(user, password)
