"""Trigger conditions on dates: public holidays by country and subdivision; conditions Lanner refuses."""

import pytest

from lanner.flows.validator import validate_source
from lanner.scheduler.conditions import unmet


def schedule_with(condition_yaml: str):
    return validate_source(
        "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 9 * * *'\n"
        "    conditions:\n" + condition_yaml)


def conditions_of(condition_yaml: str):
    result = schedule_with(condition_yaml)
    assert result.valid, [p.format() for p in result.problems]
    return result.flow.triggers[0].conditions


@pytest.mark.parametrize(("condition", "date", "held"), [
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: FR\n",
     "2026-07-14T09:00:00+02:00", True),  # Bastille Day
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: FR\n",
     "2026-07-15T09:00:00+02:00", False),
    ("      - type: io.kestra.plugin.core.condition.Not\n        conditions:\n"
     "          - type: io.kestra.plugin.core.condition.PublicHoliday\n            country: FR\n",
     "2026-07-14T09:00:00+02:00", False),  # "not on holidays" skips the tick
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: DE\n        subDivision: DE-BY\n",
     "2026-01-06T09:00:00+01:00", True),  # Epiphany: Bavaria has it ...
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: DE\n        subDivision: HB\n",
     "2026-01-06T09:00:00+01:00", False),  # ... Bremen does not
    ("      - type: io.kestra.core.models.conditions.types.PublicHolidayCondition\n        country: us\n"
     "        date: '{{ trigger.date }}'\n", "2026-07-04", True),
])
def test_public_holidays(condition, date, held):
    why = unmet(conditions_of(condition), {"trigger": {"date": date}})
    assert (why is None) == held, why


@pytest.mark.parametrize(("condition", "message"), [
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n", "country is required"),
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: XX\n",
     "no public-holiday calendar for country 'XX'"),
    ("      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: DE\n        subDivision: ZZ\n",
     "country DE has no subdivision 'ZZ' (some it has: BB, BE"),
    ("      - type: io.kestra.plugin.core.condition.HasRetryAttempt\n        in: [FAILED]\n",
     "HasRetryAttempt is not supported by Lanner yet"),
])
def test_conditions_that_could_never_be_met_are_refused_when_the_flow_is_saved(condition, message):
    result = schedule_with(condition)
    assert any(message in p.message for p in result.errors), [p.format() for p in result.problems]


@pytest.mark.parametrize(("after", "before", "date", "held"), [
    ("09:00:00", "17:00:00", "2026-06-01T16:30:00+02:00", True),  # the schedule's wall clock
    ("09:00:00", "17:00:00", "2026-06-01T17:30:00+02:00", False),
    ("09:00:00+00:00", "17:00:00+00:00", "2026-06-01T18:30:00+02:00", True),  # 16:30 UTC: offsets count
    ("09:00:00Z", "17:00:00Z", "2026-06-01T10:30:00+02:00", False),  # 08:30 UTC
])
def test_time_between_compares_in_the_bounds_offset_when_they_have_one(after, before, date, held):
    condition = (f"      - type: io.kestra.plugin.core.condition.TimeBetween\n        after: '{after}'\n"
                 f"        before: '{before}'\n")
    assert (unmet(conditions_of(condition), {"trigger": {"date": date}}) is None) == held


def test_a_schedule_ignores_execution_conditions_and_the_validator_says_so():
    from lanner.scheduler.conditions import applicable

    result = schedule_with("      - type: io.kestra.plugin.core.condition.ExecutionStatus\n        in: [SUCCESS]\n"
                           "      - type: io.kestra.plugin.core.condition.Weekend\n")
    assert result.valid
    [warning] = [p for p in result.problems if p.severity == "warning"]
    assert warning.path == ("triggers", 0, "conditions", 0, "type")
    assert "looks at an ended execution, which a `io.kestra.plugin.core.trigger.Schedule` trigger does not have" \
        in warning.message
    trigger = result.flow.triggers[0]
    assert [type(c).__name__ for c in applicable(trigger)] == ["Weekend"]


def test_flow_triggers_see_dates_and_webhooks_see_neither():
    from lanner.scheduler.conditions import applicable

    result = validate_source(
        "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Weekend\n"
        "      - type: io.kestra.plugin.core.condition.ExecutionStatus\n        in: [SUCCESS]\n"
        "  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Weekend\n"
        "      - type: io.kestra.plugin.core.condition.Expression\n        expression: '{{ true }}'\n")
    assert result.valid
    flow_trigger, webhook = result.flow.triggers
    assert len(applicable(flow_trigger)) == 2
    assert [type(c).__name__ for c in applicable(webhook)] == ["Expression"]
    assert [p.path for p in result.problems if p.severity == "warning"] == [
        ("triggers", 1, "conditions", 0, "type")]
