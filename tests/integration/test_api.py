"""Kestra's REST API against a live webserver (uvicorn in a thread) on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for, form_token
from tests.integration.running import FLOWS
from tests.integration.test_engine import _wait_until as _until

GREETING = """id: greeting
namespace: lanner.api
inputs:
  - id: name
    type: STRING
  - id: times
    type: INT
    defaults: 1
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.name }} x{{ inputs.times }}"
outputs:
  - id: said
    type: STRING
    value: "{{ outputs.hello.value }}"
"""


@pytest.fixture
def api(database_url, tmp_path) -> Iterator[httpx.Client]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime:
            port = runtime.web.wait_started()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                yield client
    finally:
        engine.dispose()


def create_flow(api: httpx.Client, source: str = GREETING) -> httpx.Response:
    return api.post("/api/v1/flows", content=source, headers={"Content-Type": "application/x-yaml"})


def test_health_and_readiness(api):
    assert api.get("/health").json() == {"status": "UP"}
    ready = api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "UP"
    configs = api.get("/api/v1/configs").json()
    assert configs["version"] and configs["schemaVersion"] and configs["instanceId"]


def test_flows_create_read_update_search_revisions_delete(api):
    created = create_flow(api)
    assert created.status_code == 200, created.text
    assert created.json()["id"] == "greeting" and created.json()["revision"] == 1
    assert create_flow(api).status_code == 409
    got = api.get("/api/v1/flows/lanner.api/greeting", params={"source": "true"}).json()
    assert got["source"] == GREETING and got["tasks"][0]["id"] == "hello"
    changed = GREETING.replace("hello {{", "hi {{")
    updated = api.put("/api/v1/flows/lanner.api/greeting", content=changed,
                      headers={"Content-Type": "application/x-yaml"})
    assert updated.status_code == 200 and updated.json()["revision"] == 2
    assert [r["revision"] for r in api.get("/api/v1/flows/lanner.api/greeting/revisions").json()] == [1, 2]
    found = api.get("/api/v1/flows/search", params={"namespace": "lanner.api"}).json()
    assert found["total"] == 1 and found["results"][0]["id"] == "greeting"
    labelled = GREETING.replace("id: greeting", "id: labelled").replace("inputs:", "labels:\n  team: data\ninputs:", 1)
    assert create_flow(api, labelled).status_code == 200
    by_label = api.get("/api/v1/flows/search", params={"labels": "team:data"}).json()
    assert [f["id"] for f in by_label["results"]] == ["labelled"] and by_label["total"] == 1
    assert api.delete("/api/v1/flows/lanner.api/greeting").status_code == 204
    assert api.get("/api/v1/flows/lanner.api/greeting").status_code == 404
    assert api.delete("/api/v1/flows/lanner.api/greeting").status_code == 404


def test_an_invalid_flow_is_a_400_listing_every_problem_with_its_line(api):
    broken = GREETING.replace("type: io.kestra.plugin.core.debug.Return", "type: io.kestra.plugin.core.debug.Retrun")
    response = create_flow(api, broken + "bogus: 1\n")
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "invalid flow"
    assert {(d["line"], d["path"]) for d in body["details"]} >= {(11, "tasks[0].type")}
    assert any("bogus" in d["message"] or d["path"] == "bogus" for d in body["details"])
    validated = api.post("/api/v1/flows/validate", content=broken,
                         headers={"Content-Type": "application/x-yaml"}).json()
    assert validated[0]["constraints"] and "Retrun" in validated[0]["constraints"]
    assert create_flow(api, "not: [valid").status_code == 400


def test_execute_with_form_inputs_and_labels_then_read_it_and_its_logs(api):
    create_flow(api)
    response = api.post("/api/v1/executions/lanner.api/greeting", params={"wait": "true", "labels": ["team:data"]},
                        files={"name": (None, "ada"), "times": (None, "2")})
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["outputs"] == {"said": "hello ada x2"}
    assert {"key": "team", "value": "data"} in execution["labels"]
    assert execution["taskRunList"][0]["taskId"] == "hello"
    assert execution["taskRunList"][0]["attempts"][0]["state"]["current"] == "SUCCESS"
    assert [h["state"] for h in execution["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
    again = api.get(f"/api/v1/executions/{execution['id']}").json()
    assert again["id"] == execution["id"] and again["flowRevision"] == 1
    found = api.get("/api/v1/executions/search", params={"namespace": "lanner.api", "state": "SUCCESS"}).json()
    assert [e["id"] for e in found["results"]] == [execution["id"]]
    logs = api.get(f"/api/v1/logs/{execution['id']}").json()
    assert [(entry["taskId"], entry["message"]) for entry in logs] == [("hello", "hello ada x2")]
    assert api.get(f"/api/v1/logs/{execution['id']}", params={"minLevel": "LOUD"}).status_code == 400


def test_a_multiselect_input_takes_repeated_fields_or_a_json_array(api):
    source = """id: choices
