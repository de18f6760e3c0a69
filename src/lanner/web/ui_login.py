"""The login form: signs a browser in with the basic-auth user, as a session cookie."""

from __future__ import annotations

import time

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lanner.web import csrf
from lanner.web.auth import COOKIE, SESSION_SECONDS, SETUP_PAGE, client_address, too_many
from lanner.web.ui_render import page

router = APIRouter()
EXPIRED = "This form expired or was sent from another site: please sign in again."


def _safe_next(target: str | None) -> str:
    # Only back into the UI: an open redirect would let a link send a signed-in user anywhere.
    if target and target.startswith("/ui") and not target.startswith(("/ui/login", "/ui/setup")):
        return target
    return "/ui/executions"


def form(request: Request, next: str, problem: str | None, status: int = 200) -> Response:  # noqa: A002
    value = csrf.token(request)
    response = page(request, "login.html", next=_safe_next(next), problem=problem, csrf_token=value)
    response.status_code = status
    return csrf.remember(response, request, value)


def sign_in(request: Request, target: str) -> Response:
    """Redirect to ``target`` with a new session cookie for the current user."""
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(COOKIE, request.app.state.users.current().session(), max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter
    users = request.app.state.users
    if users is None:  # authentication is off: nothing to sign in to
        return RedirectResponse(_safe_next(next), status_code=303)
    if users.current() is None:  # no user yet: create it first
        return RedirectResponse(SETUP_PAGE, status_code=303)
    return form(request, next or "", None)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/ui/executions"), csrf_token: str = Form("")) -> Response:  # noqa: A002
    users = request.app.state.users
    if users is None:
        return RedirectResponse(_safe_next(next), status_code=303)
    credentials = users.current()
    if credentials is None:
        return RedirectResponse(SETUP_PAGE, status_code=303)
    if not csrf.valid(request, csrf_token):
        return form(request, next, EXPIRED, status=403)
    client = client_address(request)
    wait = request.app.state.failed_sign_ins.retry_after(client)
    if wait:
        return too_many(wait)
    if not credentials.valid(username.encode(), password.encode()):
        request.app.state.failed_sign_ins.failed(client, username, "login form")
        return form(request, next, "Wrong user name or password.", status=401)
    return sign_in(request, next)


@router.get("/logout")
def logout(request: Request) -> HTMLResponse:
    """Sign out: the session ends on every webserver, not only in this browser."""
    users = request.app.state.users
    credentials = users.current() if users is not None else None
    session_id = credentials.session_id(request.cookies.get(COOKIE, "")) if credentials is not None else None
    if session_id is not None:
        request.app.state.revoked_sessions.revoke(session_id, time.time() + SESSION_SECONDS)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response  # type: ignore[return-value]
