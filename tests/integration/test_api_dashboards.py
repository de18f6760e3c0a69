"""Custom dashboards and blueprints over the real HTTP API, on SQLite and PostgreSQL.

One server per module and backend (``module_api``): each test uses its own dashboard ids and
namespaces, so that what it counts is what it made.
"""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.kestra_client import (  # noqa: F401 - fixtures (kestra, lanner_url)
    TENANT,
    kestra,
    lanner_url,
    strict,
)

# kestra_client imported kestrapy (quieting its import warning): its models import plainly from here on.
BlueprintControllerKind = importlib.import_module("kestrapy.models.blueprint_controller_kind").BlueprintControllerKind
BASE = "/api/v1/main/dashboards"
YAML = {"Content-Type": "application/x-yaml"}
CHART = "io.kestra.plugin.core.dashboard.chart."
DATA = "io.kestra.plugin.core.dashboard.data."


def kestrapy(module: str, body: Any, lanners: frozenset[str] = frozenset()) -> None:
    """kestrapy's model (``kestrapy.models.<module>``) reads ``body`` strictly (every field, nested ones
    too), but for ``lanners`` (Lanner's additions, left out of the check)."""
    found = importlib.import_module(f"kestrapy.models.{module}")  # kestra_client imported kestrapy once
    model = next(getattr(found, name) for name in dir(found) if name.lower() == module.replace("_", ""))
    strict(model, {k: v for k, v in body.items() if k not in lanners}, module)


@pytest.fixture
def api(module_api: httpx.Client) -> httpx.Client:
    return module_api


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def dashboard(dashboard_id: str, title: str = "Executions", namespace: str = "lanner.none",
              extra_charts: str = "") -> str:
    return f"""id: {dashboard_id}
title: {title}
description: Executions by state
timeWindow:
  default: P7D
  max: P30D
charts:
  - id: by_state
    type: {CHART}Bar
    chartOptions:
      displayName: By state
      column: state
    data:
      type: {DATA}Executions
      columns:
        state:
          field: STATE
        total:
          agg: COUNT
      where:
        - field: NAMESPACE
          type: EQUAL_TO
          value: {namespace}
      orderBy:
        - column: total
          order: DESC
  - id: over_time
    type: {CHART}TimeSeries
    chartOptions:
      column: date
    data:
      type: {DATA}Executions
      columns:
        date:
          field: START_DATE
        total:
          agg: COUNT
        duration:
          field: DURATION
          agg: SUM
      where:
        - field: NAMESPACE
          type: IN
          values: [{namespace}]
  - id: notes
    type: {CHART}Markdown
    content: "# Notes"
{extra_charts}"""


def create(api: httpx.Client, source: str) -> httpx.Response:
    return api.post(BASE, content=source, headers=YAML)


def run_flow(api: httpx.Client, namespace: str, times: int, fail: int = 0) -> None:
    """A flow in ``namespace`` that logs and returns ``hello`` (a ``length`` metric of 5), run ``times``
    times to SUCCESS and ``fail`` times to FAILED."""
    source = f"""id: counted
namespace: {namespace}
inputs:
  - id: fail
    type: BOOLEAN
    defaults: false
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: give
    type: io.kestra.plugin.core.debug.Return
    format: hello
  - id: maybe
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ inputs.fail }}}}"
    then:
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
"""
    assert api.post("/api/v1/main/flows", content=source, headers=YAML).status_code == 200
    for index in range(times + fail):
        ended = api.post(f"/api/v1/main/executions/{namespace}/counted", params={"wait": "true"},
                         files={"fail": (None, "true" if index >= times else "false")})
        assert ended.status_code == 200, ended.text
        assert ended.json()["state"]["current"] in ("SUCCESS", "FAILED")


# Dashboards: create, read, search, update, delete.