namespace: lanner.api
inputs:
  - id: colours
    type: MULTISELECT
    values: [red, green, blue]
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.colours | join(',') }}"
"""
    assert create_flow(api, source).status_code == 200
    repeated = api.post("/api/v1/executions/lanner.api/choices", params={"wait": "true"},
                        files=[("colours", (None, "red")), ("colours", (None, "blue"))]).json()
    assert repeated["inputs"]["colours"] == ["red", "blue"]
    assert repeated["taskRunList"][0]["outputs"]["value"] == "red,blue"
    as_json = api.post("/api/v1/executions/lanner.api/choices", files={"colours": (None, '["green"]')}).json()
    assert as_json["inputs"]["colours"] == ["green"]
    wrong = api.post("/api/v1/executions/lanner.api/choices", files={"colours": (None, "pink")})
    assert wrong.status_code == 422 and "pink not among red, green, blue" in wrong.text


def test_dependent_inputs_lengths_and_file_extensions_through_the_api(api):
    source = """id: request
namespace: lanner.api
inputs:
  - id: kind
    type: SELECT
    values: [vm, bucket]
  - id: size
    type: INT
    dependsOn:
      inputs: [kind]
      condition: "{{ inputs.kind == 'vm' }}"
  - id: code
    type: STRING
    minLength: 2
    defaults: ab
  - id: sheet
    type: FILE
    required: false
    allowedFileExtensions: [.csv]
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.kind }} {{ inputs.size ?? 'no size' }}"
"""
    assert create_flow(api, source).status_code == 200
    bucket = api.post("/api/v1/executions/lanner.api/request", params={"wait": "true"},
                      files={"kind": (None, "bucket"), "size": (None, "ignored")}).json()
    assert bucket["inputs"] == {"kind": "bucket", "code": "ab", "sheet": None}
    assert bucket["taskRunList"][0]["outputs"]["value"] == "bucket no size"
    missing = api.post("/api/v1/executions/lanner.api/request", files={"kind": (None, "vm")})
    assert missing.status_code == 422 and missing.json()["details"] == ["Missing required input `size` (INT)"]
    wrong = api.post("/api/v1/executions/lanner.api/request",
                     files={"kind": (None, "bucket"), "code": (None, "x"), "sheet": (None, "kestra:///x/y/run.sh")})
    assert wrong.status_code == 422
    assert wrong.json()["details"] == [
        "Invalid input `code`: must be at least 2 characters long (minLength), got 'x'",
        "Invalid input `sheet`: file 'run.sh' has none of the allowed extensions (.csv), got 'kestra:///x/y/run.sh'",
    ]
    page = api.get("/ui/flows/lanner.api/request").text
    assert 'name="size"' in page and "only used when" in page


def test_errors_name_what_is_wrong(api):
    create_flow(api)
    bad = api.post("/api/v1/executions/lanner.api/greeting", files={"times": (None, "many")})
    assert bad.status_code == 422
    assert any("`name`" in line for line in bad.json()["details"])
    assert any("`times`" in line for line in bad.json()["details"])
    assert api.post("/api/v1/executions/lanner.api/nope").status_code == 404
    assert api.get("/api/v1/executions/nope").status_code == 404
    assert api.get("/api/v1/executions/search", params={"state": "SLEEPY"}).status_code == 400
    assert api.post("/api/v1/executions/lanner.api/greeting", params={"labels": "nocolon"},
                    files={"name": (None, "x")}).status_code == 400


def test_kill_restart_and_resume(api):
    for name in ("sleepy", "failure_handling", "pause_approval"):
        assert create_flow(api, (FLOWS / f"{name}.yaml").read_text()).status_code == 200
    running = api.post("/api/v1/executions/lanner.tests/sleepy").json()
    assert api.delete(f"/api/v1/executions/{running['id']}/kill").status_code == 202
    _until(lambda: api.get(f"/api/v1/executions/{running['id']}").json()["state"]["current"] == "KILLED")
    failed = api.post("/api/v1/executions/lanner.tests/failure_handling", params={"wait": "true"}).json()
    assert failed["state"]["current"] == "FAILED"
    assert api.delete(f"/api/v1/executions/{failed['id']}/kill", params={"isOnKillCascade": "false"}).status_code == 409
    assert api.post(f"/api/v1/executions/{failed['id']}/restart").status_code == 200

    def restarted() -> dict:
        return api.get(f"/api/v1/executions/{failed['id']}").json()

    _until(lambda: [h["state"] for h in restarted()["state"]["histories"]].count("FAILED") == 2)
    assert "RESTARTED" in [h["state"] for h in restarted()["state"]["histories"]]
    def attempts(execution: dict) -> int:
        return sum(len(run["attempts"]) for run in execution["taskRunList"])

    assert attempts(restarted()) > attempts(failed)  # the failed task ran again
    paused = api.post("/api/v1/executions/lanner.tests/pause_approval").json()
    _until(lambda: api.get(f"/api/v1/executions/{paused['id']}").json()["state"]["current"] == "PAUSED")
    bad = api.post(f"/api/v1/executions/{paused['id']}/resume", files={"amount": (None, "lots")})
    assert bad.status_code == 422
    for path in ("actions/resume/validate", "resume/validate"):  # checked without resuming, both path forms
        checked = api.post(f"/api/v1/executions/{paused['id']}/{path}", files={"amount": (None, "lots")})
        assert checked.status_code == 200, checked.text
        by_id = {item["input"]["id"]: item for item in checked.json()}
        assert by_id["amount"]["errors"] and by_id["reason"]["errors"]  # not an INT; required and missing
    good = api.post(f"/api/v1/executions/{paused['id']}/actions/resume/validate", files={"reason": (None, "ok")})
    assert [(i["input"]["id"], i["value"], i["errors"]) for i in good.json()] == [
        ("reason", "ok", []), ("amount", 1, [])]
    assert api.get(f"/api/v1/executions/{paused['id']}").json()["state"]["current"] == "PAUSED"
    resumed = api.post(f"/api/v1/executions/{paused['id']}/resume", files={"reason": (None, "ok")})
    assert resumed.status_code == 200, resumed.text


def test_migrate_rewrites_deprecated_syntax_without_saving(api):
    legacy = GREETING.replace("io.kestra.plugin.core.debug.Return", "io.kestra.core.tasks.debugs.Return")
    answer = api.post("/api/v1/flows/migrate", content=legacy, headers={"Content-Type": "application/x-yaml"}).json()
    assert answer["source"] == GREETING and len(answer["changes"]) == 1 and answer["refused"] == []
    assert api.get("/api/v1/flows/lanner.api/greeting").status_code == 404  # nothing saved
    again = api.post("/api/v1/flows/migrate", content=GREETING, headers={"Content-Type": "application/x-yaml"}).json()
    assert again == {"source": GREETING, "changes": [], "refused": []}


def test_the_openapi_document_lists_the_routes(api):
    document = api.get("/api/v1/openapi.json").json()
    assert {"/api/v1/{tenant}/flows", "/api/v1/{tenant}/executions/{namespace}/{flow_id}", "/health/ready"} <= set(
        document["paths"])
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "/api/docs/static/swagger-ui-bundle.js" in docs.text
    assert "https://" not in docs.text  # nothing from a CDN: the page works offline
    assert api.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_the_root_redirects_to_the_ui_as_kestra_does(api):
    root = api.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/ui/"  # Kestra's temporary redirect
    home = api.get("/ui/")
    assert home.status_code == 307 and home.headers["location"] == "/ui/executions"
    assert "/" not in api.get("/api/v1/openapi.json").json()["paths"]


def test_kv_routes(api):
    assert api.put("/api/v1/namespaces/lanner.api/kv/threshold", content="42").status_code == 204
    assert api.put("/api/v1/namespaces/lanner.api/kv/greeting", content="hello there").status_code == 204
    threshold = api.get("/api/v1/namespaces/lanner.api/kv/threshold").json()
    assert (threshold["type"], threshold["value"], threshold["revision"]) == ("NUMBER", 42, 1)
    greeting = api.get("/api/v1/namespaces/lanner.api/kv/greeting").json()
    assert (greeting["type"], greeting["value"]) == ("STRING", "hello there")
    assert [k["key"] for k in api.get("/api/v1/namespaces/lanner.api/kv").json()] == ["greeting", "threshold"]
    deleted = api.delete("/api/v1/namespaces/lanner.api/kv/greeting")
    assert deleted.status_code == 200 and deleted.json() is True
    assert api.get("/api/v1/namespaces/lanner.api/kv/greeting").status_code == 404
    assert api.delete("/api/v1/namespaces/lanner.api/kv/greeting").json() is False  # as Kestra: 200, false
    assert api.put("/api/v1/namespaces/lanner.api/kv/bad key!", content="1").status_code == 400


@pytest.fixture
def guarded(database_url, tmp_path) -> Iterator[httpx.Client]:
    from lanner.config.settings import BasicAuth

    engine = prepare_database(config_for(database_url), may_migrate=True)
    auth = BasicAuth(enabled=True, username="admin", password="s3cret")
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0,
                     web_auth=auth) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                yield client
    finally:
        engine.dispose()


def test_basic_auth_guards_every_route_but_health(guarded):
    assert guarded.get("/health").status_code == 200
    assert guarded.get("/health/ready").status_code == 200
    refused = guarded.get("/api/v1/flows/search")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert guarded.get("/api/v1/flows/search", auth=("admin", "wrong")).status_code == 401
    assert guarded.get("/api/v1/flows/search", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert guarded.get("/api/v1/flows/search", auth=("admin", "s3cret")).status_code == 200


def test_the_root_leads_to_the_login_form_without_credentials(guarded):
    root = guarded.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/ui/"  # no password prompt for a redirect
    home = guarded.get("/ui/")
    assert home.status_code == 303 and home.headers["location"].startswith("/ui/login?next=")


def test_the_login_form_signs_a_browser_in_with_a_session_cookie(guarded):
    from lanner.web.auth import COOKIE

    sent_back = guarded.get("/ui/flows", params={"q": "x"})
    assert sent_back.status_code == 303 and sent_back.headers["location"] == "/ui/login?next=%2Fui%2Fflows%3Fq%3Dx"
    assert guarded.get("/ui/login").status_code == 200 and guarded.get("/ui/static/lanner.css").status_code == 200
    wrong = guarded.post("/ui/login", data={"csrf_token": form_token(guarded), "username": "admin", "password": "nope", "next": "/ui/flows"})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text and COOKIE not in wrong.cookies
    right = guarded.post("/ui/login", data={"csrf_token": form_token(guarded), "username": "admin", "password": "s3cret", "next": "/ui/flows?q=x"})
    assert right.status_code == 303 and right.headers["location"] == "/ui/flows?q=x"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    guarded.cookies.set(COOKIE, right.cookies[COOKIE])
    assert guarded.get("/ui/flows").status_code == 200
    assert guarded.get("/api/v1/flows/search").status_code == 200  # the UI's own calls carry the cookie
    guarded.cookies.set(COOKIE, right.cookies[COOKIE][:-2] + "xx")  # tampered
    assert guarded.get("/api/v1/flows/search").status_code == 401
    from_ui = guarded.get("/api/v1/flows/search", headers={"X-Lanner-UI": "1"})
    assert from_ui.status_code == 401 and "www-authenticate" not in from_ui.headers  # no browser prompt
    guarded.cookies.clear()
    elsewhere = guarded.post("/ui/login", data={"csrf_token": form_token(guarded), "username": "admin", "password": "s3cret",
                                                "next": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/ui/executions"  # no open redirect
    out = guarded.get("/ui/logout")
    assert out.status_code == 303 and COOKIE in out.headers["set-cookie"] and 'Max-Age=0' in out.headers["set-cookie"]


def test_sessions_expire_and_a_new_password_ends_them():
    from lanner.config.settings import BasicAuth
    from lanner.web.auth import SESSION_SECONDS
    from lanner.web.auth_users import ConfiguredCredentials as Credentials

    credentials = Credentials(BasicAuth(enabled=True, username="admin", password="s3cret"))
    cookie = credentials.session(now=1000.0)
    assert credentials.session_valid(cookie, now=1000.0 + SESSION_SECONDS - 1)
    assert not credentials.session_valid(cookie, now=1000.0 + SESSION_SECONDS + 1)
    changed = Credentials(BasicAuth(enabled=True, username="admin", password="another"))
    assert not changed.session_valid(cookie, now=1001.0)
    assert not credentials.session_valid("garbage", now=1001.0)


def test_follow_streams_the_execution_until_it_ends_and_logs_download(api):
    create_flow(api)
    execution = api.post("/api/v1/executions/lanner.api/greeting", files={"name": (None, "bo")}).json()
    with api.stream("GET", f"/api/v1/executions/{execution['id']}/follow") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [line for line in stream.iter_lines() if line.startswith("data: ")]
    import json

    states = [json.loads(line[6:])["state"]["current"] for line in events]
    assert states[-1] == "SUCCESS"
    with api.stream("GET", f"/api/v1/logs/{execution['id']}/follow") as stream:
        logs = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert [entry["message"] for entry in logs] == ["hello bo x1"]
    text = api.get(f"/api/v1/logs/{execution['id']}/download")
    assert "hello bo x1" in text.text and "attachment" in text.headers["content-disposition"]
    assert api.delete(f"/api/v1/executions/{execution['id']}").status_code == 204
    assert api.get(f"/api/v1/executions/{execution['id']}").status_code == 404


def test_no_generated_request_gets_a_server_error(api, tmp_path):
    """Schemathesis generates requests from the OpenAPI document, valid and not; none may get a 5xx."""
    import subprocess
    import sys
    from pathlib import Path

    create_flow(api)
    cli = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run([str(cli), "run", f"{api.base_url}/api/v1/openapi.json", "--checks", "not_a_server_error",
                             "--max-examples", "15", "--seed", "1"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_namespace_is_deployed_all_or_nothing(api):
    other = GREETING.replace("id: greeting", "id: other")
    create_flow(api, GREETING.replace("id: greeting", "id: stale"))
    body = GREETING + "---\n" + other
    done = api.post("/api/v1/flows/lanner.api", content=body, headers={"Content-Type": "application/x-yaml"})
    assert done.status_code == 200, done.text
    assert sorted((d["id"], d["state"]) for d in done.json()) == [("greeting", "created"), ("other", "created"),
                                                                   ("stale", "deleted")]
    broken = body + "---\n" + GREETING.replace("id: greeting", "id: third").replace("namespace: lanner.api",
                                                                                      "namespace: elsewhere")
    refused = api.post("/api/v1/flows/lanner.api", content=broken, headers={"Content-Type": "application/x-yaml"})
    assert refused.status_code == 400 and "elsewhere" in refused.text
    assert api.get("/api/v1/flows/elsewhere/third").status_code == 404


def test_draining_turns_readiness_false_while_requests_in_flight_finish(database_url, tmp_path):
    import threading

    engine = prepare_database(config_for(database_url), may_migrate=True)
    source = (FLOWS / "pause_delay.yaml").read_text()  # a Pause of 0.3 s, then a Return
    try:
        runtime = Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0,
                          web_drain_delay=1.0)
        runtime.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            create_flow(client, source)
            outcome = {}
            in_flight = threading.Thread(target=lambda: outcome.update(response=client.post(
                "/api/v1/executions/lanner.tests/pause_delay", params={"wait": "true"})))
            in_flight.start()
            closing = threading.Thread(target=runtime.close)
            closing.start()
            _until(runtime.web.context.draining.is_set)
            with httpx.Client(base_url=client.base_url, timeout=5) as probe:
                assert probe.get("/health/ready").status_code == 503
                assert probe.get("/health").status_code == 200
            in_flight.join(30)
            closing.join(60)
        assert outcome["response"].status_code == 200
        assert outcome["response"].json()["state"]["current"] == "SUCCESS"
    finally:
        engine.dispose()


def test_execution_search_filters_by_labels_dates_and_sorts(api):
    create_flow(api)
    first = api.post("/api/v1/executions/lanner.api/greeting", params={"labels": ["team:a"], "wait": "true"},
                     files={"name": (None, "x")}).json()
    second = api.post("/api/v1/executions/lanner.api/greeting", params={"labels": ["team:b"], "wait": "true"},
                      files={"name": (None, "y")}).json()
    search = "/api/v1/executions/search"
    assert [e["id"] for e in api.get(search, params={"labels": "team:b"}).json()["results"]] == [second["id"]]
    newest = api.get(search, params={"namespace": "lanner.api"}).json()
    assert [e["id"] for e in newest["results"]] == [second["id"], first["id"]] and newest["total"] == 2
    oldest = api.get(search, params={"sort": "state.startDate:asc", "size": 1}).json()
    assert [e["id"] for e in oldest["results"]] == [first["id"]] and oldest["total"] == 2
    after = api.get(search, params={"startDate": second["state"]["startDate"]}).json()
    assert [e["id"] for e in after["results"]] == [second["id"]]
    assert api.get(search, params={"startDate": "2026-01-01T00:00:00"}).status_code == 400
    assert api.get(search, params={"sort": "nonsense:desc"}).status_code == 400


def test_ui_pages_show_flows_executions_task_runs_and_logs(api):
    create_flow(api)
    execution = api.post("/api/v1/executions/lanner.api/greeting", params={"wait": "true"},
                         files={"name": (None, "<ui>")}).json()
    assert api.get("/ui", follow_redirects=False).status_code == 307
    flows = api.get("/ui/flows").text
    assert "/ui/flows/lanner.api/greeting" in flows
    flow = api.get("/ui/flows/lanner.api/greeting").text
    assert 'name="name"' in flow and 'name="times"' in flow and "STRING, required" in flow
    listed = api.get("/ui/executions").text
    assert execution["id"] in listed and "SUCCESS" in listed
    page = api.get(f"/ui/executions/{execution['id']}").text
    assert 'id="logs"' in page and "hello" in page  # the log lines come from the stream, a page at a time
    assert "<ui>" not in page  # escaped, not injected
    stream = api.get(f"/api/v1/logs/{execution['id']}/follow").text  # (the execution ended: the stream ends)
    assert "hello <ui> x1" in stream
    assert api.get("/ui/static/lanner.css").status_code == 200
    instance = api.get("/ui/instance").text
    from lanner.store.migration_scripts import head

    assert "Schema version" in instance and head() in instance and "Pending migrations" in instance
    assert api.get("/ui/executions/nope").status_code == 404


def test_the_services_page_shows_this_process_live(api, database_url):
    import os

    from lanner.model.service_state import ServiceState
    from lanner.store import service_instances
    from lanner.store.database import create_engine

    engine = create_engine(config_for(database_url).settings.database, create=False)
    try:
        service_instances.register(engine, instance_id="gone-worker", service_type="WORKER", hostname="elsewhere",
                                   pid=4242, lanner_version="0.0.1", schema_version="0001", settings={})
        service_instances.change_state(engine, "gone-worker", ServiceState.DISCONNECTED, "no heartbeat for 12.0 s")
    finally:
        engine.dispose()
    page = api.get("/ui/services").text
    mine = next(row for row in page.split("<tr ")[1:] if f"<td>{os.getpid()}</td>" in row)
    assert "STANDALONE" in mine and "state RUNNING" in mine and " s ago" in mine
    gone = next(row for row in page.split("<tr ")[1:] if "<td>4242</td>" in row)
    assert "DISCONNECTED" in gone and "no heartbeat for 12.0 s" in gone and "elsewhere" in gone


DECLARED_ORDER = """id: ordered
namespace: lanner.api
inputs:
  - id: zeta_comes_first
    type: STRING
  - id: mid
    type: STRING
  - id: a
    type: INT
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs | keys | join(',') }}"
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs | keys | join(',') }}"
"""


def test_an_executions_inputs_keep_the_flows_declared_order(api):
    # PostgreSQL's JSONB sorts keys shortest first (a, mid, zeta_...); the flow declares the reverse.
    create_flow(api, DECLARED_ORDER)
    created = api.post("/api/v1/executions/lanner.api/ordered", params={"wait": "true"},
                       files={"a": (None, "1"), "mid": (None, "m"), "zeta_comes_first": (None, "z")}).json()
    declared = ["zeta_comes_first", "mid", "a"]
    assert list(created["inputs"]) == declared
    assert list(api.get(f"/api/v1/executions/{created['id']}").json()["inputs"]) == declared
    found = api.get("/api/v1/executions/search", params={"flowId": "ordered"}).json()["results"]
    assert [list(e["inputs"]) for e in found] == [declared]
    # The second task is decided by the executor from the stored execution: expressions see the same order.
    assert [run["outputs"]["value"] for run in created["taskRunList"]] == [",".join(declared)] * 2
    page = api.get(f"/ui/executions/{created['id']}").text
    assert page.index("<th>zeta_comes_first</th>") < page.index("<th>mid</th>") < page.index("<th>a</th>")


def test_tenant_paths_the_0_2x_aliases_and_an_unknown_tenant(api):
    assert create_flow(api).status_code == 200  # the 0.2x path: the main tenant's
    tenant_path = api.get("/api/v1/main/flows/lanner.api/greeting")
    assert tenant_path.status_code == 200 and tenant_path.json()["id"] == "greeting"
    assert api.get("/api/v1/flows/lanner.api/greeting").json()["revision"] == tenant_path.json()["revision"]
    unknown = api.get("/api/v1/acme/flows/lanner.api/greeting")
    assert unknown.status_code == 404 and "'acme'" in unknown.json()["message"]


def test_a_nul_character_the_database_cannot_hold_is_a_400_not_a_500(api, database_url):
    answer = api.post("/api/v1/main/triggers/unlock/by-triggers",
                      json=[{"namespace": "lanner.api", "flowId": "gr\u0000eeting", "triggerId": "t"}])
    if database_url.startswith("sqlite"):
        assert answer.status_code == 404, answer.text  # SQLite compares it: no such trigger
    else:  # PostgreSQL refuses NUL in text: a 400 saying so (nothing was changed)
        assert answer.status_code == 400 and "NUL" in answer.json()["message"], answer.text
