"""The triggers family as kestrapy 2.0.3 and Kestra 0.21 call it, against a live webserver on both backends.

Each route's success and refusal; kestrapy's models read every answer with no field lost.  No scheduler runs
in these servers (``Runtime`` starts none by default), so trigger rows change only through the API.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import requests

from lanner.server.runtime import Runtime
from lanner.store import trigger_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for
from tests.integration.test_api import create_flow

with warnings.catch_warnings():  # kestrapy's models shadow BaseModel attributes (a warning pytest makes an error)
    warnings.simplefilter("ignore", UserWarning)
    from kestrapy.api.triggers_api import TriggersApi
    from kestrapy.exceptions import ApiException
    from kestrapy.models.api_trigger_state import ApiTriggerState
    from kestrapy.models.bulk_response import BulkResponse
    from kestrapy.models.paged_results_api_trigger_and_state import PagedResultsApiTriggerAndState
    from kestrapy.models.paged_results_api_trigger_state import PagedResultsApiTriggerState

NIGHTLY = """id: nightly
namespace: fam.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
    timezone: Europe/Paris
    stopAfter: [FAILED]
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: fam-key
"""
HOURLY = """id: hourly
namespace: fam.team.sub
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: every-hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
T = "/api/v1/main/triggers"
SCHEDULE = {"namespace": "fam.team", "flowId": "nightly", "triggerId": "schedule"}
HOOK = {"namespace": "fam.team", "flowId": "nightly", "triggerId": "hook"}
EVERY_HOUR = {"namespace": "fam.team.sub", "flowId": "hourly", "triggerId": "every-hour"}
NOPE = {"namespace": "fam.team", "flowId": "nightly", "triggerId": "nope"}


@pytest.fixture
def served(database_url, tmp_path) -> Iterator[tuple[httpx.Client, TriggersApi, Any]]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=1, storage_path=tmp_path / "storage", web_port=0) as runtime:
            base = f"http://127.0.0.1:{runtime.web.wait_started()}"
            with httpx.Client(base_url=base, timeout=30) as client, requests.Session() as session:
                assert create_flow(client, NIGHTLY).status_code == 200
                assert create_flow(client, HOURLY).status_code == 200
                yield client, TriggersApi(session, base, timeout=30), engine
    finally:
        engine.dispose()


@pytest.fixture
def api(served) -> httpx.Client:
    return served[0]


@pytest.fixture
def kestrapy(served) -> TriggersApi:
    return served[1]


def kept(model: Any, answer: dict[str, Any]) -> Any:
    """``model.from_dict(answer)``, asserting that every non-null field of the answer survives."""
    parsed = model.from_dict(answer)
    dumped = parsed.to_dict()
    lost = [key for key, value in answer.items() if value is not None and key not in dumped]
    assert not lost, f"{model.__name__} lost {lost}"
    return parsed


def hold(engine: Any, key: dict[str, str], scheduler: str = "dead-scheduler") -> None:
    """Make a trigger look held by a scheduler (one that died holding it)."""
    with write_connection(engine) as connection, connection.begin():
        row = trigger_repository.get_trigger(connection, key["namespace"], key["flowId"], key["triggerId"])
        assert row is not None
        trigger_repository.save_progress(connection, [{"key": row.key, "scheduler_id": scheduler}])


def state(api: httpx.Client, key: dict[str, str]) -> dict[str, Any]:
    response = api.get(f"{T}/{key['namespace']}/{key['flowId']}/{key['triggerId']}")
    assert response.status_code == 200, response.text
    return response.json()


