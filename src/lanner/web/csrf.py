"""Tokens for the UI's HTML forms (sign-in, setup), against cross-site request forgery.

The UI's scripts prove their origin with the ``X-Lanner-UI`` header; a plain HTML form
cannot send a header, so it carries a token instead: a random value set both in a
cookie (HttpOnly, SameSite=Strict) and in a hidden field of the form.  A page of another
site can make a browser post a form, but can neither read nor set that cookie, so its
post does not carry the matching value (double-submit).  Nothing is kept on the server:
every webserver of a cluster checks any form.
"""

from __future__ import annotations

import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "lanner_form"
FIELD = "csrf_token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def token(request: Request) -> str:
    """The browser's form token, or a new one (to set with :func:`remember`)."""
    current = request.cookies.get(COOKIE, "")
    return current if _TOKEN.match(current) else secrets.token_urlsafe(32)


def remember(response: Response, request: Request, value: str) -> Response:
    response.set_cookie(COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/ui")
    return response


def valid(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(COOKIE, "")
    return bool(_TOKEN.match(expected)) and hmac.compare_digest(expected.encode(), submitted.encode())
