"""Flow-trigger preconditions counted across upstream executions, window by window (pure functions)."""

from datetime import UTC, datetime, timedelta

import pytest

from lanner.flows.validator import validate_source
from lanner.scheduler import preconditions
from lanner.tasks.core.triggers import Preconditions

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def spec(**raw) -> Preconditions:
    return Preconditions.model_validate({"flows": [{"namespace": "up", "flowId": "a"},
                                                   {"namespace": "up", "flowId": "b"}], **raw})


def upstream(flow_id="a", state="SUCCESS", namespace="up", labels=None):
    return {"namespace": namespace, "flowId": flow_id, "state": state, "labels": labels or {}, "executionId": "x"}


def run(wanted, events):
    """Feed (flow id, moment) events; the moments at which the trigger fired."""
    progress, fired = None, []
    for flow_id, moment in events:
        met = preconditions.met_by(wanted, upstream(flow_id), {})
        counted = preconditions.of_preconditions(wanted)
        fire, progress = preconditions.record(counted, progress, met, moment, f"{flow_id}@{moment:%H:%M}")
        if fire:
            fired.append(moment)
    return fired


def test_every_flow_must_end_once_then_the_count_starts_again():
    wanted = spec()
    at = [T0 + timedelta(minutes=m) for m in range(5)]
    assert run(wanted, [("a", at[0]), ("a", at[1]), ("b", at[2]), ("b", at[3]), ("a", at[4])]) == [at[2], at[4]]


def test_without_reset_each_further_execution_fires_until_the_window_ends():
    wanted = spec(resetOnSuccess=False)
    events = [("a", T0), ("b", T0 + timedelta(hours=1)), ("a", T0 + timedelta(hours=2)),
              ("a", T0 + timedelta(days=1))]  # the next day's window starts empty
    assert run(wanted, events) == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]


def test_the_default_window_is_the_day_so_yesterdays_executions_do_not_count():
    late_evening, next_morning = datetime(2026, 3, 10, 23, 50, tzinfo=UTC), datetime(2026, 3, 11, 0, 10, tzinfo=UTC)
    assert run(spec(), [("a", late_evening), ("b", next_morning)]) == []
    assert run(spec(), [("a", late_evening), ("b", late_evening + timedelta(minutes=5))]) != []


def test_duration_windows_start_at_midnight_plus_the_advance():
    wanted = spec(timeWindow={"window": "PT6H", "windowAdvance": "PT3H"})  # 03-09, 09-15, 15-21, 21-03
    assert run(wanted, [("a", T0.replace(hour=8, minute=50)), ("b", T0.replace(hour=9, minute=5))]) == []
    assert run(wanted, [("a", T0.replace(hour=9, minute=5)), ("b", T0.replace(hour=14, minute=55))]) != []
    assert run(wanted, [("a", T0.replace(hour=1)), ("b", T0.replace(hour=2, minute=59))]) != []  # yesterday's 21-03


def test_a_sliding_window_opens_at_the_first_execution_that_counts():
    wanted = spec(timeWindow={"type": "SLIDING_WINDOW", "window": "PT1H"})
    assert run(wanted, [("a", T0), ("b", T0 + timedelta(minutes=59))]) == [T0 + timedelta(minutes=59)]
    # b comes too late: its window is a new one, where a has not ended yet.
    assert run(wanted, [("a", T0), ("b", T0 + timedelta(minutes=61)), ("a", T0 + timedelta(minutes=90))]) == [
        T0 + timedelta(minutes=90)]


def test_daily_windows_ignore_executions_outside_them():
    window = spec(timeWindow={"type": "DAILY_TIME_WINDOW", "startTime": "09:00:00", "endTime": "17:00:00"})
    assert run(window, [("a", T0.replace(hour=8)), ("b", T0.replace(hour=10))]) == []
    assert run(window, [("a", T0.replace(hour=9)), ("b", T0.replace(hour=16, minute=59))]) != []
    deadline = spec(timeWindow={"type": "DAILY_TIME_DEADLINE", "deadline": "12:00:00"})
    assert run(deadline, [("a", T0.replace(hour=1)), ("b", T0.replace(hour=11))]) != []
    assert run(deadline, [("a", T0.replace(hour=1)), ("b", T0.replace(hour=13))]) == []


def test_daily_times_are_read_in_the_windows_timezone():
    # 09:00-10:00 in Paris is 08:00-09:00 UTC in March (before the switch to summer time).
    wanted = spec(timeWindow={"type": "DAILY_TIME_WINDOW", "startTime": "09:00:00", "endTime": "10:00:00",
                              "timezone": "Europe/Paris"})
    assert run(wanted, [("a", T0.replace(hour=8, minute=10)), ("b", T0.replace(hour=8, minute=50))]) != []
    assert run(wanted, [("a", T0.replace(hour=9, minute=10)), ("b", T0.replace(hour=9, minute=20))]) == []


def test_one_precondition_fires_on_each_execution_inside_a_daily_window():
    one = Preconditions.model_validate({"flows": [{"namespace": "up"}],
                                        "timeWindow": {"type": "DAILY_TIME_DEADLINE", "deadline": "12:00:00"}})
    assert not preconditions.is_stateful(one) and preconditions.met_by(one, upstream("any"), {}) == ["flows[0]"]
    assert preconditions.in_daily_window(one.time_window, T0)
    assert not preconditions.in_daily_window(one.time_window, T0.replace(hour=12))


