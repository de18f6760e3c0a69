"""HTTP tasks: ``Request`` (the response becomes outputs) and ``Download`` (the body becomes a file).

Both render their properties, send one request with httpx (a fresh client per attempt,
following redirects unless told not to) and fail the task for a status >= 400 unless
``allowFailed`` is set, the way Kestra's ``io.kestra.plugin.core.http`` tasks do (they
were ``io.kestra.plugin.fs.http`` before).  ``docs/storage-and-http.md`` is the user's guide.

Request keeps the body in memory (at most ``options.maxContentLength``, 10 MiB by
default) and refuses bodies with NUL characters, which no output can hold; Download
streams the body into internal storage, chunk by chunk, without such limits.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import field_validator, model_validator

from lanner.files import StorageError
from lanner.model.spec import Duration, Dynamic, PositiveCount, Spec
from lanner.tasks.core.http_exchange import ChunkReader, body_chunks, exchange, file_name, read_text, response_headers
from lanner.tasks.runnable import Metric, RunContext, RunnableTask, TaskFailure, TaskOutput, render_flag

CORE = "io.kestra.plugin.core.http"
LEGACY = "io.kestra.plugin.fs.http"

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]

# Kestra options Lanner does not implement: refused when the flow is saved rather than ignored.
_UNSUPPORTED_OPTIONS = ("proxy", "ssl", "logs", "logLevel", "proxyType", "proxyAddress", "proxyPort",
                        "proxyUsername", "proxyPassword")


class TimeoutOptions(Spec):
    connect_timeout: Dynamic[Duration] | None = None
    read_idle_timeout: Dynamic[Duration] | None = None


class AuthOptions(Spec):
    type: Literal["BASIC", "BEARER"]
    username: str | None = None
    password: str | None = None
    token: str | None = None


class HttpOptions(Spec):
    """Kestra's ``options`` (HttpConfiguration), with its older flat spellings."""

    timeout: TimeoutOptions | None = None
    connect_timeout: Dynamic[Duration] | None = None
    read_timeout: Dynamic[Duration] | None = None
    read_idle_timeout: Dynamic[Duration] | None = None
    # Accepted for compatibility; no effect, as each attempt opens its own connection.
    connection_pool_idle_timeout: Dynamic[Duration] | None = None
    follow_redirects: Dynamic[bool] = True
    allow_failed: Dynamic[bool] | None = None
    auth: AuthOptions | None = None
    basic_auth_user: str | None = None
    basic_auth_password: str | None = None
    default_charset: str | None = None
    max_content_length: Dynamic[PositiveCount] | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        for key in _UNSUPPORTED_OPTIONS:
            if isinstance(data, dict) and key in data:
                hint = " (the worker's HTTPS_PROXY environment variable sets a proxy)" if "proxy" in key else ""
                raise ValueError(f"{key}: this Kestra option is not supported by Lanner yet; remove it{hint}")
        return data


class _HttpTask(RunnableTask):
    uri: str
    method: Method | str = "GET"
    headers: dict[str, Any] = {}
    body: str | dict[str, Any] | None = None
    form_data: dict[str, Any] | None = None
    content_type: str | None = None
    options: HttpOptions = HttpOptions()
    # Kestra's older place for options.allowFailed; when written, it wins.
    allow_failed: Dynamic[bool] | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> _HttpTask:
        if self.body is not None and self.form_data is not None:
            raise ValueError("formData: give either body or formData, not both")
        return self


class Request(_HttpTask):
    TYPE = f"{CORE}.Request"
    ALIASES = (f"{LEGACY}.Request",)

    encrypt_body: bool = False

    @field_validator("encrypt_body")
    @classmethod
    def _no_encryption(cls, value: bool) -> bool:
        if value:
            raise ValueError("Lanner cannot encrypt outputs yet, so the body would be stored in clear; "
                             "remove encryptBody (or set it to false)")
        return value

    def run(self, context: RunContext) -> TaskOutput:
        with exchange(self, context) as (call, response):
            text, length = read_text(response, call)
        return TaskOutput(
            outputs={"code": response.status_code, "headers": response_headers(response), "body": text,
                     "uri": str(response.url)},
            metrics=(Metric("response.length", length),),
        )


class Download(_HttpTask):
    TYPE = f"{CORE}.Download"
    ALIASES = (f"{LEGACY}.Download",)

    fail_on_empty_response: Dynamic[bool] = True

    def run(self, context: RunContext) -> TaskOutput:
        fail_on_empty = render_flag(context, self.fail_on_empty_response, "failOnEmptyResponse")
        with exchange(self, context) as (call, response):
            chunks = body_chunks(response, context, call)
            first = next(chunks, b"")
            if not first:
                if fail_on_empty:
                    raise TaskFailure(f"No response from server: {call.method} {call.url} answered "
                                      f"{response.status_code} with an empty body (set failOnEmptyResponse: "
                                      "false to store an empty file instead)")
                context.log("WARN", f"File '{call.url}' is empty")
            reader = ChunkReader(itertools.chain([first], chunks))
            target = context.storage_uri(file_name(call.url))
            try:
                stored = context.storage.put(target, reader)
            except StorageError as exc:
                raise TaskFailure(str(exc)) from None
        return TaskOutput(
            outputs={"uri": stored, "code": response.status_code, "length": reader.length,
                     "headers": response_headers(response)},
            metrics=(Metric("response.length", reader.length),),
        )


TYPES = [Request, Download]