def test_a_dashboard_is_created_read_searched_updated_and_deleted(api):
    dashboard_id = unique("crud")
    created = create(api, dashboard(dashboard_id, title=f"Title {dashboard_id}"))
    assert created.status_code == 200, created.text
    body = created.json()
    kestrapy("dashboard_controller_dashboard_response", body)
    assert body["id"] == dashboard_id and body["tenantId"] == "main" and body["deleted"] is False
    assert body["timeWindow"] == {"default": "P7D", "max": "P30D"}
    assert [c["id"] for c in body["charts"]] == ["by_state", "over_time", "notes"]
    assert body["sourceCode"].startswith(f"id: {dashboard_id}")

    read = api.get(f"{BASE}/{dashboard_id}").json()
    assert read == body
    assert api.get(f"/api/v1/dashboards/{dashboard_id}").json()["id"] == dashboard_id  # the 0.2x path

    found = api.get(BASE, params={"q": dashboard_id.upper(), "sort": "title:desc", "page": 1, "size": 5}).json()
    kestrapy("paged_results_dashboard_controller_dashboard_response", found)
    assert found["total"] == 1 and found["results"][0]["id"] == dashboard_id

    updated = api.put(f"{BASE}/{dashboard_id}", content=dashboard(dashboard_id, title="Renamed"), headers=YAML)
    assert updated.status_code == 200 and updated.json()["title"] == "Renamed"
    assert updated.json()["created"] == body["created"]

    assert api.delete(f"{BASE}/{dashboard_id}").status_code == 204
    assert api.get(f"{BASE}/{dashboard_id}").status_code == 404
    assert api.delete(f"{BASE}/{dashboard_id}").status_code == 404
    assert api.get(BASE, params={"q": dashboard_id}).json()["total"] == 0
    assert create(api, dashboard(dashboard_id)).status_code == 200  # a deleted id can be used again


def test_a_dashboard_without_an_id_gets_one(api):
    created = create(api, "title: No id\ncharts: []\n")
    assert created.status_code == 200
    assert api.get(f"{BASE}/{created.json()['id']}").json()["title"] == "No id"


