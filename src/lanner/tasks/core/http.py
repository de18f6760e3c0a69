"""HTTP tasks: Request and Download (formerly in the fs plugin)."""

from __future__ import annotations

from typing import Any, Literal

from lanner.model.task import TaskSpec

CORE = "io.kestra.plugin.core.http"
LEGACY = "io.kestra.plugin.fs.http"

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


class _HttpTask(TaskSpec):
    uri: str
    method: Method | str = "GET"
    headers: dict[str, Any] = {}
    body: str | dict[str, Any] | None = None
    form_data: dict[str, Any] | None = None
    content_type: str | None = None
    options: dict[str, Any] = {}


class Request(_HttpTask):
    TYPE = f"{CORE}.Request"
    ALIASES = (f"{LEGACY}.Request",)

    allow_failed: bool = False
    encrypt_body: bool = False


class Download(_HttpTask):
    TYPE = f"{CORE}.Download"
    ALIASES = (f"{LEGACY}.Download",)

    fail_on_empty_response: bool = True


TYPES = [Request, Download]
