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
