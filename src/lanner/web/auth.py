"""HTTP basic authentication (``lanner.server.basic-auth``), as in Kestra's open-source edition.

When enabled, every route but the health endpoints, ``/metrics``, ``/api/v1/configs`` and
the configured ``open-urls`` needs the user name and password: the configuration's, or
those of the user created on the setup page (:mod:`lanner.web.auth_users`); until that
user exists, every UI page leads to the setup page and the API answers 401.  They are
compared in constant time.  A browser may instead sign
in once on the UI's login form (``/ui/login``): it then carries a session cookie
(HttpOnly, SameSite=Strict, Secure over HTTPS, 12 hours) signed with a key derived from
the credentials, so every webserver of a cluster accepts it and changing the password
ends every session.  Signing out ends that session on every webserver: its id is
recorded in the database (``instance_settings``), which each webserver reads at most
once a second.  A state-changing request authenticated by the cookie alone must carry
the ``X-Lanner-UI`` header that the UI's scripts send: a page of another site cannot
add it (cross-site request forgery).  Failed sign-ins (form or header) are logged with
the client's address, and a client with 10 failures within 5 minutes is refused (429)
until the oldest is 5 minutes old.
A request for a UI page without either is sent to the login form.  ``/metrics`` stays open
like the probes: scrapers (Prometheus, a Kubernetes ServiceMonitor) reach each pod
directly, and it holds only counts and instance ids, no flow, input or host name.
Basic authentication sends the password with every request: serve Lanner behind a
reverse proxy that terminates TLS.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import quote

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from lanner.store import settings_repository
from lanner.store.database import write_connection
from lanner.web.errors import body
from lanner.web.security import UNSAFE_METHODS

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from starlette.middleware.base import RequestResponseEndpoint
    from starlette.types import ASGIApp

    from lanner.web.auth_users import Credentials, UserSource

log = logging.getLogger(__name__)

# Probes and scrapers must not need credentials, nor the login and setup forms and what they load
# (nor ``/`` itself, only a redirect to ``/ui/``, which leads to the login form).  The configured
# ``open-urls`` (Kestra's; by default its webhooks, which their key protects) are added to these.
OPEN = ("/health", "/metrics", "/ui/login", "/ui/setup", "/ui/static/")
CONFIGS = "/api/v1/configs"  # open, as in Kestra: what a client needs before it signs in (no secret)
SETUP_PAGE = "/ui/setup"
# Kestra's setup endpoints (with and without its tenant), open until the user exists.
SETUP_API = ("/api/v1/basicAuth", "/api/v1/main/basicAuth", "/api/v1/basicAuthValidationErrors")
COOKIE = "lanner_session"
SESSION_SECONDS = 12 * 3600
UI_HEADER = "x-lanner-ui"
MAX_FAILURES = 10  # failed sign-ins of one client within FAILURE_WINDOW before it is refused
FAILURE_WINDOW = 300.0  # seconds
REVOKED_KEY = "revoked_sessions"  # instance_settings: {session id: when it would have expired}
REVOKED_REFRESH = 1.0  # seconds between two reads of the revoked sessions


class RevokedSessions:
    """Sessions signed out, as recorded in the database; read at most once per :data:`REVOKED_REFRESH`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ids: set[str] = set()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def revoked(self, session_id: str) -> bool:
        with self._lock:
            fresh = time.monotonic() - self._read_at < REVOKED_REFRESH
        if not fresh:
            with self._engine.connect() as connection:
                recorded = settings_repository.get(connection, REVOKED_KEY, {})
            with self._lock:
                self._ids, self._read_at = set(recorded), time.monotonic()
        with self._lock:
            return session_id in self._ids

    def revoke(self, session_id: str, expires: float) -> None:
        """Record a signed-out session (and forget those that expired anyway), for every webserver."""
        now = time.time()
        with write_connection(self._engine) as connection, connection.begin():
            if connection.dialect.name == "postgresql":  # two sign-outs at once must not lose one
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(0x4C53455353)))  # "LSESS"
            recorded = {key: at for key, at in settings_repository.get(connection, REVOKED_KEY, {}).items()
                        if at > now}
            recorded[session_id] = expires
            settings_repository.put(connection, REVOKED_KEY, recorded)
        with self._lock:
            self._ids.add(session_id)


