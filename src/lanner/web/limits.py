"""Bounded requests: how much of a request the webserver reads, and how much one answer holds.

- **Request bodies** (flow sources, inputs, webhook bodies, anything else) are bounded by
  ``lanner.server.max-request-size``.  :class:`BodyLimitMiddleware` refuses a request
  whose ``Content-Length`` says it is larger before reading a byte of it, and counts the
  bytes of a body sent without one (chunked) as they arrive: the chunk that passes the
  limit ends the request with 413, and the rest is never read.
- **Forms** (execution inputs) are bounded further: ``lanner.server.multipart.max-parts``
  fields, each at most ``lanner.server.multipart.max-part-size`` (:func:`read_form`).
- **Log pages**: ``GET /api/v1/logs/{executionId}`` answers at most
  ``lanner.server.max-log-page-size`` lines.
- **Threads**: the blocking work of requests (database reads and writes) runs on at most
  ``lanner.server.threads`` threads at once (:func:`blocking`); a request that waits for
  an execution's end holds none (:mod:`lanner.web.waiting`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from lanner.sizes import format_size
from lanner.web.errors import ApiError
from lanner.web.errors import body as error_body

if TYPE_CHECKING:
    from lanner.config.settings import Server as ServerSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    max_request_size: int = 10 << 20
    max_part_size: int = 1 << 20
    max_parts: int = 1000
    max_log_page_size: int = 10_000
    threads: int = 40

    @classmethod
    def of(cls, settings: ServerSettings) -> Limits:
        return cls(settings.max_request_size, settings.multipart.max_part_size, settings.multipart.max_parts,
                   settings.max_log_page_size, settings.threads)


def limits(request: Request) -> Limits:
    return getattr(request.app.state, "limits", None) or Limits()


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work on the API's bounded thread pool (``lanner.server.threads``)."""
    return await run_in_threadpool(function, *args, **kwargs)


class BodyTooLarge(HTTPException):
    """Raised by the counting ``receive`` when a body passes the limit (a route sees it as the 413 it answers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return (f"the request body is larger than {format_size(limit)}, the most this server reads "
            "(lanner.server.max-request-size). Send less, or raise the limit")


class BodyLimitMiddleware:
    """Refuses (413) request bodies larger than ``max_size`` bytes, reading no more than that (pure ASGI)."""

    def __init__(self, app: ASGIApp, max_size: int) -> None:
        self.app = app
        self.max_size = max_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name.lower() == b"content-length"), None)
        if declared is not None:
            if not declared.strip().isdigit():
                await _answer(send, 400, "the Content-Length header is not a number of bytes")
                return
            if int(declared) > self.max_size:
                await _answer(send, 413, too_large_message(self.max_size))
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_size:
                    raise BodyTooLarge(self.max_size)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:  # a route that did not turn it into its answer
            if not started:
                await _answer(send, 413, too_large_message(self.max_size))


async def read_form(request: Request) -> FormData:
    """The request's form within ``lanner.server.multipart.*``; 413 naming the limit it passes."""
    bounds = limits(request)
    try:
        return await request.form(max_files=bounds.max_parts, max_fields=bounds.max_parts,
                                  max_part_size=bounds.max_part_size)
    except BodyTooLarge:
        raise
    except HTTPException as exc:  # Starlette's answer to a malformed form or one past the limits
        detail = str(exc.detail)
        if "maximum" in detail.lower():
            raise ApiError(413, f"the form is too large: {detail} Forms hold at most {bounds.max_parts} fields "
                                f"(lanner.server.multipart.max-parts) of at most {format_size(bounds.max_part_size)}"
                                " each (lanner.server.multipart.max-part-size)") from None
        raise ApiError(400, f"cannot read the form: {detail}") from None
    except Exception as exc:  # a malformed multipart body
        raise ApiError(400, f"cannot read the form: {exc}") from None


async def _answer(send: Send, status: int, message: str) -> None:
    payload = json.dumps(error_body(message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})
