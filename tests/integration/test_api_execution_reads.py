"""Reading executions through Kestra's API: shapes kestrapy reads, searches with filters, the latest per flow,
flows for execution, distinct values, CSV export, inputs validation, expression evaluation and execution files;
on both backends."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration import test_api
from tests.integration.test_api import create_flow

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # kestrapy's models warn as they are defined (a field `validate`)
    from kestrapy.models import Execution as KestraExecution
    from kestrapy.models import FlowForExecution as KestraFlowForExecution

api = test_api.api  # the fixture: a live server on each backend

PARENT = """id: parent
namespace: lanner.api.team
labels:
  owner: ops
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: lanner.api
    flowId: greeting
    inputs:
      name: child
    wait: true
"""
FILES = """id: files
namespace: lanner.files
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles:
      - "*.csv"
      - "*.ion"
    commands:
      - printf 'n\\n1\\n2\\n3\\n' > numbers.csv
      - |
        printf '{"a": 1}\\n{b: 2}\\n' > rows.ion
"""
SEARCH = "/api/v1/executions/search"


def run(api, namespace: str, flow_id: str, **inputs: str) -> dict[str, Any]:
    labels = inputs.pop("labels", None)
    answer = api.post(f"/api/v1/executions/{namespace}/{flow_id}", params={"wait": "true", "labels": labels or []},
                      files={key: (None, value) for key, value in inputs.items()})
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["id"] for e in answer.json()["results"]]


def assert_no_field_lost(model: Any, shaped: dict[str, Any]) -> None:
    """Every key we sent is a field of the kestrapy model or kept in its additional properties."""
    known = set(type(model).model_fields) | {f.alias for f in type(model).model_fields.values() if f.alias}
    for key in shaped:
        assert key in known or key in model.additional_properties, key


def test_execution_is_read_in_kestras_shape_that_kestrapy_accepts(api):
    create_flow(api)
    assert create_flow(api, PARENT).status_code == 200
    parent = run(api, "lanner.api.team", "parent")
    assert parent["state"]["current"] == "SUCCESS"
    got = api.get(f"/api/v1/main/executions/{parent['id']}")
    assert got.status_code == 200
    shaped = got.json()
    model = KestraExecution.from_dict(shaped)
    assert_no_field_lost(model, shaped)
    assert model.id == parent["id"] and model.deleted is False and model.metadata.attempt_number == 1
    assert model.metadata.original_created_date is not None and model.state.end_date is not None
    assert shaped["tenantId"] == "main" and shaped["kind"] is None and shaped["labels"] == [
        {"key": "owner", "value": "ops"}]
    assert shaped["state"]["duration"].startswith("PT") and shaped["state"]["getEndDate"] == shaped["state"]["endDate"]
    run_shape = shaped["taskRunList"][0]
    task_run = model.task_run_list[0]
    assert_no_field_lost(task_run, run_shape)
    assert run_shape["tenantId"] == "main" and run_shape["attempts"][0]["logFile"] is None
    # The child, started by the Subflow task: its trigger is Kestra's {id, type, variables}.
    child_id = run_shape["outputs"]["executionId"]
    child = api.get(f"/api/v1/executions/{child_id}").json()
    assert KestraExecution.from_dict(child).parent_id == parent["id"]
    assert child["trigger"]["id"] == "call" and child["trigger"]["type"] == "io.kestra.plugin.core.flow.Subflow"
    assert child["trigger"]["variables"]["executionId"] == parent["id"]
    # Refusals: an unknown execution, another tenant.
    missing = api.get("/api/v1/executions/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert api.get(f"/api/v1/other/executions/{parent['id']}").status_code == 404
    assert api.get("/api/v1/main/executions/search").json()["total"] == 2  # the tenant form of the search
    # The OpenAPI document declares the shapes the routes send.
    document = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/{tenant}/executions/{execution_id}/file/preview" in document["paths"]
    assert {"taskRunList", "metadata", "deleted"} <= set(document["components"]["schemas"]["Execution"]["properties"])


def test_search_applies_kestras_filters_and_the_flat_parameters(api):
    create_flow(api)
    assert create_flow(api, PARENT).status_code == 200
    first = run(api, "lanner.api", "greeting", name="ada", labels=["team:a"])
    parent = run(api, "lanner.api.team", "parent")
    child = next(e for e in api.get(SEARCH, params={"size": 50}).json()["results"] if e["parentId"] == parent["id"])
    everything = ids(api.get(SEARCH))
    assert everything == [child["id"], parent["id"], first["id"]]  # newest first
    f = "filters"
    assert ids(api.get(SEARCH, params={f"{f}[namespace][PREFIX]": "lanner.api"})) == everything
    assert ids(api.get(SEARCH, params={f"{f}[namespace][EQUALS]": "lanner.api.team"})) == [parent["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[namespace][STARTS_WITH]": "lanner.api.t"})) == [parent["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[flowId][CONTAINS]": "REET"})) == [child["id"], first["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[flowId][REGEX]": "^par"})) == [parent["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[state][IN]": "SUCCESS,FAILED"})) == everything
    assert ids(api.get(SEARCH, params={f"{f}[state][NOT_IN]": "SUCCESS"})) == []
    assert ids(api.get(SEARCH, params={f"{f}[labels][EQUALS][team]": "a"})) == [first["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[labels][NOT_EQUALS][team]": "a"})) == [child["id"], parent["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[labels][CONTAINS]": "owner:o"})) == [parent["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[childFilter][EQUALS]": "CHILD"})) == [child["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[childFilter][EQUALS]": "MAIN"})) == [parent["id"], first["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[triggerExecutionId][EQUALS]": parent["id"]})) == [child["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[q][EQUALS]": first["id"][:12].lower()})) == [first["id"]]
    assert ids(api.get(SEARCH, params={f"{f}[kind][EQUALS]": "NORMAL"})) == everything
    assert ids(api.get(SEARCH, params={f"{f}[kind][EQUALS]": "TEST"})) == []
    assert ids(api.get(SEARCH, params={f"{f}[scope][EQUALS]": "USER"})) == everything
    assert ids(api.get(SEARCH, params={f"{f}[timeRange][EQUALS]": "PT1H"})) == everything
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ids(api.get(SEARCH, params={f"{f}[startDate][GREATER_THAN]": later})) == []
    assert ids(api.get(SEARCH, params={f"{f}[endDate][LESS_THAN_OR_EQUAL_TO]": later})) == everything
    either = {f"{f}[or][0][flowId][EQUALS]": "parent", f"{f}[or][1][labels][EQUALS][team]": "a"}
    assert ids(api.get(SEARCH, params=either)) == [parent["id"], first["id"]]
    # Sorting, paging, the flat 0.2x parameters.
    oldest = api.get(SEARCH, params={"sort": "state.startDate:asc", "size": 1}).json()
    assert [e["id"] for e in oldest["results"]] == [first["id"]] and oldest["total"] == 3
    by_flow_id = api.get(SEARCH, params={"sort": "flowId:asc"}).json()["results"]
    assert [e["flowId"] for e in by_flow_id] == ["greeting", "greeting", "parent"]
    assert ids(api.get(SEARCH, params={"namespace": "lanner.api", "flowId": "greeting"})) == [child["id"], first["id"]]
    assert ids(api.get(SEARCH, params={"labels": "team:a", "state": "SUCCESS"})) == [first["id"]]
    assert ids(api.get(SEARCH, params={"startDate": later})) == []
    by_flow = api.get("/api/v1/main/executions", params={"namespace": "lanner.api", "flowId": "greeting"})
    assert ids(by_flow) == [child["id"], first["id"]] and by_flow.json()["total"] == 2
    # Refusals: each a 400 naming what is wrong.
    for bad in ({f"{f}[nope][EQUALS]": "x"}, {f"{f}[state][CONTAINS]": "x"}, {f"{f}[state][IN]": "SLEEPY"},
                {f"{f}[startDate][GREATER_THAN]": "yesterday"}, {f"{f}[timeRange][EQUALS]": "24 hours"},
                {"sort": "nonsense:desc"}, {"state": "SLEEPY"}, {"startDate": "2026-01-01T00:00:00"},
                {"labels": "nocolon"}, {f"{f}[namespace][EQUALS]": "a\x00b"}):
        refused = api.get(SEARCH, params=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["message"]
    assert api.get("/api/v1/executions", params={"namespace": "lanner.api"}).status_code == 400


def test_latest_distinct_values_csv_and_flows_for_execution(api):
    create_flow(api)
    first = run(api, "lanner.api", "greeting", name="one")
    second = run(api, "lanner.api", "greeting", name="two")
    latest = api.post("/api/v1/executions/latest", json=[{"namespace": "lanner.api", "id": "greeting"},
                                                         {"namespace": "lanner.api", "id": "absent"}])
    assert latest.status_code == 200
    assert [(e["id"], e["status"], e["flowId"]) for e in latest.json()] == [(second["id"], "SUCCESS", "greeting")]
    assert api.post("/api/v1/executions/latest", json=[{"namespace": "x"}]).status_code == 400
    many = [{"namespace": "x", "id": f"f{i}"} for i in range(1001)]
    assert api.post("/api/v1/executions/latest", json=many).status_code == 400
    # Distinct values, with filters.
    distinct = "/api/v1/executions/distinct-field-values"
    assert api.get(distinct, params={"field": "NAMESPACE"}).json() == ["lanner.api"]
    assert api.get(distinct, params={"field": "STATE", "filters[flowId][EQUALS]": "greeting"}).json() == ["SUCCESS"]
    assert api.get(distinct, params={"field": "FLOW_ID", "filters[flowId][EQUALS]": "other"}).json() == []
    assert api.get(distinct, params={"field": "INPUTS"}).status_code == 400
    # CSV export.
    exported = api.get("/api/v1/executions/export/by-query/csv", params={"filters[flowId][EQUALS]": "greeting"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [second["id"], first["id"]] and rows[0]["state"] == "SUCCESS"
    assert api.get("/api/v1/executions/export/by-query/csv", params={"filters[bad][EQUALS]": "x"}).status_code == 400
    # Namespaces and flows for execution.
    assert api.get("/api/v1/executions/namespaces").json() == ["lanner.api"]
    flows = api.get("/api/v1/executions/namespaces/lanner.api/flows").json()
    assert [f["id"] for f in flows] == ["greeting"]
    assert api.get("/api/v1/executions/namespaces/nowhere/flows").json() == []
    flow = api.get("/api/v1/executions/flows/lanner.api/greeting").json()
    model = KestraFlowForExecution.from_dict(flow)
    assert model.revision == 1 and [i.id for i in model.inputs] == ["name", "times"]
    assert [t.id for t in model.tasks] == ["hello"] and flow["tasks"][0]["type"].endswith("Return")
    assert api.get("/api/v1/executions/flows/lanner.api/greeting", params={"revision": 7}).status_code == 404
    assert api.get("/api/v1/executions/flows/lanner.api/absent").status_code == 404
    ran = api.get(f"/api/v1/executions/{first['id']}/flow")
    assert ran.status_code == 200 and ran.json()["revision"] == 1
    assert api.get("/api/v1/executions/nope/flow").status_code == 404


def test_validate_inputs_and_evaluate_expressions(api, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "aHVudGVyMg==")  # hunter2
    create_flow(api)
    valid = api.post("/api/v1/executions/lanner.api/greeting/validate", files={"name": (None, "ada")})
    assert valid.status_code == 200, valid.text
    answer = valid.json()
    assert answer["id"] == "greeting" and answer["checks"] == []
    by_id = {i["input"]["id"]: i for i in answer["inputs"]}
    assert by_id["name"]["value"] == "ada" and by_id["name"]["errors"] == [] and not by_id["name"]["isDefault"]
    assert by_id["times"]["value"] == 1 and by_id["times"]["isDefault"] and by_id["times"]["input"]["type"] == "INT"
    invalid = api.post("/api/v1/executions/lanner.api/greeting/validate", files={"times": (None, "many")}).json()
    problems = {i["input"]["id"]: [e["message"] for e in i["errors"]] for i in invalid["inputs"]}
    assert any("name" in m for m in problems["name"]) and any("times" in m for m in problems["times"])
    assert api.get("/api/v1/executions/search").json()["total"] == 0  # nothing was created
    assert api.post("/api/v1/executions/lanner.api/absent/validate").status_code == 404
    assert api.post("/api/v1/executions/lanner.api/greeting/validate", params={"labels": "bad"}).status_code == 400
    # Evaluating expressions against an execution.
    execution = run(api, "lanner.api", "greeting", name="ada", times="2")
    evaluate = f"/api/v1/executions/{execution['id']}/actions/eval"
    text = {"Content-Type": "text/plain"}
    said = api.post(evaluate, content="{{ outputs.hello.value }} {{ inputs.times + 1 }}", headers=text)
    assert said.status_code == 200 and said.json() == {"result": "hello ada x2 3", "error": None, "stackTrace": None}
    failed = api.post(evaluate, content="{{ nothing.here }}", headers=text).json()
    assert failed["result"] is None and "nothing" in failed["error"]
    assert api.post(evaluate, content="{{ secret('TOKEN') }}", headers=text).json()["result"] == "******"
    run_id = execution["taskRunList"][0]["id"]
    in_run = api.post(f"{evaluate}/{run_id}", content="{{ taskrun.id }} {{ task.id }}", headers=text).json()
    assert in_run["result"] == f"{run_id} hello"
    assert api.post(f"{evaluate}/nope", content="{{ task.id }}", headers=text).status_code == 404
    assert api.post(evaluate, content="", headers=text).status_code == 400
    assert api.post("/api/v1/executions/nope/actions/eval", content="{{ 1 }}", headers=text).status_code == 404


def test_execution_files_download_size_and_preview(api):
    assert create_flow(api, FILES).status_code == 200
    execution = run(api, "lanner.files", "files")
    assert execution["state"]["current"] == "SUCCESS", execution
    files = execution["taskRunList"][0]["outputs"]["outputFiles"]
    csv_uri, ion_uri = files["numbers.csv"], files["rows.ion"]
    base = f"/api/v1/executions/{execution['id']}/file"
    downloaded = api.get(base, params={"path": csv_uri})
    assert downloaded.status_code == 200 and downloaded.content == b"n\n1\n2\n3\n"
    assert "numbers.csv" in downloaded.headers["content-disposition"]
    assert api.get(f"{base}/metas", params={"path": csv_uri}).json() == {"size": 8}
    shown = api.get(f"{base}/preview", params={"path": csv_uri, "maxRows": 2}).json()
    assert shown == {"extension": "csv", "type": "TEXT", "content": "n\n1", "truncated": True, "maxLine": 2}
    ion = api.get(f"{base}/preview", params={"path": ion_uri}).json()
    assert ion["type"] == "LIST" and ion["content"] == [{"a": 1}, "{b: 2}"] and not ion["truncated"]
    # Refusals: another execution's file, a malformed URI, a missing file, an unknown execution or encoding.
    other = csv_uri.replace(execution["id"], "AnotherExecution0000")
    refused = api.get(base, params={"path": other})
    assert refused.status_code == 422 and execution["id"] in refused.json()["message"]
    assert api.get(f"{base}/metas", params={"path": "kestra:///lanner/../etc/passwd"}).status_code == 422
    assert api.get(base, params={"path": "file:///etc/passwd"}).status_code == 422
    assert api.get(base, params={"path": csv_uri.replace("numbers", "absent")}).status_code == 404
    assert api.get("/api/v1/executions/nope/file", params={"path": csv_uri}).status_code == 404
    assert api.get(f"{base}/preview", params={"path": csv_uri, "encoding": "klingon"}).status_code == 422