class FailedSignIns:
    """Failed sign-ins per client address, in this process: a client with too many is refused for a while."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < MAX_FAILURES:
                return 0
            return max(int(failures[0] + FAILURE_WINDOW - now) + 1, 1)

    def failed(self, client: str, user: str, how: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # many clients: forget the quiet ones
                for key in [key for key, value in self._failures.items() if not value]:
                    del self._failures[key]
        log.warning("failed sign-in (%s) for user %r from %s", how, user[:100], client)

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        return failures


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(body(f"too many failed sign-ins from this address: try again in {retry_after} s"),
                        status_code=429, headers={"Retry-After": str(retry_after)})


class BasicAuthMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, users: UserSource) -> None:
        super().__init__(app)
        self._users = users
        self._open = OPEN + tuple(users.settings.open_urls)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path == "/" or path.startswith(self._open) or path == CONFIGS:
            return await call_next(request)
        users = self._users
        credentials = users.current() if users.fresh() else await run_in_threadpool(users.current)
        if credentials is None:
            return await self._before_setup(request, call_next)
        header = request.headers.get("authorization", "")
        if header:
            client = client_address(request)
            failures: FailedSignIns = request.app.state.failed_sign_ins
            wait = failures.retry_after(client)
            if wait:
                return too_many(wait)
            # scrypt (a stored user) takes tens of milliseconds: not on the event loop.
            if await run_in_threadpool(_allowed, credentials, header):
                return await call_next(request)
            failures.failed(client, _user_of(header), "Authorization header")
        else:
            session_id = credentials.session_id(request.cookies.get(COOKIE, ""))
            if session_id is not None and not await run_in_threadpool(request.app.state.revoked_sessions.revoked,
                                                                      session_id):
                if request.method in UNSAFE_METHODS and not request.headers.get(UI_HEADER):
                    return JSONResponse(body(
                        "this request needs the X-Lanner-UI header: a session cookie alone does not authorise "
                        "changes (cross-site request forgery). Clients authenticate with an Authorization header."),
                        status_code=403)
                return await call_next(request)
        if path.startswith("/ui") and request.method == "GET":
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
        # No challenge for the UI's own calls: the browser would open its password prompt.
        challenge = {} if request.headers.get(UI_HEADER) else {"WWW-Authenticate": 'Basic realm="Lanner"'}
        return JSONResponse(body("authentication required"), status_code=401, headers=challenge)

    @staticmethod
    async def _before_setup(request: Request, call_next: RequestResponseEndpoint) -> Response:
        """No user yet: only the setup (page and API) answers; every UI page leads to it, the API says 401."""
        path = request.url.path
        if path in SETUP_API:
            return await call_next(request)
        if path.startswith("/ui") and request.method == "GET":
            return RedirectResponse(SETUP_PAGE, status_code=303)
        return JSONResponse(body(
            "authentication required, and no user exists yet: create it on the setup page (/ui/setup) or with "
            "POST /api/v1/basicAuth {\"username\": ..., \"password\": ...}, or set "
            "lanner.server.basic-auth.username and password"), status_code=401)


def _allowed(credentials: Credentials, header: str) -> bool:
    """Whether a basic ``Authorization`` header names the user and its password."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return False
    return credentials.valid(user, password)


def _user_of(header: str) -> str:
    try:
        return base64.b64decode(header.partition(" ")[2], validate=True).partition(b":")[0].decode(errors="replace")
    except (binascii.Error, ValueError):
        return "?"
