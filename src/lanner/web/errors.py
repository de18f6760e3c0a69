"""Every error as Kestra's JSON ``{message, details}``, with the status the API promises; never a traceback."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lanner.engine.core.inputs import InputsError
from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.engine.shell.service import ExecutionNotFound
from lanner.errors import LannerError
from lanner.store.kv_repository import KVError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


def body(message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"message": message, "details": details or []}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(ExecutionNotFound)
    @app.exception_handler(FlowNotFound)
    async def _missing(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(body(str(exc)), status_code=404)

    @app.exception_handler(InputsError)
    async def _inputs(_: Request, exc: InputsError) -> JSONResponse:
        return JSONResponse(body("invalid inputs", list(exc.problems)), status_code=422)

    @app.exception_handler(KVError)
    async def _kv(_: Request, exc: KVError) -> JSONResponse:
        return JSONResponse(body(str(exc)), status_code=400)

    @app.exception_handler(LannerError)
    async def _usage(_: Request, exc: LannerError) -> JSONResponse:
        return JSONResponse(body(str(exc)), status_code=409)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"path": ".".join(str(p) for p in error.get("loc", ())), "message": error.get("msg", "")}
                   for error in exc.errors()]
        return JSONResponse(body("invalid request", details), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(body(str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sqlite3.OperationalError)  # BEGIN IMMEDIATE is sent below SQLAlchemy
    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # Busy (SQLite's write lock held past lanner.database.busy-timeout) or unreachable: the
        # request did nothing (its transaction rolled back) and may be sent again.
        cause = getattr(exc, "orig", exc)
        busy = "database is locked" in str(cause)
        log.warning("answered 503: the database is %s: %s", "busy" if busy else "unavailable", cause)
        message = ("the database is busy: another writer held it longer than lanner.database.busy-timeout; "
                   "nothing was changed, send the request again") if busy else \
            "the database is unavailable; nothing was changed, send the request again once it is back"
        return JSONResponse(body(message), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(sa.exc.DataError)
    async def _refused_value(_: Request, exc: sa.exc.DataError) -> JSONResponse:
        # A value the database cannot hold or compare (PostgreSQL refuses NUL in text, a number out of its
        # column's range): the request's transaction rolled back, nothing was changed.
        cause = str(getattr(exc, "orig", exc)).splitlines()[0]
        if "NUL" in cause or "0x00" in cause:
            return JSONResponse(body("the request holds a NUL character (\\0), which no name or value stored by "
                                     "Lanner can hold; remove it (nothing was changed)"), status_code=400)
        return JSONResponse(body(f"the database refuses a value of the request: {cause[:200]} (nothing was "
                                 "changed); check the values' types and sizes"), status_code=400)

    @app.exception_handler(sa.exc.TimeoutError)
    async def _pool_exhausted(_: Request, exc: sa.exc.TimeoutError) -> JSONResponse:
        # Every connection of this process's pool stayed in use past lanner.database.pool-timeout:
        # the request did nothing, and a moment later it will find one.
        log.warning("answered 503: no free database connection within lanner.database.pool-timeout: %s", exc)
        return JSONResponse(body(
            "the server is busy: every database connection of this process stayed in use past "
            "lanner.database.pool-timeout (pool-size + max-overflow connections); nothing was changed, "
            "send the request again"), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse(body("the request nests too deeply (lists or objects inside each other) to be read"),
                            status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error serving a request")
        return JSONResponse(body(f"internal error: {type(exc).__name__}"), status_code=500)
