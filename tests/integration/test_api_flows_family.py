"""Kestra's flow routes (``/api/v1/{tenant}/flows/...``) against a live webserver, on both backends."""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

import httpx

with warnings.catch_warnings():  # kestrapy's generated models warn on import (a field named "validate")
    warnings.simplefilter("ignore")
    from kestrapy.models import (
        BulkResponse,
        FlowGraph,
        FlowInterface,
        FlowTopologyGraph,
        FlowWithSource,
        PagedResultsFlow,
        ValidateConstraintViolation,
    )

from tests.integration.test_api import api  # noqa: F401  (the fixture)

YAML = {"Content-Type": "application/x-yaml"}
BASE = "/api/v1/main/flows"

RICH = """id: rich
namespace: lanner.family
description: Every part a flow has
labels:
  team: data
  tier: 1
inputs:
  - id: name
    type: STRING
    defaults: ada
variables:
  greeting: hello
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "{{ vars.greeting }} {{ inputs.name }}"
  - id: branches
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.debug.Return
        format: left
      - id: right
        type: io.kestra.plugin.core.debug.Return
        format: right
  - id: choose
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.name == 'ada' }}"
    then:
      - id: yes
        type: io.kestra.plugin.core.debug.Return
        format: "yes"
    else:
      - id: no
        type: io.kestra.plugin.core.debug.Return
        format: "no"
errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    message: failed
finally:
  - id: at_last
    type: io.kestra.plugin.core.log.Log
    message: done
afterExecution:
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: after
outputs:
  - id: said
    type: STRING
    value: "{{ outputs.left.value }}"
pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: INFO
concurrency:
  limit: 2
retry:
  type: constant
  interval: PT1S
  maxAttempt: 2
sla:
  - id: slow
    type: MAX_DURATION
    duration: PT1H
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cr3tkey
"""


def flow(flow_id: str, namespace: str = "lanner.family", extra: str = "") -> str:
    return (f"id: {flow_id}\nnamespace: {namespace}\n{extra}tasks:\n  - id: say\n"
            "    type: io.kestra.plugin.core.debug.Return\n    format: hi\n")


