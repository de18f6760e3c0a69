"""One attempt of an HTTP task: its request rendered, sent with httpx, its response read.

Stopping.  A killed or timed-out attempt must not wait for a slow server.  Closing an
httpx client from another thread does not wake a read already blocked on its socket, so
the request keeps its socket within reach (httpcore's ``trace`` extension reports each
connection as it opens) and a small watcher thread shuts that socket down as soon as the
attempt's stop event is set: the blocked read returns at once and the task ends.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx

from lanner.durations import EXPECTED, parse_duration
from lanner.files import StorageError, check_segment
from lanner.tasks.runnable import RunContext, TaskFailure, render_flag

if TYPE_CHECKING:
    from lanner.tasks.core.http import HttpOptions, _HttpTask

# Defaults, in the one place they are written (docs/storage-and-http.md repeats them).
CONNECT_TIMEOUT = timedelta(seconds=30)
READ_TIMEOUT = timedelta(minutes=5)  # Kestra's readIdleTimeout default
MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # Kestra's documented limit for Request bodies
DEFAULT_CHARSET = "utf-8"
DOWNLOAD_NAME = "download"  # the file name when the URI's path gives none
WATCH_EVERY = 0.1  # seconds the stop watcher may outlive a finished request
SNIPPET = 200  # characters of an error response quoted in the failure message

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: a header name or a method


# -- the request, rendered --------------------------------------------------------------------
@dataclass
class _Call:
    """What one attempt sends, every expression rendered."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    timeout: httpx.Timeout
    follow_redirects: bool
    allow_failed: bool
    auth: Any
    charset: str
    max_length: int
    content: bytes | None = None
    form: dict[str, Any] | None = None
    multipart: dict[str, Any] | None = None  # name -> (file name or None, value or storage URI)


def _prepare(task: _HttpTask, context: RunContext) -> _Call:
    options = task.options
    # Kestra encodes the one character people write unencoded in URIs most: the space.
    url = _text(context, task.uri, "uri").strip().replace(" ", "%20")
    method = _text(context, task.method, "method").strip().upper()
    if not _TOKEN.fullmatch(method):
        raise TaskFailure(f"`method` must be an HTTP method such as GET or POST, not {method!r}")
    charset = _charset(context, options.default_charset)
    call = _Call(
        method=method, url=url, headers=_rendered_headers(context, task.headers), timeout=_timeout(context, options),
        follow_redirects=render_flag(context, options.follow_redirects, "options.followRedirects"),
        allow_failed=_allow_failed(context, task),
        auth=_auth(context, options), charset=charset,
        max_length=_count(context, options.max_content_length, MAX_CONTENT_LENGTH, "options.maxContentLength"),
    )
    content_type = None if task.content_type is None else _text(context, task.content_type, "contentType").strip()
    if task.form_data is not None:
        _add_form(call, context.render(task.form_data), content_type)
    elif task.body is not None:
        body = context.render(task.body)
        text = body if isinstance(body, str) else json.dumps(body)
        call.content = text.encode(charset)
        _set_content_type(call, content_type or "application/json", replace=content_type is not None)
    elif content_type:
        _set_content_type(call, content_type, replace=True)  # as Kestra: sent even without a body
    return call


def _add_form(call: _Call, form: dict[str, Any], content_type: str | None) -> None:
    if content_type and content_type.split(";")[0].strip().lower() == "multipart/form-data":
        # httpx writes the Content-Type itself, with the boundary it chose.
        call.headers = [(k, v) for k, v in call.headers if k.lower() != "content-type"]
        call.multipart = {str(key): _multipart_value(value) for key, value in form.items()}
        return
    call.form = {str(key): _form_value(value) for key, value in form.items()}
    if content_type:
        _set_content_type(call, content_type, replace=True)