@pytest.mark.parametrize(("filters", "operand", "event", "met"), [
    ([{"field": "STATE", "type": "IN", "values": ["FAILED", "WARNING"]},
      {"field": "NAMESPACE", "type": "STARTS_WITH", "value": "company"}], "AND", upstream("x", "FAILED", "company.a"),
     True),
    ([{"field": "STATE", "type": "IN", "values": ["FAILED", "WARNING"]},
      {"field": "NAMESPACE", "type": "STARTS_WITH", "value": "company"}], "AND", upstream("x", "SUCCESS", "company.a"),
     False),
    ([{"field": "STATE", "type": "EQUAL_TO", "value": "FAILED"},
      {"field": "FLOW_ID", "type": "REGEX", "value": "nightly_.*"}], "OR", upstream("nightly_load"), True),
    ([{"field": "FLOW_ID", "type": "REGEX", "value": "nightly"}], "AND", upstream("nightly_load"), False),  # whole
    ([{"field": "NAMESPACE", "type": "NOT_IN", "values": ["up"]}], "AND", upstream(), False),
    ([{"field": "FLOW_ID", "type": "ENDS_WITH", "value": "_load"}], "AND", upstream("daily_load"), True),
    ([{"field": "FLOW_ID", "type": "CONTAINS", "value": "ly_lo"}], "AND", upstream("daily_load"), True),
    ([{"field": "STATE", "type": "NOT_EQUAL_TO", "value": "SUCCESS"}], "AND", upstream(), False),
    ([{"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ trigger.flowId == 'a' }}"}], "AND", upstream(), True),
    ([{"field": "EXPRESSION", "type": "IS_FALSE", "value": "{{ trigger.flowId == 'a' }}"}], "AND", upstream(), False),
    ([{"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ trigger.nope.deeper }}"}], "AND", upstream(), False),
])
def test_where_filters(filters, operand, event, met):
    wanted = Preconditions.model_validate({"where": [{"id": "w", "operand": operand, "filters": filters}]})
    assert preconditions.met_by(wanted, event, {"trigger": event}) == (["w"] if met else [])


def test_upstream_flows_match_on_namespace_flow_states_and_labels():
    wanted = Preconditions.model_validate({"flows": [
        {"namespace": "up", "flowId": "a", "states": ["SUCCESS", "WARNING"]},
        {"namespace": "up", "labels": {"team": "data"}}]})
    assert preconditions.met_by(wanted, upstream("a"), {}) == ["flows[0]"]
    assert preconditions.met_by(wanted, upstream("a", labels={"team": "data"}), {}) == ["flows[0]", "flows[1]"]
    assert preconditions.met_by(wanted, upstream("a", "FAILED", labels={"team": "data"}), {}) == ["flows[1]"]
    assert preconditions.met_by(wanted, upstream("a", namespace="elsewhere"), {}) == []


def trigger_yaml(preconditions_yaml: str) -> str:
    return ("id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
            "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    preconditions:\n"
            + preconditions_yaml)


@pytest.mark.parametrize(("yaml", "message"), [
    ("      timeWindow:\n        type: DAILY_TIME_WINDOW\n        startTime: '09:00:00'\n        window: PT1H\n",
     "a DAILY_TIME_WINDOW time window takes no window; a DAILY_TIME_WINDOW time window needs endTime"),
    ("      timeWindow:\n        type: DAILY_TIME_DEADLINE\n", "a DAILY_TIME_DEADLINE time window needs deadline"),
    ("      timeWindow:\n        type: SLIDING_WINDOW\n        windowAdvance: PT1H\n",
     "a SLIDING_WINDOW time window takes no windowAdvance"),
    ("      timeWindow:\n        deadline: '25:00'\n", "expected a time of day"),
    ("      timeWindow:\n        timezone: Mars/Olympus\n", "unknown time zone"),
    ("      where:\n        - id: w\n          filters:\n            - field: STATE\n              type: IN\n",
     "type IN needs values"),
    ("      where:\n        - id: w\n          filters:\n            - field: EXPRESSION\n"
     "              type: EQUAL_TO\n              value: '{{ 1 }}'\n", "an EXPRESSION filter tests what"),
    ("      where:\n        - id: w\n          filters:\n            - field: FLOW_ID\n              type: REGEX\n"
     "              value: '('\n", "not a valid regular expression"),
    ("      where:\n        - id: w\n          filters: [{field: STATE, type: IS_NULL}]\n"
     "        - id: w\n          filters: [{field: STATE, type: IS_NULL}]\n", "ids must be unique (w given twice)"),
])
def test_preconditions_are_checked_when_the_flow_is_saved(yaml, message):
    result = validate_source(trigger_yaml(yaml))
    assert any(message in p.message for p in result.errors), [p.format() for p in result.problems]


def test_kestras_older_multiple_condition_is_counted_the_same_way():
    from lanner.tasks.core.conditions import MultipleCondition

    source = ("id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
              "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
              "      - id: both\n        type: io.kestra.plugin.core.condition.MultipleCondition\n"
              "        window: PT12H\n        windowAdvance: PT6H\n        conditions:\n"
              "          flow_a: {type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: up, flowId: a}\n"
              "          flow_b: {type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: up, flowId: b}\n")
    result = validate_source(source)
    assert result.valid, [p.format() for p in result.problems]
    [multiple] = result.flow.triggers[0].conditions
    assert isinstance(multiple, MultipleCondition)
    counted = preconditions.of_multiple(multiple)
    assert counted.key == "multiple:both" and counted.ids == ("flow_a", "flow_b")
    fire, progress = preconditions.record(counted, None, ["flow_a"], T0.replace(hour=7), "e1")
    assert not fire and progress["start"] == T0.replace(hour=6).isoformat()  # windows 06-18, 18-06
    fire, progress = preconditions.record(counted, progress, ["flow_b"], T0.replace(hour=17, minute=59), "e2")
    assert fire and progress["met"] == {}
    fire, _ = preconditions.record(counted, progress, ["flow_b"], T0.replace(hour=18), "e3")
    assert not fire
