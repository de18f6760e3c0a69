"""The login form: signs a browser in with the basic-auth credentials, as a session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lanner.web.auth import COOKIE, SESSION_SECONDS
from lanner.web.ui_render import page

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only back into the UI: an open redirect would let a link send a signed-in user anywhere.
    if target and target.startswith("/ui") and not target.startswith("/ui/login"):
        return target
    return "/ui/executions"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter
    if request.app.state.credentials is None:  # authentication is off: nothing to sign in to
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(request, "login.html", next=_safe_next(next), problem=None)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/ui/executions")) -> Response:  # noqa: A002
    credentials = request.app.state.credentials
    if credentials is None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if not credentials.valid(username.encode(), password.encode()):
        response = page(request, "login.html", next=_safe_next(next), problem="Wrong user name or password.")
        response.status_code = 401
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, credentials.session(), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.get("/logout")
def logout() -> HTMLResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response  # type: ignore[return-value]