def _form_value(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [_scalar(item) for item in value]
    return _scalar(value)


def _multipart_value(value: Any) -> tuple[str | None, str]:
    """(file name, value): a ``kestra:///`` URI or a ``{name, content}`` map is a file from storage."""
    if isinstance(value, dict) and {"name", "content"} <= set(value):
        return str(value["name"]), str(value["content"])
    if isinstance(value, str) and value.startswith("kestra:///"):
        return unquote(value.rstrip("/").rsplit("/", 1)[-1]) or "file", value
    return None, _scalar(value)


def _scalar(value: Any) -> str:
    """A rendered value as the text a header or form field sends (YAML's true, not Python's True)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool | dict | list) else str(value)


def _set_content_type(call: _Call, value: str, *, replace: bool) -> None:
    """Set Content-Type; a default gives way to one written in ``headers``, a property does not."""
    written = any(k.lower() == "content-type" for k, _ in call.headers)
    if written and not replace:
        return
    call.headers = [(k, v) for k, v in call.headers if k.lower() != "content-type"] + [("Content-Type", value)]


def _rendered_headers(context: RunContext, headers: dict[str, Any]) -> list[tuple[str, str]]:
    rendered = context.render(headers) or {}
    result = []
    for name, value in rendered.items():
        if not _TOKEN.fullmatch(str(name)):
            raise TaskFailure(f"header {str(name)!r}: a header name is letters, digits and !#$%&'*+-.^_`|~ only")
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            text = _scalar(item)
            if any(char in text for char in "\r\n\x00"):
                raise TaskFailure(f"header {name!r}: a value cannot hold line breaks or NUL characters")
            result.append((str(name), text))
    return result


def _timeout(context: RunContext, options: HttpOptions) -> httpx.Timeout:
    nested = options.timeout  # Kestra's newer place for them; when written, it wins
    connect = _duration(context, (nested and nested.connect_timeout) or options.connect_timeout, CONNECT_TIMEOUT,
                        "options.connectTimeout")
    read = _duration(context, (nested and nested.read_idle_timeout) or options.read_timeout
                     or options.read_idle_timeout, READ_TIMEOUT, "options.readTimeout")
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _auth(context: RunContext, options: HttpOptions) -> Any:
    auth = options.auth
    if auth is not None and auth.type == "BEARER":
        if auth.token is None:
            raise TaskFailure("`options.auth.token` is required when options.auth.type is BEARER")
        return _BearerAuth(_text(context, auth.token, "options.auth.token"))
    user = auth.username if auth is not None else options.basic_auth_user
    password = auth.password if auth is not None else options.basic_auth_password
    if user is None and password is None:
        return None
    return (_text(context, user or "", "username"), _text(context, password or "", "password"))


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _allow_failed(context: RunContext, task: _HttpTask) -> bool:
    if task.allow_failed is not None:
        return render_flag(context, task.allow_failed, "allowFailed")
    if task.options.allow_failed is not None:
        return render_flag(context, task.options.allow_failed, "options.allowFailed")
    return False


def _charset(context: RunContext, value: str | None) -> str:
    if value is None:
        return DEFAULT_CHARSET
    name = _text(context, value, "options.defaultCharset").strip()
    try:
        "".encode(name)
    except LookupError:
        raise TaskFailure(f"`options.defaultCharset`: unknown charset {name!r} (try UTF-8 or ISO-8859-1)") from None
    return name


# -- sending, and what can go wrong -----------------------------------------------------------
@contextmanager
def exchange(task: _HttpTask, context: RunContext) -> Iterator[tuple[_Call, httpx.Response]]:
    """The streamed response to ``task``'s request, its status checked; errors become TaskFailure."""
    call = _prepare(task, context)
    if context.stop_event.is_set():
        raise TaskFailure(f"stopped before sending {call.method} {call.url}")
    with ExitStack() as stack:
        files = _open_files(call, context, stack)
        client = stack.enter_context(httpx.Client(timeout=call.timeout, follow_redirects=call.follow_redirects,
                                                  auth=call.auth))
        watcher = stack.enter_context(_StopWatcher(context.stop_event))
        try:
            # Header values go as UTF-8 bytes: httpx would only take ASCII text (names are ASCII, as httpx sends them).
            headers = [(name.encode("ascii"), value.encode()) for name, value in call.headers]
            response = stack.enter_context(client.stream(
                call.method, call.url, headers=headers, content=call.content, data=call.form, files=files,
                extensions={"trace": watcher.trace}))
            _check_status(call, response)
            yield call, response
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _failure(call, exc, context) from None


def _open_files(call: _Call, context: RunContext, stack: ExitStack) -> dict[str, Any] | None:
    if call.multipart is None:
        return None
    files: dict[str, Any] = {}
    for key, (name, value) in call.multipart.items():
        if name is None:
            files[key] = (None, value)
            continue
        try:
            files[key] = (name, stack.enter_context(context.storage.open(value)))
        except StorageError as exc:
            raise TaskFailure(f"formData `{key}`: {exc}") from None
    return files


def _check_status(call: _Call, response: httpx.Response) -> None:
    if response.status_code < 400 or call.allow_failed:
        return
    snippet = _snippet(response)
    raise TaskFailure(f"Failed http request with response code '{response.status_code}' from {call.method} "
                      f"{response.url}" + (f": {snippet}" if snippet else "")
                      + " (set options.allowFailed: true to accept error responses)")


def _snippet(response: httpx.Response) -> str:
    """The start of an error response's body, on one line, for the failure message."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= SNIPPET * 4:
            break
    text = " ".join(data.decode(response.charset_encoding or DEFAULT_CHARSET, errors="replace").split())
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "..."


def _failure(call: _Call, exc: httpx.HTTPError | httpx.InvalidURL, context: RunContext) -> TaskFailure:
    target = f"{call.method} {call.url}"
    if context.stop_event.is_set():
        return TaskFailure(f"stopped while waiting for {target}")
    if isinstance(exc, httpx.ConnectTimeout):
        return TaskFailure(f"Timed out connecting for {target} after {call.timeout.connect:g} s "
                           "(raise options.connectTimeout if the server is slow to accept connections)")
    if isinstance(exc, httpx.TimeoutException):
        return TaskFailure(f"Timed out waiting for {target}: no data for {call.timeout.read:g} s "
                           "(raise options.readTimeout if the server is slow to answer)")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return TaskFailure(f"Invalid uri {call.url!r}: {exc} (write a full http:// or https:// URL)")
    if isinstance(exc, httpx.ConnectError):
        return TaskFailure(f"Cannot connect for {target}: {exc} (check the host name and port, and that the "
                           "server is up and reachable from the worker)")
    if isinstance(exc, httpx.TooManyRedirects):
        return TaskFailure(f"Too many redirects for {target}: {exc}")
    return TaskFailure(f"HTTP request {target} failed: {type(exc).__name__}: {exc}")


class _StopWatcher:
    """Shuts the request's sockets down when the attempt's stop event is set (see the module docstring)."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._finished = False

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember each connection's socket as it opens."""
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with self._lock:
                    self._sockets.append(sock)
            if self._stop.is_set():  # stopped while connecting: the watcher may have looked already
                self._shut_down()

    def __enter__(self) -> _StopWatcher:
        threading.Thread(target=self._watch, name="http-stop-watcher", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._finished = True
            self._sockets.clear()

    def _watch(self) -> None:
        # Waiting on the stop event itself: a stop is seen at once; the timeout only bounds how long
        # this thread outlives a request that ended normally.
        while not self._stop.wait(WATCH_EVERY):
            with self._lock:
                if self._finished:
                    return
        self._shut_down()

    def _shut_down(self) -> None:
        with self._lock:
            if self._finished:
                return
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed: nothing to wake


# -- reading the response ---------------------------------------------------------------------
def read_text(response: httpx.Response, call: _Call) -> tuple[str | None, int]:
    """The body as text (None when empty, as Kestra's null body) and its length in bytes."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > call.max_length:
            raise TaskFailure(f"The response of {call.method} {call.url} is larger than {call.max_length} bytes "
                              "(options.maxContentLength): use io.kestra.plugin.core.http.Download to store "
                              "it as a file, or raise the limit")
    if not data:
        return None, 0
    text = bytes(data).decode(_response_charset(response, call), errors="replace")
    if "\x00" in text:
        raise TaskFailure(f"The response of {call.method} {call.url} holds NUL characters (binary data?), which "
                          "an output cannot hold: use io.kestra.plugin.core.http.Download to store it as a file")
    return text, len(data)


def _response_charset(response: httpx.Response, call: _Call) -> str:
    declared = response.charset_encoding
    if declared:
        try:
            "".encode(declared)
            return declared
        except LookupError:
            pass  # a charset Python does not know: fall back to the configured one
    return call.charset


def body_chunks(response: httpx.Response, context: RunContext, call: _Call) -> Iterator[bytes]:
    for chunk in response.iter_bytes():
        if context.stop_event.is_set():
            raise TaskFailure(f"stopped while downloading {call.url}")
        if chunk:
            yield chunk


class ChunkReader:
    """A binary file over an iterator of chunks (what Storage.put reads), counting the bytes read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""
        self.length = 0

    def read(self, size: int = -1) -> bytes:
        if not self._rest:
            self._rest = next(self._chunks, b"")
        if size < 0:
            data, self._rest = self._rest + b"".join(self._chunks), b""
        else:
            data, self._rest = self._rest[:size], self._rest[size:]
        self.length += len(data)
        return data


def file_name(url: str) -> str:
    """The last segment of the URI's path, decoded, when it is a usable file name; ``download`` otherwise."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        return check_segment(name) if not name.startswith(".") else DOWNLOAD_NAME
    except StorageError:
        return DOWNLOAD_NAME


def response_headers(response: httpx.Response) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        headers.setdefault(name, []).append(value)
    return headers


# -- rendering properties ---------------------------------------------------------------------
def _text(context: RunContext, value: Any, name: str) -> str:
    rendered = context.render(value)
    if isinstance(rendered, str):
        return rendered
    if isinstance(rendered, bool | int | float):
        return _scalar(rendered)
    raise TaskFailure(f"`{name}` must render to text, not {type(rendered).__name__}")


def _duration(context: RunContext, value: Any, default: timedelta, name: str) -> float:
    if value is None:
        return default.total_seconds()
    if isinstance(value, timedelta):
        return value.total_seconds()
    rendered = context.render(value)
    try:
        return parse_duration(rendered.strip() if isinstance(rendered, str) else rendered).total_seconds()
    except ValueError:
        raise TaskFailure(f"`{name}` rendered to {rendered!r}: expected {EXPECTED}") from None


def _count(context: RunContext, value: Any, default: int, name: str) -> int:
    if value is None:
        return default
    rendered = context.render(value)
    try:
        count = int(str(rendered).strip())
    except ValueError:
        raise TaskFailure(f"`{name}` must be a positive whole number, not {rendered!r}") from None
    if count < 1:
        raise TaskFailure(f"`{name}` must be a positive whole number, not {rendered!r}")
    return count
