"""First run with authentication on and no user configured: the setup page creates it, once (Kestra 0.24+)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from lanner.config.settings import BasicAuth
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from lanner.store.tables import instance_settings
from lanner.web.auth import COOKIE
from lanner.web.auth_users import USER_KEY
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for, form_token

USER, PASSWORD = "admin@example.com", "Str0ngEnough"


@pytest.fixture
def pending(database_url, tmp_path) -> Iterator[tuple[httpx.Client, httpx.Client, sa.Engine]]:
    """Two webservers on one database, authentication on, no user configured."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    auth = BasicAuth(enabled=True)
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "a", web_port=0,
                     web_auth=auth) as one, Runtime(engine, executors=0, worker_threads=0,
                                                    storage_path=tmp_path / "b", web_port=0, web_auth=auth) as two:
            with httpx.Client(base_url=f"http://127.0.0.1:{one.web.wait_started()}", timeout=30) as first, \
                    httpx.Client(base_url=f"http://127.0.0.1:{two.web.wait_started()}", timeout=30) as second:
                yield first, second, engine
    finally:
        engine.dispose()


def _stored(engine: sa.Engine) -> dict | None:
    with engine.connect() as connection:
        return connection.execute(sa.select(instance_settings.c.value)
                                  .where(instance_settings.c.key == USER_KEY)).scalar()


def test_until_the_user_exists_every_page_leads_to_the_setup_page_and_the_api_answers_401(pending):
    client, _, engine = pending
    for page in ("/ui/flows", "/ui/", "/ui/login"):
        sent = client.get(page)
        assert sent.status_code == 303 and sent.headers["location"] == "/ui/setup", page
    setup = client.get("/ui/setup")
    assert setup.status_code == 200 and 'name="csrf_token"' in setup.text and "Create the user" in setup.text
    refused = client.get("/api/v1/flows/search")
    assert refused.status_code == 401 and "/ui/setup" in refused.json()["message"]
    assert client.post("/api/v1/flows", content="id: x", headers={"Content-Type": "application/x-yaml"}
                       ).status_code == 401
    assert client.get("/health").status_code == 200 and client.get("/metrics").status_code == 200
    configs = client.get("/api/v1/configs")
    assert configs.status_code == 200 and configs.json()["isBasicAuthInitialized"] is False
    assert client.get("/api/v1/basicAuthValidationErrors").json() == []
    assert _stored(engine) is None


WEAK = [
    ("admin", PASSWORD, "must be an email address"),
    (USER, "Sh0rt", "lacks 8 characters"),
    (USER, "alllowercase1", "lacks an upper-case letter"),
    (USER, "NoDigitsHere", "lacks a digit"),
    ("", "", "the user name is missing"),
    (USER, "Aa1" + "x" * 300, "longer than 256 characters"),
]


def test_a_bad_user_name_or_weak_password_is_refused_with_the_rule_it_breaks(pending):
    client, _, engine = pending
    for username, password, expected in WEAK:
        refused = client.post("/api/v1/basicAuth", json={"username": username, "password": password})
        assert refused.status_code == 422, refused.text
        assert expected in refused.json()["message"] and any(expected in d for d in refused.json()["details"])
    assert _stored(engine) is None
    assert client.get("/ui/flows").headers["location"] == "/ui/setup"  # still to do


def test_the_user_is_created_once_stored_hashed_and_authenticates_on_every_webserver(pending):
    first, second, engine = pending
    created = first.post("/api/v1/main/basicAuth", json={"uid": "ui-id", "username": USER, "password": PASSWORD})
    assert created.status_code == 204, created.text
    record = _stored(engine)
    assert record["username"] == USER and record["algorithm"] == "scrypt"
    assert PASSWORD not in json.dumps(record) and PASSWORD.lower() not in json.dumps(record).lower()

    assert first.get("/api/v1/flows/search", auth=(USER, PASSWORD)).status_code == 200
    wait_until(lambda: second.get("/api/v1/flows/search", auth=(USER, PASSWORD)).status_code == 200, 10,
               "the other webserver accepting the user")
    assert first.get("/api/v1/flows/search", auth=(USER, "Wr0ngPassword")).status_code == 401
    assert first.get("/api/v1/flows/search").status_code == 401
    assert first.get("/api/v1/configs").json()["isBasicAuthInitialized"] is True

    # Nobody can create it again: without credentials the endpoint is closed, with them it refuses.
    for client in (first, second):
        again = client.post("/api/v1/basicAuth", json={"username": "other@example.com", "password": "An0therOne"})
        assert again.status_code == 401
        again = client.post("/api/v1/basicAuth", json={"username": "other@example.com", "password": "An0therOne"},
                            auth=(USER, PASSWORD))
        assert again.status_code == 409 and "exists already" in again.json()["message"]
        assert client.get("/ui/setup").headers["location"] == "/ui/login"
    assert _stored(engine) == record