def test_duplicates_unknown_dashboards_and_changed_ids_are_refused(api):
    dashboard_id = unique("dup")
    assert create(api, dashboard(dashboard_id)).status_code == 200
    assert create(api, dashboard(dashboard_id)).status_code == 409
    other = unique("other")
    assert api.put(f"{BASE}/{other}", content=dashboard(other), headers=YAML).status_code == 404
    changed = api.put(f"{BASE}/{dashboard_id}", content=dashboard(other), headers=YAML)
    assert changed.status_code == 422 and "cannot change" in changed.json()["message"]
    assert api.post(BASE, content=dashboard(other), headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.get(BASE, params={"sort": "colour:asc"}).status_code == 400


@pytest.mark.parametrize(("change", "reason"), [
    ((f"{CHART}Bar", f"{CHART}KPI"), "not a chart type Lanner draws"),
    ((f"{DATA}Executions", f"{DATA}Flows"), "not a data source"),
    (("field: STATE", "field: LABELS"), "LABELS is not supported"),
    (("field: STATE", "field: COLOUR"), "'COLOUR' is not a field of Executions"),
    (("agg: COUNT\n      where", "agg: MEDIAN\n      where"), "'MEDIAN' is not an aggregation"),
    (("field: DURATION\n          agg: SUM", "field: STATE\n          agg: SUM"), "SUM needs a numeric field"),
    (("type: EQUAL_TO", "type: REGEX"), "REGEX is not supported"),
    (("column: total\n", "column: nobody\n"), "names a column alias"),
    (("P30D", "soon"), "not a duration"),
    (("column: date", "column: total"), "a TimeSeries' axis is a date column"),
    (("title: Executions", "title: " + "x" * 256), "at most 255 characters"),
])
def test_what_lanner_cannot_compute_is_refused_with_the_reason(api, change, reason):
    source = dashboard(unique("bad"))
    assert change[0] in source
    refused = create(api, source.replace(change[0], change[1], 1))
    assert refused.status_code == 422, refused.text
    assert reason in refused.json()["message"]
    checked = api.post(f"{BASE}/validate", content=source.replace(change[0], change[1], 1), headers=YAML)
    assert checked.status_code == 200 and reason in checked.json()["constraints"]


def test_validate_a_dashboard_and_a_chart(api):
    valid = api.post(f"{BASE}/validate", content=dashboard(unique("ok")), headers=YAML).json()
    kestrapy("validate_constraint_violation", valid, frozenset({"problems"}))
    assert valid["constraints"] is None
    chart = f"id: c\ntype: {CHART}Pie\ndata:\n  type: {DATA}Logs\n  columns:\n    level: {{field: LEVEL}}\n" \
            "    total: {agg: COUNT}\n"
    assert api.post(f"{BASE}/validate/chart", content=chart, headers=YAML).json()["constraints"] is None
    bad = api.post(f"{BASE}/validate/chart", content=chart.replace("LEVEL", "VALUE"), headers=YAML).json()
    kestrapy("validate_constraint_violation", bad, frozenset({"problems"}))
    assert any("'VALUE' is not a field of Logs" in p["message"] for p in bad["problems"])
    assert "'VALUE' is not a field of Logs" in bad["constraints"]
    broken = api.post(f"{BASE}/validate/chart", content="id: [", headers=YAML).json()
    assert "not valid YAML" in broken["constraints"]


# Charts' data, checked against executions made here.


def test_chart_data_counts_the_executions_by_state_and_over_time(api):
    namespace = f"lanner.dash.{uuid.uuid4().hex[:8]}"
    run_flow(api, namespace, times=3, fail=1)
    dashboard_id = unique("data")
    assert create(api, dashboard(dashboard_id, namespace=namespace)).status_code == 200

    by_state = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={})
    assert by_state.status_code == 200, by_state.text
    assert by_state.json() == {"results": [{"state": "SUCCESS", "total": 3}, {"state": "FAILED", "total": 1}],
                               "total": 2}
    first_page = api.post(f"{BASE}/{dashboard_id}/charts/by_state", params={"size": 1, "page": 2}, json={}).json()
    assert first_page == {"results": [{"state": "FAILED", "total": 1}], "total": 2}
    in_body = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"pageSize": 1, "pageNumber": 1}).json()
    assert in_body["results"] == [{"state": "SUCCESS", "total": 3}]

    over_time = api.post(f"{BASE}/{dashboard_id}/charts/over_time", json={}).json()
    assert sum(row["total"] for row in over_time["results"]) == 4
    assert all(row["date"].endswith("T00:00:00Z") for row in over_time["results"])  # 7 days: one bin a day
    assert all(row["duration"] >= 0 for row in over_time["results"])

    now = datetime.now(UTC)
    hours = api.post(f"{BASE}/{dashboard_id}/charts/over_time", json={
        "startDate": (now - timedelta(hours=5)).isoformat(), "endDate": (now + timedelta(minutes=1)).isoformat()})
    assert [row["date"][-7:] for row in hours.json()["results"]] == [":00:00Z"] * len(hours.json()["results"])
    assert sum(row["total"] for row in hours.json()["results"]) == 4
    future = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={
        "startDate": (now + timedelta(days=1)).isoformat(), "endDate": (now + timedelta(days=2)).isoformat()})
    assert future.json() == {"results": [], "total": 0}

    as_filters = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"filters": [  # Kestra 1.x's form
        {"field": "startDate", "operation": "GREATER_THAN_OR_EQUAL_TO", "value": (now + timedelta(days=1)).isoformat()},
        {"field": "endDate", "operation": "LESS_THAN_OR_EQUAL_TO", "value": (now + timedelta(days=2)).isoformat()}]})
    assert as_filters.json() == {"results": [], "total": 0}
    last_hour = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"filters": [
        {"field": "timeRange", "operation": "EQUALS", "value": "PT1H"}]})
    assert last_hour.json()["total"] == 2
    bad_range = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"filters": [
        {"field": "timeRange", "operation": "EQUALS", "value": "soon"}]})
    assert bad_range.status_code == 400 and "timeRange" in bad_range.json()["message"]

    filtered = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={
        "filters": [{"field": "state", "operation": "EQUALS", "value": "FAILED"}]}).json()
    assert filtered["results"] == [{"state": "FAILED", "total": 1}]
    elsewhere = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"namespace": "lanner.elsewhere"}).json()
    assert elsewhere["total"] == 0
    parent = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"namespace": namespace.rsplit(".", 1)[0]})
    assert parent.json()["total"] == 2  # a namespace filter takes its children


