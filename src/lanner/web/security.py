"""What keeps the webserver from being an open door: where it listens, whom it answers, what browsers may do.

An orchestrator runs code by design, so a request that creates and runs a flow is as
good as a shell on the workers.  Four rules guard it:

- **Listening.** The default address is loopback (``lanner.server.host``).  Listening
  anywhere else without authentication is refused at start-up
  (:func:`check_exposure`), unless ``lanner.server.allow-unauthenticated`` says it is
  meant, which is then logged as a warning at every start.  Authentication on without
  a user yet counts as on: until the setup page creates the user, the API answers 401.
- **Host names** (DNS rebinding: a hostile page whose name resolves to 127.0.0.1).  A
  request whose ``Host`` is not an allowed name is refused (400).  By default, a
  webserver on loopback answers only to loopback names; ``lanner.server.allowed-hosts``
  lists others.
- **Cross-site requests** (CSRF: a hostile page posting to the API from a visitor's
  browser).  A state-changing request (POST, PUT, PATCH, DELETE) that a browser marks as
  coming from another origin (``Origin``, else ``Referer``) is refused (403).  Clients
  that are not browsers send neither header and are unaffected.  With authentication
  on, a request authenticated by the UI's session cookie alone must also carry the
  header the UI's scripts send (``X-Lanner-UI``), which no cross-site page can add
  without the server's consent (:mod:`lanner.web.auth`).
- **Response headers**: every answer says ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin``; pages also send a
  ``Content-Security-Policy`` that lets them load scripts from Lanner only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from lanner.errors import ConfigError
from lanner.web.errors import body as error_body

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin")]
# UI pages: scripts and styles from Lanner only (inline styles allowed: a style cannot run code).
_PAGE_POLICY = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                b"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# The API docs page: Swagger UI starts from an inline script that FastAPI writes.
_DOCS_POLICY = (b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, authenticated: bool, allow_unauthenticated: bool) -> None:
    """Refuse (ConfigError) to listen beyond loopback without authentication unless that is explicitly allowed."""
    if authenticated or is_loopback(host):
        return
    if allow_unauthenticated:
        log.warning("the webserver listens on %s WITHOUT authentication (lanner.server.allow-unauthenticated): "
                    "anyone who can reach it can run code on the workers", host)
        return
    raise ConfigError(
        f"refusing to listen on {host} without authentication: anyone who can reach it could run code on the "
        "workers",
        "Enable authentication (lanner.server.basic-auth.enabled: true; with no username and password set, the "
        "first visit of the UI creates the user on its setup page), or listen "
        "on loopback (lanner.server.host: 127.0.0.1, or --host 127.0.0.1), or, if a proxy in front of Lanner "
        "authenticates every request, set lanner.server.allow-unauthenticated: true.")


def allowed_host_names(host: str, configured: list[str]) -> frozenset[str] | None:
    """The Host names to answer to; None: any."""
    if configured:
        return frozenset(name.lower() for name in configured)
    return frozenset(LOOPBACK_NAMES) if is_loopback(host) else None


class SecurityMiddleware:
    """Checks the Host and the origin of state-changing requests; adds the security headers (pure ASGI)."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _refuse(send, 400, "the request's path or query holds a NUL character (\\0), which no id, "
                                     "label or filter may hold", "Remove it.")
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            await _refuse(send, 400, f"the host name '{_host_name(host)[:100]}' is not one this server answers to",
                          "Add it to lanner.server.allowed-hosts, or use one of: "
                          + ", ".join(sorted(self.allowed_hosts)))
            return
        if scope["method"] in UNSAFE_METHODS:
            source = headers.get("origin") or headers.get("referer")
            if source and source != "null" and not _same_origin(source, host):
                log.warning("refused a cross-site %s %s from %s", scope["method"], scope["path"], source[:200])
                await _refuse(send, 403, "cross-site request refused: it comes from another web site",
                              "Call the API from a client (curl, kestrapy) or from Lanner's own UI.")
                return
            if source == "null":  # a sandboxed or file: page: no site can be trusted
                await _refuse(send, 403, "cross-site request refused: it comes from a page without an origin",
                              "Call the API from a client (curl, kestrapy) or from Lanner's own UI.")
                return
        policy = _DOCS_POLICY if scope["path"] == "/api/docs" else _PAGE_POLICY

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = list(_COMMON)
                content_type = next((value for name, value in message.get("headers", ())
                                     if name.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    extra.append((b"content-security-policy", policy))
                message["headers"] = list(message.get("headers", ())) + extra
            await send(message)

        await self.app(scope, receive, with_headers)


def _host_name(host: str) -> str:
    """``example.com:8080`` -> ``example.com``; ``[::1]:8080`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _same_origin(source: str, host: str) -> bool:
    parts = urlsplit(source)
    # Behind a TLS proxy the browser's scheme differs from ours: compare the host (and port) only.
    return bool(parts.netloc) and parts.netloc.lower() == host.strip().lower() and parts.scheme in ("http", "https")


async def _refuse(send: Send, status: int, message: str, hint: str) -> None:
    body = json.dumps(error_body(f"{message}. {hint}")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *_COMMON]})
    await send({"type": "http.response.body", "body": body})