def test_the_setup_form_needs_its_token_creates_the_user_and_signs_in_everywhere(pending):
    first, second, engine = pending
    token = form_token(first, "/ui/setup")
    form = {"username": USER, "password": PASSWORD, "repeat": PASSWORD}
    forged = httpx.post(f"{first.base_url}/ui/setup", data={**form, "csrf_token": token})  # no cookie: another site
    assert forged.status_code == 403 and _stored(engine) is None
    differ = first.post("/ui/setup", data={**form, "repeat": "Str0ngEnougH", "csrf_token": token})
    assert differ.status_code == 422 and "differ" in differ.text and _stored(engine) is None
    weak = first.post("/ui/setup", data={**form, "password": "weak", "repeat": "weak", "csrf_token": token})
    assert weak.status_code == 422 and "at least 8 characters" in weak.text and "weak" not in weak.text.split(
        'name="password"')[1].split(">")[0]
    done = first.post("/ui/setup", data={**form, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/ui/executions"
    session = done.cookies[COOKIE]
    assert first.get("/ui/flows").status_code == 200  # signed in
    second.cookies.set(COOKIE, session)  # the key derives from the stored user: the other webserver agrees
    wait_until(lambda: second.get("/ui/flows").status_code == 200, 10, "the other webserver accepting the session")

    with httpx.Client(base_url=str(second.base_url), timeout=30) as browser:  # a new browser signs in
        refused = browser.post("/ui/login", data={"username": USER, "password": PASSWORD, "next": "/ui/flows"})
        assert refused.status_code == 403 and COOKIE not in refused.cookies  # no form token
        signed = browser.post("/ui/login", data={"username": USER, "password": PASSWORD, "next": "/ui/flows",
                                                 "csrf_token": form_token(browser)})
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/flows"
        browser.cookies.set(COOKIE, signed.cookies[COOKIE])
        assert browser.get("/api/v1/flows/search").status_code == 200


@pytest.fixture
def configured(sqlite_url, tmp_path):
    engine = prepare_database(config_for(sqlite_url), may_migrate=True)

    def start(auth: BasicAuth):
        return Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "s", web_port=0, web_auth=auth)

    yield start, engine
    engine.dispose()


def test_configured_credentials_win_and_the_setup_refuses(configured):
    start, engine = configured
    with start(BasicAuth(enabled=True, username="ops", password="s3cret")) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.get("/ui/setup").headers["location"] == "/ui/login"
            assert client.post("/api/v1/basicAuth", json={"username": USER, "password": PASSWORD}).status_code == 401
            refused = client.post("/api/v1/basicAuth", json={"username": USER, "password": PASSWORD},
                                  auth=("ops", "s3cret"))
            assert refused.status_code == 409 and "lanner.server.basic-auth.username" in refused.json()["message"]
            problems = client.get("/api/v1/basicAuthValidationErrors", auth=("ops", "s3cret")).json()
            assert any("email address" in p for p in problems) and any("upper-case" in p for p in problems)
            assert "s3cret" not in json.dumps(problems)
    assert _stored(engine) is None


def test_a_stored_user_gives_way_to_configured_credentials(configured):
    start, _engine = configured
    with start(BasicAuth(enabled=True)) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.post("/api/v1/basicAuth", json={"username": USER, "password": PASSWORD}).status_code == 204
    with start(BasicAuth(enabled=True, username="ops", password="s3cret")) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.get("/api/v1/flows/search", auth=(USER, PASSWORD)).status_code == 401
            assert client.get("/api/v1/flows/search", auth=("ops", "s3cret")).status_code == 200


def test_open_urls_need_no_authentication(configured):
    start, _engine = configured
    webhook = "/api/v1/executions/webhook/some.ns/missing/k3y"
    with start(BasicAuth(enabled=True, username="ops", password="s3cret")) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.post(webhook).status_code == 404  # Kestra's default: webhooks, which their key protects
            assert client.post(webhook.replace("/v1/", "/v1/main/")).status_code == 404  # in both path forms
            assert client.get("/api/v1/flows/search").status_code == 401
            assert client.get("/api/v1/main/flows/search").status_code == 401
    with start(BasicAuth(enabled=True, username="ops", password="s3cret", open_urls=["/api/v1/flows/search"])
               ) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.get("/api/v1/flows/search").status_code == 200
            assert client.post(webhook).status_code == 401  # the list replaces the default
            assert client.get("/api/v1/executions/search").status_code == 401
            assert client.get("/health").status_code == 200  # always open, whatever the list says