def test_search_answers_kestras_shape_read_by_kestrapy_with_filters_sort_and_pages(api, kestrapy):
    found = kestrapy.search_triggers("main", sort=["triggerId:desc"])
    page = kept(PagedResultsApiTriggerAndState, found)
    assert page.total == 3 and [r.state.trigger_id for r in page.results] == ["schedule", "hook", "every-hour"]
    first = found["results"][0]
    assert first["abstractTrigger"] == first["trigger"] and first["abstractTrigger"]["cron"] == "0 2 * * *"
    assert first["triggerContext"] == first["state"]
    context = kept(ApiTriggerState, first["triggerContext"])
    assert context.kind.value == "SCHEDULE" and context.stop_after[0].value == "FAILED"
    assert first["triggerContext"]["tenantId"] == "main" and first["triggerContext"]["timezone"] == "Europe/Paris"
    assert {r["state"]["kind"] for r in found["results"][1:]} == {"REALTIME", "SCHEDULE"}

    def ids(**params: Any) -> list[str]:
        answer = api.get(f"{T}/search", params=params)
        assert answer.status_code == 200, answer.text
        return [r["state"]["triggerId"] for r in answer.json()["results"]]

    assert ids(**{"filters[namespace][EQUALS]": "fam.team"}) == ["hook", "schedule"]
    assert ids(**{"filters[namespace][PREFIX]": "fam.team"}) == ["hook", "schedule", "every-hour"]
    assert ids(namespace="fam.team") == ["hook", "schedule", "every-hour"]  # 0.2x: the namespace and children
    assert ids(**{"filters[q][EQUALS]": "HOUR"}) == ["every-hour"]
    assert ids(q="hook") == ["hook"]
    assert ids(**{"filters[flowId][EQUALS]": "hourly"}) == ids(flowId="hourly") == ["every-hour"]
    assert ids(**{"filters[triggerId][IN]": "hook,schedule"}) == ["hook", "schedule"]
    assert ids(**{"filters[scope][EQUALS]": "USER"}) == ["hook", "schedule", "every-hour"]
    assert ids(**{"filters[scope][EQUALS]": "SYSTEM"}) == []
    assert ids(size=1, page=2) == ["schedule"]
    # A new trigger is waiting to be planned: no next date, so a date bound keeps none.
    assert ids(**{"filters[startDate][GREATER_THAN_OR_EQUAL_TO]": "2020-01-01T00:00:00Z"}) == []
    via_kestrapy = kestrapy.search_triggers("main", filters=[
        {"field": "triggerState", "operation": "EQUALS", "value": "ENABLED"},
        {"field": "flowId", "operation": "EQUALS", "value": "nightly"}])
    assert via_kestrapy["total"] == 2


def test_date_filters_bound_the_next_or_the_last_date(served):
    api, _, engine = served
    with write_connection(engine) as connection, connection.begin():
        row = trigger_repository.get_trigger(connection, "fam.team", "nightly", "schedule")
        assert row is not None
        trigger_repository.save_progress(connection, [{
            "key": row.key, "next_fire_date": datetime(2030, 1, 1, tzinfo=UTC),
            "last_fire_date": datetime(2020, 1, 1, tzinfo=UTC)}])

    def ids(**params: Any) -> list[str]:
        return [r["state"]["triggerId"] for r in api.get(f"{T}/search", params=params).json()["results"]]

    after = {"filters[startDate][GREATER_THAN_OR_EQUAL_TO]": "2029-12-31T00:00:00Z"}
    assert ids(**after) == ["schedule"]
    assert ids(**after, dateFilter="LAST_TRIGGERED_DATE") == []
    assert ids(**{"filters[endDate][LESS_THAN]": "2021-01-01T00:00:00Z"}, dateFilter="LAST_TRIGGERED_DATE") == [
        "schedule"]
    assert ids(sort="nextExecutionDate:desc")[0] == "schedule"


def test_search_refuses_what_it_cannot_read(api):
    for params in ({"filters[state][EQUALS]": "FAILED"}, {"filters[namespace][GREATER_THAN]": "a"},
                   {"sort": "nowhere:asc"}, {"dateFilter": "YESTERDAY"},
                   {"filters[startDate][GREATER_THAN]": "yesterday"}, {"size": "0"}):
        answer = api.get(f"{T}/search", params=params)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["message"]


