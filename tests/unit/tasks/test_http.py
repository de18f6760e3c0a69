"""http.Request and http.Download against a real HTTP server on 127.0.0.1 (a thread of this process).

``LocalHttpServer`` is also used by the engine tests (tests/integration/test_engine_http.py).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pydantic
import pytest

from lanner.files.local import TEMP_PREFIX, LocalStorage
from lanner.tasks.core.http import Download, Request
from lanner.tasks.runnable import TaskFailure
from tests.unit.tasks.fake_context import FakeContext, task

HELLO = b"hello, lanner\n"
REPORT = b"id,name\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(50_000))  # ~0.7 MiB, many chunks


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalHttpServer

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._route()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _route(self) -> None:
        path = urlsplit(self.path).path
        query = parse_qs(urlsplit(self.path).query)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, f"status {code}: the thing is\n  not here".encode(), "text/plain")
        elif path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": query["to"][0]})
        elif path == "/slow":
            self.server.arrived()
            self.server.release.wait(30)
            self._send(200, b"late", "text/plain")
        elif path == "/stream":
            self._stream_then_hang()
        elif path.startswith("/files/"):
            self._send(200, REPORT, "text/csv")
        elif path == "/hello.txt":
            self._send(200, HELLO, "text/plain; charset=utf-8")
        elif path == "/empty":
            self._send(200, b"", "text/plain")
        elif path == "/binary":
            self._send(200, b"\x89PNG\x00\x00\x01", "image/png")
        elif path == "/latin1":
            self._send(200, "café".encode("latin-1"), "text/plain; charset=iso-8859-1")
        else:
            self._echo(path, body)

    def _echo(self, path: str, body: bytes) -> None:
        echoed = {"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace"),
                  "headers": {k.lower(): v for k, v in self.headers.items()}}
        self._send(200, json.dumps(echoed).encode(), "application/json", {"X-Multi": ["one", "two"]})

    def _send(self, code: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, item)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream_then_hang(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"10\r\n" + b"x" * 16 + b"\r\n")
        self.wfile.flush()
        self.server.arrived()
        self.server.release.wait(30)


class LocalHttpServer(ThreadingHTTPServer):
    """Endpoints: /echo (anything else echoes the request as JSON), /status/<code>, /redirect?to=,
    /slow and /stream (call ``on_arrival`` then hang until closed), /files/<name> (REPORT), /hello.txt
    (HELLO), /empty, /binary, /latin1."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.on_arrival: Callable[[], None] = lambda: None
        self.url = f"http://127.0.0.1:{self.server_port}"
        # A short poll interval: shutdown() waits for the loop's next look, once per test.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="test-http-server", daemon=True)

    def arrived(self) -> None:
        self.on_arrival()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hung up first (a timeout, a stop) is what some tests are about: no traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def __enter__(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()  # let hanging handlers finish
        self.shutdown()
        self.server_close()
        self._thread.join()


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as running:
        yield running


@pytest.fixture
def context(tmp_path: Path) -> FakeContext:
    return FakeContext({"inputs": {"name": "ada", "token": "s3cret"}}, storage=LocalStorage(tmp_path / "storage"))


def run(cls, context, **properties):
    return task(cls, **properties).run(context)


# -- Request --------------------------------------------------------------------------------------
def test_a_get_gives_code_headers_body_and_uri(server, context):
    output = run(Request, context, uri=server.url + "/echo?q={{ inputs.name }}")
    assert output.outputs["code"] == 200
    assert output.outputs["uri"] == server.url + "/echo?q=ada"
    echoed = json.loads(output.outputs["body"])
    assert echoed["method"] == "GET" and echoed["path"] == "/echo?q=ada" and echoed["body"] == ""
    assert "content-type" not in echoed["headers"]  # no body, no contentType: no Content-Type sent
    headers = output.outputs["headers"]
    assert headers["content-type"] == ["application/json"] and headers["x-multi"] == ["one", "two"]
    assert [(m.name, m.value) for m in output.metrics] == [("response.length", len(output.outputs["body"]))]


def test_a_post_sends_the_rendered_body_and_headers_as_json_by_default(server, context):
    output = run(Request, context, uri=server.url + "/echo", method="post",
                 headers={"X-User": "{{ inputs.name }}", "X-Count": 3, "X-Flag": True},
                 body='{"name": "{{ inputs.name }}"}')
    echoed = json.loads(output.outputs["body"])
    assert echoed["method"] == "POST" and echoed["body"] == '{"name": "ada"}'
    assert echoed["headers"]["content-type"] == "application/json"
    assert (echoed["headers"]["x-user"], echoed["headers"]["x-count"], echoed["headers"]["x-flag"]) == \
        ("ada", "3", "true")


def test_a_mapping_body_is_sent_as_json(server, context):
    output = run(Request, context, uri=server.url + "/echo", method="PUT", body={"name": "{{ inputs.name }}"})
    assert json.loads(json.loads(output.outputs["body"])["body"]) == {"name": "ada"}


def test_content_type_property_wins_and_a_header_replaces_the_default(server, context):
    explicit = run(Request, context, uri=server.url + "/echo", method="POST", body="a,b",
                   contentType="text/csv", headers={"Content-Type": "text/plain"})
    assert json.loads(explicit.outputs["body"])["headers"]["content-type"] == "text/csv"
    from_header = run(Request, context, uri=server.url + "/echo", method="POST", body="<a/>",
                      headers={"content-type": "application/xml"})
    assert json.loads(from_header.outputs["body"])["headers"]["content-type"] == "application/xml"


def test_form_data_is_form_encoded(server, context):
    output = run(Request, context, uri=server.url + "/echo", method="POST",
                 formData={"user": "{{ inputs.name }}", "note": "a b&c", "n": 2, "tags": ["x", "y"]})
    echoed = json.loads(output.outputs["body"])
    assert echoed["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(echoed["body"]) == {"user": ["ada"], "note": ["a b&c"], "n": ["2"], "tags": ["x", "y"]}


def test_multipart_form_data_uploads_files_from_internal_storage(server, context):
    uri = context.storage.put(context.storage_uri("data.csv"), b"a,b\n1,2\n")
    output = run(Request, context, uri=server.url + "/echo", method="POST", contentType="multipart/form-data",
                 formData={"user": "{{ inputs.name }}", "file": uri,
                           "renamed": {"name": "other.csv", "content": uri}})
    echoed = json.loads(output.outputs["body"])
    assert echoed["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    body = echoed["body"]
    assert 'name="user"\r\n\r\nada\r\n' in body
    assert 'name="file"; filename="data.csv"' in body and 'filename="other.csv"' in body
    assert body.count("a,b\n1,2\n") == 2


def test_a_missing_upload_fails_naming_the_field(server, context):
    with pytest.raises(TaskFailure, match="^formData `file`: no file in internal storage at kestra:///nowhere"):
        run(Request, context, uri=server.url + "/echo", method="POST", contentType="multipart/form-data",
            formData={"file": "kestra:///nowhere/x.csv"})


def test_an_error_status_fails_with_the_code_the_uri_and_the_start_of_the_body(server, context):
    with pytest.raises(TaskFailure) as caught:
        run(Request, context, uri=server.url + "/status/404")
    assert str(caught.value) == (f"Failed http request with response code '404' from GET {server.url}/status/404: "
                                 "status 404: the thing is not here (set options.allowFailed: true to accept "
                                 "error responses)")


@pytest.mark.parametrize("allowed", [{"allowFailed": True}, {"options": {"allowFailed": True}},
                                     {"allowFailed": "{{ true }}", "options": {"allowFailed": False}}])
def test_allow_failed_returns_error_responses(server, context, allowed):
    output = run(Request, context, uri=server.url + "/status/503", **allowed)
    assert output.outputs["code"] == 503 and output.outputs["body"].startswith("status 503")


def test_redirects_are_followed_and_uri_is_the_final_one(server, context):
    output = run(Request, context, uri=server.url + "/redirect?to=/echo")
    assert output.outputs["code"] == 200 and output.outputs["uri"] == server.url + "/echo"


def test_redirects_can_be_left_unfollowed(server, context):
    output = run(Request, context, uri=server.url + "/redirect?to=/echo", options={"followRedirects": False})
    assert output.outputs["code"] == 302 and output.outputs["headers"]["location"] == ["/echo"]
    assert output.outputs["body"] is None  # an empty body is null, as Kestra's


def test_a_read_timeout_fails_with_a_clear_message(server, context):
    with pytest.raises(TaskFailure, match=r"^Timed out waiting for GET .*/slow: no data for 0\.2 s \(raise "
                                          r"options\.readTimeout"):
        run(Request, context, uri=server.url + "/slow", options={"readTimeout": "200ms"})


def test_the_nested_timeout_spelling_is_read_too(server, context):
    with pytest.raises(TaskFailure, match=r"no data for 0\.2 s"):
        run(Request, context, uri=server.url + "/slow", options={"timeout": {"readIdleTimeout": "PT0.2S"}})


def test_a_refused_connection_fails_with_a_clear_message(context):
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TaskFailure, match=rf"^Cannot connect for GET http://127\.0\.0\.1:{port}/x: .*check the host"):
        run(Request, context, uri=f"http://127.0.0.1:{port}/x")


@pytest.mark.parametrize("uri", ["ftp://example.com/x", "example.com/x", "http://"])
def test_a_uri_that_is_no_http_url_fails(context, uri):
    with pytest.raises(TaskFailure, match=r"^Invalid uri .*write a full http:// or https:// URL"):
        run(Request, context, uri=uri)


def test_a_stop_ends_a_waiting_request_at_once(server, context):
    server.on_arrival = context.stop_event.set  # killed while the server is still thinking
    started = time.monotonic()
    with pytest.raises(TaskFailure, match=r"^stopped while waiting for GET .*/slow$"):
        run(Request, context, uri=server.url + "/slow", options={"readTimeout": "PT60S"})
    assert time.monotonic() - started < 10  # not the 60 s read timeout


def test_an_already_stopped_attempt_sends_nothing(server, context):
    calls = []
    server.on_arrival = lambda: calls.append(1)
    context.stop_event.set()
    with pytest.raises(TaskFailure, match="^stopped before sending GET"):
        run(Request, context, uri=server.url + "/slow")
    assert calls == []


def test_a_body_over_the_limit_fails_pointing_to_download(server, context):
    with pytest.raises(TaskFailure, match=r"larger than 1000 bytes \(options\.maxContentLength\): use "
                                          r"io\.kestra\.plugin\.core\.http\.Download"):
        run(Request, context, uri=server.url + "/files/report.csv", options={"maxContentLength": 1000})


def test_a_binary_body_fails_pointing_to_download(server, context):
    with pytest.raises(TaskFailure, match="holds NUL characters .* use io.kestra.plugin.core.http.Download"):
        run(Request, context, uri=server.url + "/binary")


def test_the_declared_charset_decodes_the_body(server, context):
    assert run(Request, context, uri=server.url + "/latin1").outputs["body"] == "café"


def test_basic_and_bearer_auth(server, context):
    basic = run(Request, context, uri=server.url + "/echo",
                options={"auth": {"type": "BASIC", "username": "ada", "password": "{{ inputs.token }}"}})
    assert json.loads(basic.outputs["body"])["headers"]["authorization"] == "Basic YWRhOnMzY3JldA=="
    legacy = run(Request, context, uri=server.url + "/echo",
                 options={"basicAuthUser": "ada", "basicAuthPassword": "s3cret"})
    assert json.loads(legacy.outputs["body"])["headers"]["authorization"] == "Basic YWRhOnMzY3JldA=="
    bearer = run(Request, context, uri=server.url + "/echo",
                 options={"auth": {"type": "BEARER", "token": "{{ inputs.token }}"}})
    assert json.loads(bearer.outputs["body"])["headers"]["authorization"] == "Bearer s3cret"


@pytest.mark.parametrize(("options", "message"), [
    ({"readTimeout": "{{ inputs.name }}"}, r"^`options\.readTimeout` rendered to 'ada': expected a duration"),
    ({"followRedirects": "{{ inputs.name }}"}, r"^`options\.followRedirects` must be true or false, not 'ada'"),
    ({"defaultCharset": "klingon"}, r"^`options\.defaultCharset`: unknown charset 'klingon'"),
])
def test_bad_rendered_options_fail_naming_the_option(server, context, options, message):
    with pytest.raises(TaskFailure, match=message):
        run(Request, context, uri=server.url + "/echo", options=options)


@pytest.mark.parametrize(("properties", "message"), [
    ({"options": {"proxy": {"address": "p"}}}, "proxy: this Kestra option is not supported by Lanner yet"),
    ({"options": {"conectTimeout": "PT1S"}}, "Extra inputs are not permitted"),
    ({"body": "x", "formData": {"a": 1}}, "give either body or formData, not both"),
    ({"encryptBody": True}, "Lanner cannot encrypt outputs yet"),
])
def test_unsupported_or_contradictory_properties_are_refused_when_validated(properties, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        task(Request, uri="http://example.com", **properties)


# -- Download -------------------------------------------------------------------------------------
def test_a_download_streams_the_body_into_internal_storage(server, context):
    output = run(Download, context, uri=server.url + "/files/{{ inputs.name }}-report.csv")
    uri = output.outputs["uri"]
    assert uri == context.storage_uri("ada-report.csv")
    assert output.outputs["code"] == 200 and output.outputs["length"] == len(REPORT)
    assert output.outputs["headers"]["content-type"] == ["text/csv"]
    with context.storage.open(uri) as handle:
        assert handle.read() == REPORT


@pytest.mark.parametrize(("path", "name"), [("/", "download"), ("/files/", "download"),
                                            ("/files/my%20report.csv", "my report.csv"),
                                            ("/files/..%2fescape", "download"), ("/files/.hidden", "download")])
def test_the_file_is_named_after_the_uri_path(server, context, path, name):
    assert run(Download, context, uri=server.url + path).outputs["uri"] == context.storage_uri(name)


def test_an_empty_download_fails_by_default_and_stores_nothing(server, context):
    with pytest.raises(TaskFailure, match=r"^No response from server: GET .*/empty answered 200 with an empty body "
                                          r"\(set failOnEmptyResponse: false"):
        run(Download, context, uri=server.url + "/empty")
    assert not context.storage.exists(context.storage_uri("empty"))


def test_an_empty_download_can_be_accepted(server, context):
    output = run(Download, context, uri=server.url + "/empty", failOnEmptyResponse=False)
    assert output.outputs["length"] == 0 and context.storage.size(output.outputs["uri"]) == 0
    assert context.logs == [("WARN", f"File '{server.url}/empty' is empty")]


def test_a_failed_download_stores_nothing(server, context):
    with pytest.raises(TaskFailure, match="^Failed http request with response code '500'"):
        run(Download, context, uri=server.url + "/status/500")
    assert not context.storage.root.exists()


def test_a_stop_during_a_download_ends_it_and_leaves_no_file(server, context):
    server.on_arrival = context.stop_event.set  # after the first chunk
    with pytest.raises(TaskFailure, match="^stopped while"):
        run(Download, context, uri=server.url + "/stream", options={"readTimeout": "PT60S"})
    root = context.storage.root
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


def test_a_download_through_a_redirect_keeps_the_requested_name(server, context):
    output = run(Download, context, uri=server.url + "/redirect?to=/files/data.csv")
    assert output.outputs["uri"] == context.storage_uri("redirect")
    assert not any(p.name.startswith(TEMP_PREFIX) for p in context.storage.root.rglob("*"))


def test_non_ascii_header_values_are_sent_as_utf8(server, context):
    output = run(Request, context, uri=server.url + "/echo", headers={"X-Name": "José"})
    assert json.loads(output.outputs["body"])["headers"]["x-name"].encode("latin-1").decode() == "José"


@pytest.mark.parametrize(("headers", "message"), [
    ({"bad name": "x"}, r"^header 'bad name': a header name is letters, digits"),
    ({"X-Split": "a\r\nInjected: yes"}, r"^header 'X-Split': a value cannot hold line breaks"),
])
def test_malformed_headers_fail_before_sending(server, context, headers, message):
    with pytest.raises(TaskFailure, match=message):
        run(Request, context, uri=server.url + "/echo", headers=headers)
