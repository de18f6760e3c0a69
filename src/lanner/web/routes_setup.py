"""Creating the basic-auth user on first use, as Kestra 0.24+ does: the setup page and its API.

``POST /api/v1/basicAuth`` (also ``/api/v1/main/basicAuth``, Kestra's path with its
tenant) takes ``{"username": ..., "password": ...}`` and answers 204; it answers without
authentication only while no user exists.  ``GET /api/v1/basicAuthValidationErrors``
lists what the configured credentials lack against Kestra's rules (Lanner uses them all
the same).  ``/ui/setup`` is the same as an HTML form.  See :mod:`lanner.web.auth_users`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from lanner.web import csrf
from lanner.web.auth_users import UserExists, create, problems
from lanner.web.errors import ApiError
from lanner.web.ui_login import sign_in
from lanner.web.ui_render import page

api = APIRouter(prefix="/api/v1", tags=["Misc"])
ui = APIRouter(prefix="/ui", include_in_schema=False)


class BasicAuthCredentials(BaseModel):
    """Kestra's body: ``uid`` (its UI's anonymous id) is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    uid: str | None = None
    username: str | None = None
    password: str | None = None


def setup(request: Request, username: str, password: str) -> None:
    """Create the user, or say why not (:class:`ApiError`: 409 when it may not be created, 422 when invalid)."""
    users = request.app.state.users
    if users is None:
        raise ApiError(409, "basic authentication is off (lanner.server.basic-auth.enabled: false), so there is no "
                            "user to create: set it to true and restart, then create the user")
    if users.configured:
        raise ApiError(409, "the user is set in the configuration (lanner.server.basic-auth.username and password), "
                            "which wins over one created here: change it there")
    if users.current() is not None:
        raise ApiError(409, "the user exists already (created on the setup page): sign in with it")
    found = problems(username, password)
    if found:
        raise ApiError(422, "invalid user: " + "; ".join(found), found)
    try:
        create(request.app.state.server.engine, username, password)
    except UserExists:
        raise ApiError(409, "the user exists already (created on the setup page): sign in with it") from None
    users.created()


@api.post("/basicAuth", status_code=204)
@api.post("/main/basicAuth", status_code=204)
def create_basic_auth(request: Request, credentials: BasicAuthCredentials) -> Response:
    """Create the basic-auth user (once, while none exists)."""
    setup(request, credentials.username or "", credentials.password or "")
    return Response(status_code=204)


@api.get("/basicAuthValidationErrors")
def basic_auth_validation_errors(request: Request) -> list[str]:
    """What the configured credentials lack against Kestra's rules (empty when none are configured)."""
    users = request.app.state.users
    if users is None or not users.configured:
        return []
    return problems(users.settings.username, users.settings.password)


def _form(request: Request, problem: list[str] | None = None, username: str = "", status: int = 200) -> Response:
    value = csrf.token(request)
    response = page(request, "setup.html", problems=problem or [], username=username, csrf_token=value)
    response.status_code = status
    return csrf.remember(response, request, value)


@ui.get("/setup")
def setup_form(request: Request) -> Response:
    users = request.app.state.users
    if users is None:  # authentication is off: nothing to set up
        return RedirectResponse("/ui/", status_code=303)
    if users.current() is not None:  # done already: sign in instead
        return RedirectResponse("/ui/login", status_code=303)
    return _form(request)


@ui.post("/setup")
def setup_submit(request: Request, username: str = Form(""), password: str = Form(""), repeat: str = Form(""),
                 csrf_token: str = Form("")) -> Response:
    if not csrf.valid(request, csrf_token):
        return _form(request, ["This form expired or was sent from another site: please fill it in again."],
                     username, status=403)
    if password != repeat:
        return _form(request, ["The two passwords differ."], username, status=422)
    try:
        setup(request, username.strip(), password)
    except ApiError as exc:
        found: Any = exc.details or [exc.message]
        return _form(request, [str(item) for item in found], username, status=exc.status)
    return sign_in(request, "/ui/executions")