def test_chart_data_of_logs_and_metrics_and_previews(api):
    namespace = f"lanner.dash.{uuid.uuid4().hex[:8]}"
    run_flow(api, namespace, times=2)
    logs_chart = f"""id: lines
type: {CHART}Table
data:
  type: {DATA}Logs
  columns:
    task: {{field: TASK_ID}}
    lines: {{agg: COUNT}}
  where:
    - {{field: NAMESPACE, type: EQUAL_TO, value: {namespace}}}
    - {{field: MESSAGE, type: CONTAINS, value: hello}}
    - {{field: TASK_ID, type: EQUAL_TO, value: say}}
"""
    preview = api.post(f"{BASE}/charts/preview", json={"chart": logs_chart})
    assert preview.status_code == 200, preview.text
    assert preview.json() == {"results": [{"task": "say", "lines": 2}], "total": 1}

    metrics_chart = f"""id: sizes
type: {CHART}Table
data:
  type: {DATA}Metrics
  columns:
    name: {{field: NAME}}
    total: {{field: VALUE, agg: SUM}}
    biggest: {{field: VALUE, agg: MAX}}
    runs: {{agg: COUNT}}
  where:
    - {{field: NAMESPACE, type: EQUAL_TO, value: {namespace}}}
    - {{type: OR, values: [{{field: NAME, type: EQUAL_TO, value: length}}, {{field: NAME, type: IS_NULL}}]}}
"""
    metrics = api.post(f"{BASE}/charts/preview", json={"chart": metrics_chart, "globalFilter": {}}).json()
    assert metrics == {"results": [{"name": "length", "total": 10.0, "biggest": 5.0, "runs": 2}], "total": 1}

    for source, date in (("Metrics", "DATE"), ("Logs", "DATE")):
        series = f"""id: series
type: {CHART}TimeSeries
chartOptions: {{column: when}}
data:
  type: {DATA}{source}
  columns:
    when: {{field: {date}}}
    total: {{agg: COUNT}}
  where:
    - {{field: NAMESPACE, type: EQUAL_TO, value: {namespace}}}
"""
        drawn = api.post(f"{BASE}/charts/preview", json={"chart": series}).json()["results"]
        assert drawn and all(row["when"].endswith("T00:00:00Z") for row in drawn), source  # 8 days: by day
        assert sum(row["total"] for row in drawn) >= 2, source

    rows = f"""id: rows
type: {CHART}Table
data:
  type: {DATA}Executions
  columns:
    id: {{field: ID}}
    started: {{field: START_DATE}}
    revision: {{field: FLOW_REVISION}}
  where:
    - {{field: NAMESPACE, type: STARTS_WITH, value: {namespace}}}
    - {{field: FLOW_REVISION, type: GREATER_THAN_OR_EQUAL_TO, value: 1}}
"""
    plain = api.post(f"{BASE}/charts/preview", json={"chart": rows}).json()
    assert plain["total"] == 2 and {r["revision"] for r in plain["results"]} == {1}
    assert all(r["started"].endswith("Z") for r in plain["results"])

    long_alias = "a \"quoted\" alias, " + "long " * 30
    aliased = api.post(f"{BASE}/charts/preview", json={"chart": rows.replace("revision:", f"'{long_alias}':", 1)})
    assert aliased.status_code == 200 and {r[long_alias] for r in aliased.json()["results"]} == {1}

    refused = api.post(f"{BASE}/charts/preview", json={"chart": rows.replace("FLOW_REVISION", "COLOUR", 1)})
    assert refused.status_code == 422 and "COLOUR" in refused.json()["message"]
    labelled = api.post(f"{BASE}/charts/preview", json={"chart": rows, "globalFilter": {"labels": {"a": "b"}}})
    assert labelled.status_code == 400
    wrong_field = api.post(f"{BASE}/charts/preview", json={"chart": rows, "globalFilter": {
        "filters": [{"field": "level", "operation": "EQUALS", "value": "INFO"}]}})
    assert wrong_field.status_code == 400 and "does not apply to Executions" in wrong_field.json()["message"]