def test_a_flows_triggers_and_the_csv_export(api, kestrapy):
    of_flow = kestrapy.search_triggers_for_flow("main", "fam.team", "nightly", sort=["triggerId:asc"])
    page = kept(PagedResultsApiTriggerState, of_flow)
    assert [r.trigger_id for r in page.results] == ["hook", "schedule"]
    assert kestrapy.search_triggers_for_flow("main", "fam.team", "nightly", q="sched")["total"] == 1
    assert api.get(f"{T}/fam.team/nowhere").json() == {"results": [], "total": 0}
    assert api.get(f"{T}/fam.team/nightly", params={"sort": "bad"}).status_code == 400
    text = kestrapy.export_triggers("main", filters=[{"field": "namespace", "operation": "EQUALS",
                                                      "value": "fam.team"}])
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [(line["flowId"], line["triggerId"], line["disabled"]) for line in lines] == [
        ("nightly", "hook", "false"), ("nightly", "schedule", "false")]
    assert api.get(f"{T}/export/by-query/csv").headers["content-type"].startswith("text/csv")
    assert api.get(f"{T}/export/by-query/csv", params={"filters[nope][EQUALS]": "x"}).status_code == 400


def test_set_disabled_one_by_triggers_and_by_query(api, kestrapy):
    one = kestrapy.disable_trigger_by_id("main", {**SCHEDULE, "disabled": True})
    assert kept(ApiTriggerState, one).disabled is True and state(api, SCHEDULE)["disabled"] is True
    with pytest.raises(ApiException) as missing:
        kestrapy.disable_trigger_by_id("main", {**NOPE, "disabled": True})
    assert missing.value.status == 404
    assert api.put(f"{T}/set-disabled", json={**SCHEDULE}).status_code == 400  # disabled is required
    many = kestrapy.disabled_triggers_by_ids("main", {"triggers": [SCHEDULE, EVERY_HOUR], "disabled": False})
    assert kept(BulkResponse, many).count == 2
    assert not state(api, SCHEDULE)["disabled"] and not state(api, EVERY_HOUR)["disabled"]
    refused = api.post(f"{T}/set-disabled/by-triggers", json={"triggers": [SCHEDULE, NOPE], "disabled": True})
    assert refused.status_code == 404 and "nope" in refused.json()["message"]
    assert state(api, SCHEDULE)["disabled"] is False  # all or nothing
    assert api.post(f"{T}/set-disabled/by-triggers", json={"triggers": [], "disabled": True}).status_code == 400
    by_query = kestrapy.disabled_triggers_by_query("main", disabled=True, filters=[
        {"field": "namespace", "operation": "PREFIX", "value": "fam.team.sub"}])
    assert by_query == {"count": 1} and state(api, EVERY_HOUR)["disabled"] and not state(api, HOOK)["disabled"]
    assert api.post(f"{T}/set-disabled/by-query", params={"filters[level][EQUALS]": "x"}).status_code == 400


def test_unlock_restart_and_delete(served):
    api, kestrapy, engine = served
    hold(engine, HOOK)
    hold(engine, SCHEDULE)
    assert state(api, HOOK)["workerId"] == "dead-scheduler"
    unlocked = kestrapy.unlock_trigger("main", "fam.team", "nightly", "hook")
    kept(ApiTriggerState, unlocked)
    assert unlocked["workerId"] is None and unlocked["schedulerId"] is None
    # The bulk unlock counts the held triggers only.
    assert kestrapy.unlock_triggers_by_ids("main", [HOOK, SCHEDULE]) == {"count": 1}
    assert state(api, SCHEDULE)["workerId"] is None
    assert api.post(f"{T}/unlock/by-triggers", json=[NOPE]).status_code == 404
    hold(engine, EVERY_HOUR)
    assert kestrapy.unlock_triggers_by_query("main", filters=[
        {"field": "flowId", "operation": "EQUALS", "value": "hourly"}]) == {"count": 1}
    hold(engine, SCHEDULE)
    restarted = kept(ApiTriggerState, kestrapy.restart_trigger("main", "fam.team", "nightly", "schedule"))
    assert restarted.worker_id is None
    assert api.post(f"{T}/fam.team/nightly/nope/restart").status_code == 404
    # Delete forgets the state; the trigger stays in its flow.
    api.put(f"{T}/set-disabled", json={**SCHEDULE, "disabled": True})
    kestrapy.delete_trigger("main", "fam.team", "nightly", "schedule")
    assert state(api, SCHEDULE)["disabled"] is False
    assert api.delete(f"{T}/fam.team/nightly/nope").status_code == 404
    api.put(f"{T}/set-disabled", json={**SCHEDULE, "disabled": True})
    assert kestrapy.delete_triggers_by_ids("main", [SCHEDULE, HOOK]) == {"count": 2}
    assert state(api, SCHEDULE)["disabled"] is False
    assert api.request("DELETE", f"{T}/delete/by-triggers", json=[NOPE]).status_code == 404
    api.put(f"{T}/set-disabled", json={**EVERY_HOUR, "disabled": True})
    deleted = kestrapy.delete_triggers_by_query("main", {"filters": [
        {"field": "flowId", "operation": "EQUALS", "value": "hourly"}]})
    assert deleted == {"count": 1} and state(api, EVERY_HOUR)["disabled"] is False
    bad = api.request("DELETE", f"{T}/delete/by-query", json={"filters": [{"field": "state", "value": "x"}]})
    assert bad.status_code == 400 and "state" in bad.json()["message"]


