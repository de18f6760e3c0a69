"""Logs, metrics, statistics, namespaces, secrets' names, KV listings, the configuration and the usage
report through the HTTP API, on both backends; each answer read by kestrapy's models, losing no field."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.test_api import (
    api,  # noqa: F401 - the fixture: a real server on each backend
    create_flow,
)

with warnings.catch_warnings():  # kestrapy's models warn when imported (a field shadows BaseModel.validate)
    warnings.simplefilter("ignore")
    from kestrapy.models.cursor_or_offset_paged_results_log_entry import CursorOrOffsetPagedResultsLogEntry
    from kestrapy.models.daily_execution_statistics import DailyExecutionStatistics
    from kestrapy.models.kv_controller_api_delete_bulk_response import KVControllerApiDeleteBulkResponse
    from kestrapy.models.kv_controller_kv_detail import KVControllerKvDetail
    from kestrapy.models.kv_entry import KVEntry
    from kestrapy.models.log_entry import LogEntry
    from kestrapy.models.metric_aggregations import MetricAggregations
    from kestrapy.models.metric_entry import MetricEntry
    from kestrapy.models.misc_controller_api_usage import MiscControllerApiUsage
    from kestrapy.models.misc_controller_configuration import MiscControllerConfiguration
    from kestrapy.models.namespace import Namespace
    from kestrapy.models.paged_results_kv_entry import PagedResultsKVEntry
    from kestrapy.models.paged_results_metric_entry import PagedResultsMetricEntry
    from kestrapy.models.paged_results_namespace import PagedResultsNamespace

API = "/api/v1/main"
CHATTY = """id: chatty
namespace: lanner.stats
tasks:
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful now
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hello world
"""


def strict(model: Any, answer: dict[str, Any]) -> Any:
    """``answer`` read by a kestrapy model: no error, and every non-null field kept (declared or extra)."""
    parsed = model.from_dict(answer)
    kept = parsed.to_dict()
    lost = [key for key, value in answer.items() if value is not None and key not in kept]
    assert not lost, f"{model.__name__} lost {lost}"
    return parsed


def run_chatty(api: httpx.Client, times: int = 2) -> list[dict[str, Any]]:
    assert create_flow(api, CHATTY).status_code == 200
    runs = [api.post("/api/v1/executions/lanner.stats/chatty", params={"wait": "true"}).json() for _ in range(times)]
    assert [run["state"]["current"] for run in runs] == ["SUCCESS"] * times
    return runs


def refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert all(word in response.json()["message"] for word in words), response.json()


def test_logs_are_listed_searched_followed_downloaded_and_deleted(api, database_url):
    first, second = run_chatty(api)
    lines = api.get(f"{API}/logs/{first['id']}").json()
    assert [(line["taskId"], line["level"], line["message"]) for line in lines] == [
        ("warn", "WARN", "careful now"), ("hello", "DEBUG", "hello world")]
    parsed = [strict(LogEntry, line) for line in lines]
    assert parsed[0].execution_id == first["id"] and parsed[0].attempt_number is not None
    assert api.get(f"/api/v1/logs/{first['id']}").json() == lines  # the 0.2x path

    one = api.get(f"{API}/logs/search", params={"filters[executionId][EQUALS]": first["id"], "sort": "timestamp:asc"})
    assert one.status_code == 200, one.text
    assert one.json()["total"] == 2 and [e["message"] for e in one.json()["results"]] == ["careful now", "hello world"]
    assert strict(CursorOrOffsetPagedResultsLogEntry, one.json()).total == 2
    warned = api.get(f"{API}/logs/search", params={"filters[level][EQUALS]": "WARN",
                                                  "filters[namespace][PREFIX]": "lanner"}).json()
    assert warned["total"] == 2 and {e["executionId"] for e in warned["results"]} == {first["id"], second["id"]}
    texted = api.get(f"{API}/logs/search", params={"filters[q][EQUALS]": "HELLO", "size": 1}).json()
    assert texted["total"] == 2 and len(texted["results"]) == 1
    legacy = api.get("/api/v1/logs/search", params={"namespace": "lanner.stats", "minLevel": "WARN"}).json()
    assert legacy["total"] == 2
    recent = api.get(f"{API}/logs/search", params={"filters[timeRange][EQUALS]": "PT1H"}).json()
    assert recent["total"] == 4
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get(f"{API}/logs/search", params={"filters[startDate][GREATER_THAN]": later}).json()["total"] == 0

    refused(api.get(f"{API}/logs/search", params={"filters[state][EQUALS]": "FAILED"}), 400, "state")
    refused(api.get(f"{API}/logs/search", params={"filters[startDate][GREATER_THAN]": "yesterday"}), 400, "startDate")
    refused(api.get(f"{API}/logs/search", params={"filters[level][EQUALS]": "LOUD"}), 400, "LOUD")
    refused(api.get(f"{API}/logs/search", params={"sort": "message:asc"}), 400, "sort")
    refused(api.get(f"{API}/logs/{first['id']}", params={"minLevel": "LOUD"}), 400, "minLevel")
    python_only = api.get(f"{API}/logs/search", params={"filters[namespace][REGEX]": "(?P<part>lanner)"})
    if database_url.startswith("postgresql"):  # a Python expression PostgreSQL's dialect does not read
        refused(python_only, 400, "database")
    else:
        assert python_only.json()["total"] == 4
    refused(api.get(f"{API}/logs/unknown-execution"), 404)

    with api.stream("GET", f"{API}/logs/{first['id']}/follow", params={"minLevel": "WARN"}) as stream:
        followed = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert [strict(LogEntry, entry).message for entry in followed] == ["careful now"]
    text = api.get(f"{API}/logs/{first['id']}/download", params={"minLevel": "WARN"}).text
    assert "careful now" in text and "hello world" not in text

    refused(api.delete(f"{API}/logs/{first['id']}", params={"minLevel": "LOUD"}), 400, "minLevel")
    assert len(api.get(f"{API}/logs/{first['id']}").json()) == 2  # the refused deletion deleted nothing
    assert api.delete(f"{API}/logs/{first['id']}", params={"minLevel": "WARN"}).status_code == 204
    assert [line["message"] for line in api.get(f"{API}/logs/{first['id']}").json()] == ["hello world"]
    assert api.delete(f"{API}/logs/{second['id']}", params={"taskId": "hello"}).status_code == 204
    assert [line["message"] for line in api.get(f"{API}/logs/{second['id']}").json()] == ["careful now"]
    assert api.delete(f"{API}/logs/lanner.stats/chatty", params={"triggerId": "none"}).status_code == 204
    assert api.get(f"{API}/logs/search", params={"filters[flowId][EQUALS]": "chatty"}).json()["total"] == 2
    assert api.delete(f"{API}/logs/lanner.stats/chatty").status_code == 204
    assert api.get(f"{API}/logs/search", params={"filters[flowId][EQUALS]": "chatty"}).json()["total"] == 0


def test_metrics_of_an_execution_and_of_a_flow(api):
    first, _ = run_chatty(api)
    page = api.get(f"{API}/metrics/{first['id']}", params={"sort": "name:asc"})
    assert page.status_code == 200, page.text
    parsed = strict(PagedResultsMetricEntry, page.json())
    assert parsed.total == 2 and [(m.task_id, m.name, m.type) for m in parsed.results] == [
        ("hello", "duration", "timer"), ("hello", "length", "counter")]
    assert page.json()["results"][1]["value"] == len("hello world")
    for entry in page.json()["results"]:
        strict(MetricEntry, entry)
    assert api.get(f"{API}/metrics/{first['id']}", params={"taskId": "warn"}).json()["total"] == 0
    assert api.get(f"{API}/metrics/{first['id']}", params={"size": 1}).json()["total"] == 2
    assert api.get(f"{API}/metrics/names/lanner.stats/chatty").json() == ["duration", "length"]
    assert api.get(f"{API}/metrics/names/lanner.stats/chatty/hello").json() == ["duration", "length"]
    assert api.get(f"{API}/metrics/names/lanner.stats/chatty/warn").json() == []
    assert api.get(f"{API}/metrics/tasks/lanner.stats/chatty").json() == ["hello"]

    summed = api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/length", params={"aggregation": "sum"})
    assert summed.status_code == 200, summed.text
    aggregations = strict(MetricAggregations, summed.json())
    assert aggregations.group_by == "day" and len(aggregations.aggregations) == 31
    assert sum(a.value or 0 for a in aggregations.aggregations) == 2 * len("hello world")
    hourly = api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/hello/length",
                     params={"aggregation": "MAX", "startDate": (datetime.now(UTC) - timedelta(hours=12)).isoformat()})
    assert hourly.json()["groupBy"] == "hour" and max(a["value"] or 0 for a in hourly.json()["aggregations"]) == 11

    refused(api.get(f"{API}/metrics/unknown-execution"), 404)
    refused(api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/length", params={"aggregation": "median"}),
            400, "median")
    refused(api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/length", params={"groupBy": "year"}), 400, "year")
    refused(api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/length",
                    params={"startDate": "2025-01-01T00:00:00"}), 400, "time zone")
    refused(api.get(f"{API}/metrics/aggregates/lanner.stats/chatty/length",
                    params={"startDate": "2025-01-01T00:00:00Z", "endDate": "2024-01-01T00:00:00Z"}), 400, "after")
    refused(api.get(f"{API}/metrics/{first['id']}", params={"sort": "colour:asc"}), 400, "sort")


def test_statistics_count_executions_task_runs_and_lines(api):
    _, second = run_chatty(api)
    daily = api.post(f"{API}/stats/executions/daily", json={"namespace": "lanner"})
    assert daily.status_code == 200, daily.text
    days = [strict(DailyExecutionStatistics, day) for day in daily.json()]
    assert len(days) == 31 and {day.group_by for day in days} == {"day"}
    assert sum(day.execution_counts.success for day in days) == 2
    assert sum(day.duration.count for day in days) == 2 and days[-1].duration.max.startswith("PT")
    assert api.post("/api/v1/stats/executions/daily", json={"namespace": "other"}).json()[-1]["executionCounts"][
        "SUCCESS"] == 0
    hours = api.post(f"{API}/stats/executions/daily", json={
        "startDate": (datetime.now(UTC) - timedelta(hours=3)).isoformat(), "state": ["SUCCESS"]}).json()
    assert hours[0]["groupBy"] == "minute" and sum(h["executionCounts"]["SUCCESS"] for h in hours) == 2
    assert sum(d["executionCounts"]["SUCCESS"] for d in api.post(
        f"{API}/stats/executions/daily", json={"scope": ["SYSTEM"]}).json()) == 0
    assert sum(d["executionCounts"]["SUCCESS"] for d in api.post(
        f"{API}/stats/executions/daily", json={"scope": ["USER"]}).json()) == 2

    runs = api.post(f"{API}/stats/taskruns/daily", json={"flowId": "chatty"}).json()
    assert sum(strict(DailyExecutionStatistics, d).execution_counts.success for d in runs) == 4

    by_flow = api.post(f"{API}/stats/executions/daily/group-by-flow", json={"namespace": "lanner.stats"}).json()
    assert list(by_flow) == ["lanner.stats"] and list(by_flow["lanner.stats"]) == ["chatty"]
    assert sum(d["executionCounts"]["SUCCESS"] for d in by_flow["lanner.stats"]["chatty"]) == 2
    by_ns = api.post(f"{API}/stats/executions/daily/group-by-flow", json={"namespaceOnly": True}).json()
    assert list(by_ns["lanner.stats"]) == ["*"]
    counted = api.post(f"{API}/stats/executions/daily/group-by-namespace", json={}).json()
    assert counted["lanner.stats"]["total"] == 2 and counted["lanner.stats"]["counts"]["SUCCESS"] == 2

    latest = api.post(f"{API}/stats/executions/latest/group-by-flow",
                      json={"flows": [{"namespace": "lanner.stats", "id": "chatty"},
                                      {"namespace": "lanner.stats", "id": "absent"}]}).json()
    assert [e["id"] for e in latest] == [second["id"]] and latest[0]["state"]["current"] == "SUCCESS"

    lines = api.post(f"{API}/stats/logs/daily", json={"namespace": "lanner.stats"}).json()
    assert sum(d["counts"]["WARN"] for d in lines) == 2 and sum(d["counts"]["DEBUG"] for d in lines) == 2
    warnings = api.post(f"{API}/stats/logs/daily", json={"logLevel": "WARN"}).json()
    assert sum(d["counts"]["DEBUG"] for d in warnings) == 0
    assert api.post(f"{API}/stats/summary", json={"namespace": "lanner"}).json() == {"flows": 1, "triggers": 0}

    refused(api.post(f"{API}/stats/executions/daily", json={"startDate": "2025-01-02T00:00:00Z",
                                                            "endDate": "2025-01-01T00:00:00Z"}), 400, "after")
    refused(api.post(f"{API}/stats/executions/daily", json={"startDate": "2025-01-02T00:00:00"}), 400, "time zone")
    refused(api.post(f"{API}/stats/executions/daily", json={"state": ["DONE"]}), 400, "DONE")
    refused(api.post(f"{API}/stats/executions/daily", json={"endDate": "0001-01-02T00:00:00Z"}), 400, "out of range")
    refused(api.post(f"{API}/stats/executions/daily", json={"scope": ["EVERYONE"]}), 400, "EVERYONE")
    refused(api.post(f"{API}/stats/logs/daily", json={"logLevel": "LOUD"}), 400, "LOUD")
    refused(api.post(f"{API}/stats/taskruns/daily", json={"startDate": "0001-01-01T00:00:00Z"}), 400, "shorter")
    assert api.post(f"{API}/stats/executions/daily", content="not json",
                    headers={"Content-Type": "application/json"}).status_code == 400


def test_namespaces_are_those_of_flows_and_keys_with_their_parents(api, monkeypatch):
    assert create_flow(api, CHATTY).status_code == 200
    assert api.put(f"{API}/namespaces/company.team.kv/kv/level", content="3").status_code == 204
    found = api.get(f"{API}/namespaces/search", params={"size": 100})
    assert found.status_code == 200, found.text
    page = strict(PagedResultsNamespace, found.json())
    assert [ns.id for ns in page.results] == ["company", "company.team", "company.team.kv", "lanner", "lanner.stats",
                                              "system"]
    existing = api.get(f"{API}/namespaces/search", params={"existing": "true", "q": "TEAM"}).json()
    assert [ns["id"] for ns in existing["results"]] == ["company.team.kv"] and existing["total"] == 1
    paged = api.get("/api/v1/namespaces/search", params={"size": 2, "page": 2, "sort": "id:desc"}).json()
    assert [ns["id"] for ns in paged["results"]] == ["lanner", "company.team.kv"] and paged["total"] == 6
    assert strict(Namespace, api.get(f"{API}/namespaces/lanner.stats").json()).id == "lanner.stats"
    completed = api.post(f"{API}/namespaces/autocomplete", json={"q": "team", "ids": ["lanner"]}).json()
    assert completed == ["company.team", "company.team.kv", "lanner"]
    assert api.get(f"{API}/namespaces/lanner.stats/inherited-variables").json() == {}

    monkeypatch.setenv("SECRET_API_TOKEN", "c2VjcmV0")
    monkeypatch.setenv("SECRET_DB_PASSWORD", "aHVudGVyMg==")
    inherited = api.get(f"{API}/namespaces/lanner.stats/inherited-secrets").json()
    assert {"API_TOKEN", "DB_PASSWORD"} <= set(inherited["lanner.stats"])
    listed = api.get(f"{API}/secrets", params={"filters[q][EQUALS]": "token"})
    assert listed.json() == {"readOnly": True, "results": [{"key": "API_TOKEN"}], "total": 1}
    assert "c2VjcmV0" not in listed.text and "c2VjcmV0" not in api.get(f"{API}/secrets").text

    refused(api.get(f"{API}/namespaces/Not A Namespace!"), 400, "not a namespace")
    refused(api.get(f"{API}/namespaces/search", params={"filters[flowId][EQUALS]": "x"}), 400, "flowId")
    refused(api.get(f"{API}/secrets", params={"filters[state][EQUALS]": "x"}), 400, "state")
    assert api.post(f"{API}/namespaces/autocomplete", json={"q": 3}).status_code == 400


def test_keys_are_listed_across_namespaces_inherited_and_deleted_together(api):
    for namespace, key, value in (("company", "region", '"eu"'), ("company.team", "level", "3"),
                                  ("company.team", "owner", '"ada"'), ("company.team.data", "level", "4")):
        assert api.put(f"{API}/namespaces/{namespace}/kv/{key}", content=value).status_code == 204
    listed = api.get(f"{API}/kv", params={"size": 10, "sort": "key:asc"})
    assert listed.status_code == 200, listed.text
    page = strict(PagedResultsKVEntry, listed.json())
    assert page.total == 4 and [(e.key, e.namespace) for e in page.results] == [
        ("level", "company.team"), ("level", "company.team.data"), ("owner", "company.team"), ("region", "company")]
    assert all(e.revision == 1 and e.update_date for e in page.results)
    narrowed = api.get(f"{API}/kv", params={"filters[namespace][EQUALS]": "company.team", "filters[q][EQUALS]": "OWN"})
    assert [e["key"] for e in narrowed.json()["results"]] == ["owner"]
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert api.get(f"{API}/kv", params={"filters[updated][GREATER_THAN]": since}).json()["total"] == 4
    detail = strict(KVControllerKvDetail, api.get(f"{API}/namespaces/company.team/kv/level").json())
    assert detail.value == 3 and detail.revision == 1 and detail.updated is not None
    for entry in api.get(f"{API}/namespaces/company.team/kv").json():
        strict(KVEntry, entry)

    inherited = api.get(f"{API}/namespaces/company.team.data/kv/inheritance").json()
    assert [(e["namespace"], e["key"]) for e in inherited] == [
        ("company.team", "level"), ("company.team", "owner"), ("company", "region")]

    refused(api.request("DELETE", f"{API}/namespaces/company.team/kv", json={"keys": ["owner", "bad key!"]}),
            400, "bad key!")
    assert api.get(f"{API}/namespaces/company.team/kv/owner").status_code == 200  # nothing deleted
    deleted = api.request("DELETE", f"{API}/namespaces/company.team/kv", json={"keys": ["owner", "level", "absent"]})
    assert deleted.status_code == 200, deleted.text
    assert strict(KVControllerApiDeleteBulkResponse, deleted.json()).keys == ["level", "owner"]
    assert api.get(f"{API}/namespaces/company.team/kv").json() == []
    refused(api.get(f"{API}/kv", params={"filters[flowId][EQUALS]": "x"}), 400, "flowId")
    refused(api.get(f"{API}/kv", params={"filters[updated][GREATER_THAN]": "soon"}), 400, "updated")
    refused(api.get(f"{API}/namespaces/Bad!/kv/inheritance"), 400)


def test_the_configuration_and_the_usage_report_read_as_kestra_clients_expect(api):
    configs = api.get("/api/v1/configs").json()
    parsed = strict(MiscControllerConfiguration, configs)
    assert parsed.version and parsed.system_namespace == "system" and parsed.is_basic_auth_initialized is False
    assert configs["isTaskRunEnabled"] is True and configs["schemaVersion"] and "resourceToFilters" in configs
    run_chatty(api, times=1)
    usage = api.get(f"{API}/usages/all")
    assert usage.status_code == 200, usage.text
    report = strict(MiscControllerApiUsage, usage.json())
    assert report.flows.count == 1 and report.flows.namespaces_count == 1
    assert sum(day.execution_counts.success for day in report.executions.daily_executions_count) == 1
    refused(api.get("/api/v1/other/usages/all"), 404, "other")