def create(client: httpx.Client, source: str) -> dict[str, Any]:
    response = client.post(BASE, content=source, headers=YAML)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def ids(answer: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
    items = answer["results"] if isinstance(answer, dict) else answer
    return sorted(item["id"] for item in items)


def test_a_flow_answer_is_kestras_flow_with_source_and_kestrapy_loses_no_field(api):
    created = create(api, RICH)
    got = api.get(f"{BASE}/lanner.family/rich", params={"source": "true"}).json()
    assert got["labels"] == [{"key": "team", "value": "data"}, {"key": "tier", "value": "1"}]
    assert got["finally"][0]["id"] == "at_last" and got["afterExecution"][0]["id"] == "after"
    assert got["pluginDefaults"][0]["type"] == "io.kestra.plugin.core.log.Log"
    assert got["tenantId"] == "main" and got["disabled"] is False and got["deleted"] is False
    assert got["source"] == RICH and created["revision"] == 1 and got["updated"]
    parsed = FlowWithSource.from_dict(got)
    back = parsed.to_dict()
    lost = [key for key, value in got.items() if value is not None and key not in back]
    assert lost == []
    assert [t.id for t in parsed.tasks] == ["first", "branches", "choose"]
    assert parsed.triggers[0].id == "hook" and parsed.concurrency is not None and parsed.sla[0].id == "slow"
    no_source = api.get(f"{BASE}/lanner.family/rich").json()
    assert no_source["source"] is None and no_source["tasks"] == got["tasks"]


def test_search_filters_sorts_and_pages(api):
    create(api, flow("alpha", extra="labels:\n  team: data\n"))
    create(api, flow("beta", namespace="lanner.family.child"))
    create(api, flow("gamma", namespace="other.place"))
    found = api.get(f"{BASE}/search", params={"filters[namespace][PREFIX]": "lanner.family"}).json()
    assert ids(found) == ["alpha", "beta"] and found["total"] == 2
    PagedResultsFlow.from_dict(found)
    assert ids(api.get(f"{BASE}/search", params={"filters[flowId][EQUALS]": "gamma"}).json()) == ["gamma"]
    assert ids(api.get(f"{BASE}/search", params={"filters[labels][EQUALS][team]": "data"}).json()) == ["alpha"]
    assert ids(api.get(f"{BASE}/search", params={"filters[q][EQUALS]": "ETA"}).json()) == ["beta"]
    assert ids(api.get(f"{BASE}/search", params={"filters[scope][EQUALS]": "USER"}).json()) == ["alpha", "beta",
                                                                                                 "gamma"]
    assert ids(api.get("/api/v1/flows/search", params={"namespace": "lanner.family", "labels": "team:data"}).json()) \
        == ["alpha"]
    ordered = api.get(f"{BASE}/search", params={"sort": "id:desc", "size": 2, "page": 1}).json()
    assert [f["id"] for f in ordered["results"]] == ["gamma", "beta"] and ordered["total"] == 3
    assert [f["id"] for f in api.get(f"{BASE}/search", params={"sort": "id:desc", "size": 2, "page": 2}).json()[
        "results"]] == ["alpha"]
    refused = api.get(f"{BASE}/search", params={"filters[state][EQUALS]": "FAILED"})
    assert refused.status_code == 400 and "state" in refused.json()["message"]
    assert api.get(f"{BASE}/search", params={"sort": "bogus:asc"}).status_code == 400


def test_a_namespace_listed_distinct_namespaces_and_sources_searched(api):
    create(api, flow("alpha"))
    create(api, flow("beta", namespace="lanner.family.child"))
    listed = api.get(f"{BASE}/lanner.family").json()
    assert ids(listed) == ["alpha"]
    assert api.get(f"{BASE}/distinct-namespaces").json() == ["lanner.family", "lanner.family.child"]
    assert api.get(f"{BASE}/distinct-namespaces", params={"q": "CHILD"}).json() == ["lanner.family.child"]
    hits = api.get(f"{BASE}/source", params={"q": "id: beta"}).json()
    assert hits["total"] == 1 and hits["results"][0]["id"] == "beta"
    assert hits["results"][0]["matches"][0] == {"line": 1, "column": 1, "snippet": "id: beta"}
    assert api.get(f"{BASE}/source", params={"q": "format: h.", "regex": "true"}).json()["total"] == 2
    assert api.get(f"{BASE}/source", params={"q": "(", "regex": "true"}).status_code == 400
    assert api.get(f"{BASE}/source").status_code == 400


def test_disabling_a_flow_writes_a_revision_and_stops_its_triggers(api):
    hooked = flow("hooked", extra="triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n"
                                  "    key: k3y\n")
    create(api, hooked)
    webhook = "/api/v1/main/executions/webhook/lanner.family/hooked/k3y"
    assert api.post(webhook).status_code == 200
    done = api.post(f"{BASE}/disable/by-ids", json=[{"namespace": "lanner.family", "id": "hooked"}])
    assert done.status_code == 200 and BulkResponse.from_dict(done.json()).count == 1
    got = api.get(f"{BASE}/lanner.family/hooked", params={"source": "true"}).json()
    assert got["disabled"] is True and got["revision"] == 2 and got["source"].endswith("disabled: true\n")
    assert api.post(webhook).status_code == 404
    assert api.post("/api/v1/main/executions/lanner.family/hooked").status_code == 409
    again = api.post(f"{BASE}/disable/by-ids", json=[{"namespace": "lanner.family", "id": "hooked"}]).json()
    assert again["count"] == 0
    enabled = api.post(f"{BASE}/enable/by-query", params={"filters[flowId][EQUALS]": "hooked"}).json()
    assert enabled["count"] == 1
    got = api.get(f"{BASE}/lanner.family/hooked", params={"source": "true"}).json()
    assert got["disabled"] is False and "disabled: false" in got["source"] and got["revision"] == 3
    assert api.post(webhook).status_code == 200
    missing = api.post(f"{BASE}/disable/by-ids", json=[{"namespace": "lanner.family", "id": "hooked"},
                                                       {"namespace": "lanner.family", "id": "ghost"}])
    assert missing.status_code == 404 and "ghost" in missing.json()["message"]
    assert api.get(f"{BASE}/lanner.family/hooked").json()["disabled"] is False  # nothing changed
    assert api.post(f"{BASE}/disable/by-query", params={"filters[bogus][EQUALS]": "x"}).status_code == 400
    assert api.post(f"{BASE}/disable/by-ids", json={"namespace": "x"}).status_code == 400


def test_deleting_by_ids_and_by_query(api):
    for name in ("one", "two", "three"):
        create(api, flow(name))
    gone = api.request("DELETE", f"{BASE}/delete/by-ids", json=[{"namespace": "lanner.family", "id": "one"}])
    assert gone.status_code == 200 and gone.json() == {"count": 1}
    assert api.get(f"{BASE}/lanner.family/one").status_code == 404
    deleted = api.get(f"{BASE}/lanner.family/one", params={"allowDeleted": "true"}).json()
    assert deleted["deleted"] is True and deleted["revision"] == 2
    refused = api.request("DELETE", f"{BASE}/delete/by-ids", json=[{"namespace": "lanner.family", "id": "one"}])
    assert refused.status_code == 404
    by_query = api.delete(f"{BASE}/delete/by-query", params={"filters[flowId][IN]": "two,three"})
    assert by_query.json() == {"count": 2}
    assert api.get(f"{BASE}/search").json()["total"] == 0


def test_revisions_listed_and_deleted(api):
    create(api, flow("revised"))
    for word in ("two", "three"):
        api.put(f"{BASE}/lanner.family/revised", content=flow("revised").replace("hi", word), headers=YAML)
    assert [r["revision"] for r in api.get(f"{BASE}/lanner.family/revised/revisions").json()] == [1, 2, 3]
    assert api.delete(f"{BASE}/lanner.family/revised/revisions", params={"revisions": "1,2"}).status_code == 204
    assert [r["revision"] for r in api.get(f"{BASE}/lanner.family/revised/revisions").json()] == [3]
    assert api.get(f"{BASE}/lanner.family/revised", params={"revision": 1}).status_code == 404
    current = api.delete(f"{BASE}/lanner.family/revised/revisions", params={"revisions": "3"})
    assert current.status_code == 409
    assert api.delete(f"{BASE}/lanner.family/revised/revisions", params={"revisions": "9"}).status_code == 404
    assert api.delete(f"{BASE}/lanner.family/revised/revisions", params={"revisions": "x"}).status_code == 400
    assert api.delete(f"{BASE}/lanner.family/nothing/revisions", params={"revisions": "1"}).status_code == 404


def test_bulk_and_namespace_deployments_answer_flow_interfaces(api):
    create(api, flow("stale"))
    body = flow("first") + "---\n" + flow("second", namespace="lanner.family.child")
    refused = api.post(f"{BASE}/bulk", params={"namespace": "lanner.family"}, content=body, headers=YAML)
    assert refused.status_code == 400 and "lanner.family.child" in refused.text  # children not allowed
    assert api.get(f"{BASE}/lanner.family/first").status_code == 404
    done = api.post(f"{BASE}/bulk", params={"namespace": "lanner.family", "allowNamespaceChild": "true"},
                    content=body, headers=YAML)
    assert done.status_code == 200, done.text
    assert sorted((d["id"], d["state"]) for d in done.json()) == [("first", "created"), ("second", "created"),
                                                                   ("stale", "deleted")]
    for item in done.json():
        FlowInterface.from_dict(item)
    kept = api.post(f"{BASE}/bulk", content=flow("third", namespace="elsewhere"), headers=YAML)
    assert [d["id"] for d in kept.json()] == ["third"]  # no namespace: nothing deleted
    assert api.get(f"{BASE}/lanner.family/first").status_code == 200
    same = api.post(f"{BASE}/lanner.family", params={"delete": "false"}, content=flow("first"), headers=YAML)
    assert [(d["id"], d["state"]) for d in same.json()] == [("first", "unchanged")]


def test_export_by_ids_and_by_query_then_import_a_zip_and_a_yaml_file(api):
    create(api, flow("alpha"))
    create(api, flow("beta"))
    exported = api.post(f"{BASE}/export/by-ids", json=[{"namespace": "lanner.family", "id": "alpha"}])
    assert exported.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert names == ["lanner.family.alpha.yml"]
    everything = api.get(f"{BASE}/export/by-query", params={"filters[namespace][EQUALS]": "lanner.family"})
    archive = zipfile.ZipFile(io.BytesIO(everything.content))
    assert sorted(archive.namelist()) == ["lanner.family.alpha.yml", "lanner.family.beta.yml"]
    assert archive.read("lanner.family.beta.yml").decode() == flow("beta")
    assert api.post(f"{BASE}/export/by-ids", json=[{"namespace": "lanner.family", "id": "ghost"}]).status_code == 404

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as upload:
        upload.writestr("a.yml", flow("imported"))
        upload.writestr("bad.yml", "id: broken\nnamespace: lanner.family\ntasks: []\n")
    answer = api.post(f"{BASE}/import", files={"fileUpload": ("flows.zip", buffer.getvalue())})
    assert answer.status_code == 200, answer.text
    assert answer.json() == ["bad.yml"]
    assert api.get(f"{BASE}/lanner.family/imported").status_code == 200
    strict = api.post(f"{BASE}/import", params={"failOnError": "true"},
                      files={"fileContent": ("flows.zip", buffer.getvalue())})
    assert strict.status_code == 400 and "bad.yml" in strict.json()["message"]
    yaml_file = flow("from_yaml") + "---\n" + flow("from_yaml_too")
    assert api.post(f"{BASE}/import", files={"fileUpload": ("flows.yml", yaml_file.encode())}).json() == []
    assert api.get(f"{BASE}/lanner.family/from_yaml_too").status_code == 200
    assert api.post(f"{BASE}/import", files={"other": ("x.yml", b"")}).status_code == 400
    assert api.post(f"{BASE}/import", files={"fileUpload": ("x.zip", b"PK\x03\x04broken")}).status_code == 400


def test_graphs_of_a_stored_flow_a_source_and_an_execution(api):
    create(api, RICH)
    graph = api.get(f"{BASE}/lanner.family/rich/graph")
    assert graph.status_code == 200, graph.text
    answer = graph.json()
    FlowGraph.from_dict(answer)
    uids = {n["uid"]: n for n in answer["nodes"]}
    assert {"root._start", "root._end", "root.first", "root.branches.left", "root.choose.yes"} <= set(uids)
    assert uids["root.on_error"]["branchType"] == "ERROR" and uids["root.Triggers.hook"]["type"].endswith("GraphTrigger")
    edges = {(e["source"], e["target"]): e["relation"] for e in answer["edges"]}
    assert edges[("root.branches", "root.branches.left")]["relationType"] == "PARALLEL"
    assert edges[("root.choose", "root.choose.yes")] == {"relationType": "CHOICE", "value": "then"}
    assert {c["cluster"]["uid"] for c in answer["clusters"]} >= {"cluster_root.branches", "cluster_root.choose"}
    assert set(answer["flowables"]) == {"root.branches", "root.choose"}
    from_source = api.post(f"{BASE}/graph", content=RICH, headers=YAML).json()
    assert {n["uid"] for n in from_source["nodes"]} == set(uids)
    assert api.post(f"{BASE}/graph", content="id: x\n", headers=YAML).status_code == 400
    assert api.get(f"{BASE}/lanner.family/ghost/graph").status_code == 404

    execution = api.post("/api/v1/main/executions/lanner.family/rich", params={"wait": "true"})
    assert execution.status_code == 200, execution.text
    drawn = api.get(f"/api/v1/main/executions/{execution.json()['id']}/graph").json()
    first = next(n for n in drawn["nodes"] if n["uid"] == "root.first")
    assert first["taskRun"]["state"]["current"] == "SUCCESS" and first["executionId"] == execution.json()["id"]
    assert api.get("/api/v1/main/executions/nope/graph").status_code == 404


def test_dependencies_of_a_flow_and_of_a_namespace(api):
    create(api, flow("child"))
    create(api, """id: parent
namespace: lanner.family
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: lanner.family
    flowId: child
""")
    create(api, """id: follower
namespace: lanner.other
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: hi
triggers:
  - id: after_parent
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      flows:
        - namespace: lanner.family
          flowId: parent
""")
    direct = api.get(f"{BASE}/lanner.family/parent/dependencies").json()
    FlowTopologyGraph.from_dict(direct)
    pairs = {(e["source"], e["target"], e["relation"]) for e in direct["edges"]}
    assert pairs == {("main_lanner.family_parent", "main_lanner.family_child", "FLOW_TASK"),
                     ("main_lanner.family_parent", "main_lanner.other_follower", "FLOW_TRIGGER")}
    assert {n["id"] for n in direct["nodes"]} == {"parent", "child", "follower"}
    upstream = api.get(f"{BASE}/lanner.family/child/dependencies", params={"destinationOnly": "true"}).json()
    assert [(e["source"], e["target"]) for e in upstream["edges"]] == [("main_lanner.family_parent",
                                                                        "main_lanner.family_child")]
    narrow = api.get(f"{BASE}/lanner.family/child/dependencies").json()
    assert len(narrow["edges"]) == 1
    expanded = api.get(f"{BASE}/lanner.family/child/dependencies", params={"expandAll": "true"}).json()
    assert len(expanded["edges"]) == 2
    namespace = api.get("/api/v1/main/namespaces/lanner.other/dependencies").json()
    assert [e["relation"] for e in namespace["edges"]] == ["FLOW_TRIGGER"]
    assert api.get(f"{BASE}/lanner.family/ghost/dependencies").status_code == 404


def test_a_task_of_a_flow_and_validating_flows_tasks_and_triggers(api):
    create(api, RICH)
    task = api.get(f"{BASE}/lanner.family/rich/tasks/left")
    assert task.status_code == 200 and task.json()["type"] == "io.kestra.plugin.core.debug.Return"
    assert api.get(f"{BASE}/lanner.family/rich/tasks/ghost").status_code == 404

    checked = api.post(f"{BASE}/validate", content=RICH.replace("id: rich", "id: other") + "---\n" + flow("bad").replace(
        "debug.Return", "debug.Retrun"), headers=YAML).json()
    assert [c["index"] for c in checked] == [0, 1]
    assert checked[0]["constraints"] is None and "Retrun" in checked[1]["constraints"]
    for item in checked:
        ValidateConstraintViolation.from_dict(item)
    outdated = api.post(f"{BASE}/validate", content=RICH.replace("namespace:", "revision: 1\nnamespace:"),
                        headers=YAML).json()
    assert outdated[0]["outdated"] is False  # the stored flow is at revision 1 too

    good = api.post(f"{BASE}/validate/task", json={"id": "t", "type": "io.kestra.plugin.core.log.Log",
                                                  "message": "hi"}).json()
    assert good["constraints"] is None
    bad = api.post(f"{BASE}/validate/task", json={"id": "t", "type": "io.kestra.plugin.core.log.Log"}).json()
    assert "message" in bad["constraints"]
    trigger = api.post(f"{BASE}/validate/trigger", json={"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule",
                                                        "cron": "not a cron"}).json()
    assert trigger["constraints"] and "cron" in trigger["constraints"]
    fine = api.post(f"{BASE}/validate/trigger", json={"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule",
                                                     "cron": "0 * * * *"}).json()
    assert fine["constraints"] is None
    assert api.post(f"{BASE}/validate/task", json=[1, 2]).status_code == 400


def test_reading_updating_and_refusals(api):
    create(api, flow("plain"))
    assert api.post(BASE, content=flow("plain"), headers=YAML).status_code == 409
    assert api.put(f"{BASE}/lanner.family/other", content=flow("plain"), headers=YAML).status_code == 400
    assert api.put(f"{BASE}/lanner.family/ghost", content=flow("ghost"), headers=YAML).status_code == 404
    assert api.post(BASE, content=flow("x"), headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.get(f"{BASE}/lanner.family/plain", params={"revision": 7}).status_code == 404
    assert api.get("/api/v1/other/flows/search").status_code == 404
    assert api.get(f"{BASE}/lanner.family/ghost", params={"allowDeleted": "true"}).status_code == 404