def test_backfills_one_by_triggers_and_by_query(api, kestrapy):
    created = kestrapy.create_backfill("main", {**SCHEDULE, "backfill": {
        "start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z", "inputs": {},
        "labels": [{"key": "run", "value": "again"}]}})
    context = kept(ApiTriggerState, created)
    assert context.backfill.paused is False and context.backfill.labels[0].key == "run"
    assert created["backfill"]["fired"] == 0
    again = api.put(f"{T}/backfill/create", json={**SCHEDULE, "backfill": {"start": "2024-01-01T00:00:00Z"}})
    assert again.status_code == 409
    webhook = api.put(f"{T}/backfill/create", json={**HOOK, "backfill": {"start": "2024-01-01T00:00:00Z"}})
    assert webhook.status_code == 400
    assert api.put(f"{T}/backfill/create", json={**SCHEDULE}).status_code == 400
    assert kestrapy.pause_backfill("main", SCHEDULE)["backfill"]["paused"] is True
    assert kestrapy.unpause_backfill("main", SCHEDULE)["backfill"]["paused"] is False
    assert api.put(f"{T}/backfill/pause", json=HOOK).status_code == 409  # no backfill there
    assert api.put(f"{T}/backfill/pause", json=NOPE).status_code == 404
    # Bulk: the triggers without a backfill are skipped.
    assert kestrapy.pause_backfill_by_ids("main", [SCHEDULE, HOOK]) == {"count": 1}
    assert state(api, SCHEDULE)["backfill"]["paused"] is True
    assert kestrapy.unpause_backfill_by_query("main", filters=[
        {"field": "namespace", "operation": "PREFIX", "value": "fam"}]) == {"count": 1}
    assert kestrapy.pause_backfill_by_query("main") == {"count": 1}
    assert kestrapy.unpause_backfill_by_ids("main", [SCHEDULE]) == {"count": 1}
    assert api.post(f"{T}/backfill/pause/by-triggers", json=[NOPE]).status_code == 404
    assert kestrapy.delete_backfill("main", SCHEDULE)["backfill"] is None
    assert api.post(f"{T}/backfill/delete", json=SCHEDULE).status_code == 409
    for how in ("by_ids", "by_query"):
        kestrapy.create_backfill("main", {**EVERY_HOUR, "backfill": {"start": "2024-03-01T00:00:00Z"}})
        answer = (kestrapy.delete_backfill_by_ids("main", [EVERY_HOUR, SCHEDULE]) if how == "by_ids" else
                  kestrapy.delete_backfill_by_query("main", filters=[
                      {"field": "triggerId", "operation": "EQUALS", "value": "every-hour"}]))
        assert answer == {"count": 1} and state(api, EVERY_HOUR)["backfill"] is None


def test_the_0_2x_paths_without_tenant_reach_the_same_routes(api):
    assert api.get("/api/v1/triggers/search").json()["total"] == 3
    assert api.put("/api/v1/triggers/set-disabled", json={**HOOK, "disabled": True}).json()["disabled"] is True
    assert api.post("/api/v1/triggers/unlock/by-triggers", json=[HOOK]).json() == {"count": 0}
    assert api.get("/api/v1/other/triggers/search").status_code == 404
