"""The interactive API docs at ``/api/docs``: Swagger UI served from the installed package, no CDN.

FastAPI's own docs page loads Swagger UI from a CDN, so it stays blank on a machine
without internet.  Here the page is FastAPI's (``get_swagger_ui_html``) and its script,
style sheet and icon come from ``/api/docs/static/``: the files of Swagger UI's official
distribution (npm's ``swagger-ui-dist``, the version of ``ui/package-lock.json``), with
their licence, vendored into the package by ``make ui``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).parent / "static" / "vendor" / "swagger-ui"
DOCS = "/api/docs"
STATIC = DOCS + "/static"


def install(app: FastAPI) -> None:
    """The docs page and its files; the app must be created with ``docs_url=None``."""
    app.mount(STATIC, StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @app.get(DOCS, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "", title=f"{app.title} API",
                                   swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{STATIC}/swagger-ui.css",
                                   swagger_favicon_url=f"{STATIC}/favicon-32x32.png")
