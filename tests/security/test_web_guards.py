"""The webserver's guards against browsers turned into weapons: DNS rebinding, cross-site requests, framing,
stolen or stale sessions, and password guessing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for, form_token
from tests.integration.test_api import GREETING
from tests.security.conftest import assert_healthy

YAML = {"Content-Type": "application/x-yaml"}


@pytest.fixture
def web(sqlite_url, tmp_path) -> Iterator[httpx.Client]:
    engine = prepare_database(config_for(sqlite_url), may_migrate=True)
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                yield client
                assert_healthy(client.base_url)  # after the hostile requests
    finally:
        engine.dispose()


def _flows(client: httpx.Client, **options) -> list[str]:
    return [flow["id"] for flow in client.get("/api/v1/flows/search", **options).json()["results"]]


def test_a_host_name_other_than_loopback_is_refused_on_a_loopback_server(web):
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not reach the API from a browser."""
    refused = web.get("/api/v1/flows/search", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and "evil.example" in refused.json()["message"]
    assert "lanner.server.allowed-hosts" in refused.json()["message"]
    port = web.base_url.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert web.get("/api/v1/flows/search", headers={"Host": host}).status_code == 200, host


def test_a_cross_site_request_cannot_create_or_run_anything(web):
    port = web.base_url.port
    for header in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {"Origin": "null"},
                   {"Origin": f"http://localhost:{port + 1}"}):
        refused = web.post("/api/v1/flows", content=GREETING, headers={**YAML, **header})
        assert refused.status_code == 403 and "cross-site" in refused.json()["message"], header
    assert _flows(web) == []
    same_site = web.post("/api/v1/flows", content=GREETING, headers={**YAML, "Origin": f"http://127.0.0.1:{port}"})
    assert same_site.status_code == 200, same_site.text
    ran = web.post("/api/v1/executions/lanner.api/greeting", files={"name": (None, "x")},
                   headers={"Origin": "http://evil.example"})
    assert ran.status_code == 403
    assert web.get("/api/v1/executions/search").json()["total"] == 0


def test_a_flow_source_in_a_type_a_form_can_send_is_refused(web):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        refused = web.post("/api/v1/flows", content=GREETING, headers={"Content-Type": content_type})
        assert refused.status_code == 415 and "application/x-yaml" in refused.text, content_type
    assert _flows(web) == []
    assert web.post("/api/v1/flows", content=GREETING, headers={"Content-Type": "application/yaml"}).status_code == 200


def test_every_answer_carries_the_security_headers_and_pages_a_content_security_policy(web):
    page = web.get("/ui/flows")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    for answer in (page, web.get("/api/v1/flows/search"), web.get("/health")):
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"


@pytest.fixture
def guarded(database_url, tmp_path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two webservers on one database, with basic authentication."""
    from lanner.config.settings import BasicAuth

    engine = prepare_database(config_for(database_url), may_migrate=True)
    auth = BasicAuth(enabled=True, username="admin", password="s3cret")
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "a", web_port=0,
                     web_auth=auth) as one, Runtime(engine, executors=0, worker_threads=0,
                                                    storage_path=tmp_path / "b", web_port=0, web_auth=auth) as two:
            with httpx.Client(base_url=f"http://127.0.0.1:{one.web.wait_started()}", timeout=30) as first, \
                    httpx.Client(base_url=f"http://127.0.0.1:{two.web.wait_started()}", timeout=30) as second:
                yield first, second
                for client in (first, second):  # after the hostile requests
                    assert_healthy(client.base_url)
    finally:
        engine.dispose()


def _sign_in(client: httpx.Client) -> str:
    from lanner.web.auth import COOKIE

    signed = client.post("/ui/login", data={"csrf_token": form_token(client), "username": "admin", "password": "s3cret", "next": "/ui/flows"})
    assert signed.status_code == 303, signed.text
    return signed.cookies[COOKIE]


def test_a_session_cookie_alone_does_not_authorise_changes(guarded):
    from lanner.web.auth import COOKIE

    client, _ = guarded
    client.cookies.set(COOKIE, _sign_in(client))
    refused = client.post("/api/v1/flows", content=GREETING, headers=YAML)
    assert refused.status_code == 403 and "X-Lanner-UI" in refused.json()["message"]
    assert client.get("/api/v1/flows/search").status_code == 200  # reading needs no header
    assert client.post("/api/v1/flows", content=GREETING, headers={**YAML, "X-Lanner-UI": "1"}).status_code == 200
    client.cookies.clear()
    assert client.post("/api/v1/flows/lanner.api", content=GREETING, headers=YAML,
                       auth=("admin", "s3cret")).status_code == 200  # clients authenticate with the header


def test_signing_out_ends_the_session_on_every_webserver(guarded):
    from lanner.web.auth import COOKIE

    first, second = guarded
    cookie = _sign_in(first)
    for client in guarded:
        client.cookies.set(COOKIE, cookie)
        assert client.get("/ui/flows").status_code == 200
    assert first.get("/ui/logout").status_code == 303
    first.cookies.set(COOKIE, cookie)  # the browser forgot it; a copy of it must not work either

    def signed_out(client: httpx.Client) -> bool:
        answer = client.get("/ui/flows")
        return answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")

    assert signed_out(first)  # at once where the user signed out
    wait_until(lambda: signed_out(second), 10, "the other webserver refusing the session")  # within a second


def test_repeated_failed_sign_ins_are_logged_then_refused_for_a_while(guarded, caplog):
    from lanner.web.auth import MAX_FAILURES

    client, other = guarded
    for attempt in range(MAX_FAILURES):
        form = attempt % 2 == 0
        answer = (client.post("/ui/login", data={"csrf_token": form_token(client), "username": "admin", "password": f"guess{attempt}"}) if form
                  else client.get("/api/v1/flows/search", auth=("admin", f"guess{attempt}")))
        assert answer.status_code == 401
    assert caplog.text.count("failed sign-in") >= MAX_FAILURES and "guess" not in caplog.text
    for answer in (client.get("/api/v1/flows/search", auth=("admin", "s3cret")),
                   client.post("/ui/login", data={"csrf_token": form_token(client), "username": "admin", "password": "s3cret"})):
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) > 0
        assert "too many failed sign-ins" in answer.json()["message"]
    assert other.get("/api/v1/flows/search", auth=("admin", "s3cret")).status_code == 200  # counted per webserver


def test_a_busy_sqlite_database_is_a_503_to_send_again_not_an_internal_error(sqlite_url, tmp_path):
    """Another writer holding SQLite's lock past the busy timeout: the request changed nothing and says so."""
    import sqlite3

    engine = prepare_database(config_for(sqlite_url, DATABASE_BUSY_TIMEOUT="200ms"), may_migrate=True)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                holder.execute("BEGIN IMMEDIATE")  # the write lock, held
                busy = client.post("/api/v1/flows", content=GREETING, headers=YAML)
                assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
                assert_healthy(client.base_url)  # during: the lock is still held
                assert "database is busy" in busy.json()["message"] and "send the request again" in busy.json()["message"]
                holder.execute("ROLLBACK")
                assert client.post("/api/v1/flows", content=GREETING, headers=YAML).status_code == 200
                assert_healthy(client.base_url)
    finally:
        holder.close()
        engine.dispose()