def test_chart_data_refusals(api):
    dashboard_id = unique("refusals")
    assert create(api, dashboard(dashboard_id)).status_code == 200
    assert api.post(f"{BASE}/{dashboard_id}/charts/nope", json={}).status_code == 404
    assert api.post(f"{BASE}/{unique('missing')}/charts/by_state", json={}).status_code == 404
    markdown = api.post(f"{BASE}/{dashboard_id}/charts/notes", json={})
    assert markdown.status_code == 400 and "no data" in markdown.json()["message"]
    now = datetime.now(UTC)
    too_long = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={
        "startDate": (now - timedelta(days=60)).isoformat(), "endDate": now.isoformat()})
    assert too_long.status_code == 400 and "timeWindow.max" in too_long.json()["message"]
    backwards = api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={
        "startDate": now.isoformat(), "endDate": (now - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 400
    assert api.post(f"{BASE}/{dashboard_id}/charts/by_state", json={"pageSize": 0}).status_code == 400


# Blueprints.

COMMUNITY = "/api/v1/main/blueprints/community"


def test_blueprints_are_searched_by_text_and_tags(api):
    everything = api.get(COMMUNITY).json()
    kestrapy("paged_results_blueprint_controller_api_blueprint_item", everything)
    assert everything["total"] >= 8 and len(everything["results"]) == 10  # Kestra's default page size
    for item in everything["results"]:
        kestrapy("blueprint_controller_api_blueprint_item", item)
    found = api.get(COMMUNITY, params={"q": "subflow"}).json()
    assert [b["id"] for b in found["results"]] == ["subflow"]
    tagged = api.get(COMMUNITY, params={"tags": "error-handling", "sort": "id:asc", "size": 50}).json()
    assert [b["id"] for b in tagged["results"]] == ["error-handling", "shell-retries"]
    assert api.get("/api/v1/blueprints/community", params={"q": "python"}).json()["total"] == 1  # 0.2x path
    assert api.get(f"{COMMUNITY}/FLOW", params={"q": "python"}).json()["total"] == 1  # 1.x path, with a kind
    assert api.get(f"{COMMUNITY}/DASHBOARD").json() == {"results": [], "total": 0}
    assert api.get(COMMUNITY, params={"sort": "colour"}).status_code == 400


def test_blueprint_tags_item_source_and_graph(api):
    tags = api.get(f"{COMMUNITY}/tags").json()
    for tag in tags:
        kestrapy("blueprint_controller_api_blueprint_tag_item", tag)
    assert {"id": "getting-started", "name": "Getting Started"}.items() <= next(
        t for t in tags if t["id"] == "getting-started").items()
    assert [t["id"] for t in api.get(f"{COMMUNITY}/flow/tags", params={"q": "kv"}).json()] == ["kv-store"]

    item = api.get(f"{COMMUNITY}/hello-world").json()
    kestrapy("blueprint_controller_api_blueprint_item_with_source", item)
    assert item["kind"] == "FLOW" and item["includedTasks"] == ["io.kestra.plugin.core.log.Log"]
    assert api.get(f"{COMMUNITY}/FLOW/hello-world").json() == item
    source = api.get(f"{COMMUNITY}/hello-world/flow")
    assert source.headers["content-type"].startswith("application/x-yaml") and source.text == item["source"]
    assert api.get(f"{COMMUNITY}/FLOW/hello-world/source").text == item["source"]
    graph = api.get(f"{COMMUNITY}/parallel/graph").json()
    assert {"root.in_parallel.extract_a", "root.merge"} <= {n["uid"] for n in graph["nodes"]}
    assert api.get(f"{COMMUNITY}/FLOW/parallel/graph").json() == graph
    # What a user gets from a blueprint runs here: the flow is accepted as is.
    assert api.post("/api/v1/main/flows/validate", content=item["source"], headers=YAML).json()[0][
        "constraints"] is None

    assert api.get(f"{COMMUNITY}/nope").status_code == 404
    assert api.get(f"{COMMUNITY}/nope/flow").status_code == 404
    assert api.get(f"{COMMUNITY}/hello-world/colour").status_code == 404
    assert api.get(f"{COMMUNITY}/APP/hello-world").status_code == 404
    assert api.get(f"{COMMUNITY}/FLOW/hello-world/colour").status_code == 404


def test_dates_are_binned_alike_on_both_backends(api):
    namespace = f"lanner.dash.{uuid.uuid4().hex[:8]}"
    run_flow(api, namespace, times=1)
    found = api.get("/api/v1/main/executions/search", params={"namespace": namespace}).json()["results"]
    started = datetime.fromisoformat(found[0]["state"]["startDate"].replace("Z", "+00:00")).astimezone(UTC)
    monday = (started - timedelta(days=started.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    wanted = {
        "MINUTE": started.replace(second=0, microsecond=0), "HOUR": started.replace(minute=0, second=0, microsecond=0),
        "DAY": started.replace(hour=0, minute=0, second=0, microsecond=0), "WEEK": monday,
        "MONTH": started.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
    }
    for interval, moment in wanted.items():
        chart = f"""id: binned
type: {CHART}Table
data:
  type: {DATA}Executions
  columns:
    bin: {{field: START_DATE, interval: {interval}}}
    total: {{agg: COUNT}}
  where:
    - {{field: NAMESPACE, type: EQUAL_TO, value: {namespace}}}
"""
        rows = api.post(f"{BASE}/charts/preview", json={"chart": chart}).json()["results"]
        assert rows == [{"bin": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "total": 1}], interval
    latest = f"""id: latest
type: {CHART}Table
data:
  type: {DATA}Executions
  columns:
    last: {{field: START_DATE, agg: MAX}}
    longest: {{field: DURATION, agg: MAX}}
  where:
    - {{field: NAMESPACE, type: EQUAL_TO, value: {namespace}}}
"""
    row = api.post(f"{BASE}/charts/preview", json={"chart": latest}).json()["results"][0]
    assert datetime.fromisoformat(row["last"].replace("Z", "+00:00")) == started
    assert 0 <= row["longest"] < 60


# kestrapy's own client, reading typed answers strictly (tests.integration.kestra_client).


def test_kestrapys_client_creates_validates_searches_and_deletes_dashboards(kestra):
    dashboard_id = unique("kestrapy")
    created = kestra.dashboards.create_dashboard(TENANT, dashboard(dashboard_id))
    kestrapy("dashboard_controller_dashboard_response", created)
    assert kestra.dashboards.dashboard(dashboard_id, TENANT)["title"] == "Executions"
    assert kestra.dashboards.update_dashboard(dashboard_id, TENANT, dashboard(dashboard_id, title="New"))[
        "title"] == "New"
    assert kestra.dashboards.search_dashboards(TENANT, q=dashboard_id, sort=["title:asc"])["total"] == 1
    assert kestra.dashboards.validate_dashboard(TENANT, dashboard(dashboard_id)).constraints is None
    invalid = kestra.dashboards.validate_chart(TENANT, f"id: c\ntype: {CHART}KPI\n")
    assert "not a chart type Lanner draws" in invalid.constraints
    kestra.dashboards.delete_dashboard(dashboard_id, TENANT)
    assert kestra.dashboards.search_dashboards(TENANT, q=dashboard_id)["total"] == 0


def test_kestrapys_client_reads_blueprints_with_a_kind(kestra):
    page = kestra.blueprints.search_blueprints(BlueprintControllerKind.FLOW, TENANT, size=20)
    assert page.total >= 8 and {b.id for b in page.results} >= {"hello-world", "subflow"}
    item = kestra.blueprints.blueprint("for-each", BlueprintControllerKind.FLOW, TENANT)
    assert item.kind == BlueprintControllerKind.FLOW and "io.kestra.plugin.core.flow.ForEach" in item.included_tasks
    assert kestra.blueprints.blueprint_source("for-each", BlueprintControllerKind.FLOW, TENANT) == item.source
    graph = kestra.blueprints.blueprint_graph("for-each", BlueprintControllerKind.FLOW, TENANT)
    assert "root.each_region" in {node["uid"] for node in graph["nodes"]}
