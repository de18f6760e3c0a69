"""Conditions restricting triggers (Kestra's ``conditions:``), by their current and older names."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from lanner.model.spec import Duration, Labels
from lanner.model.task import ConditionSpec
from lanner.tasks.core.triggers import TimeWindow

CORE = "io.kestra.plugin.core.condition"
LEGACY = "io.kestra.core.models.conditions.types"
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


# What a condition looks at (LOOKS_AT): an ended execution (Flow triggers), a date (the
# tick's, for schedules; the upstream execution's end, for Flow triggers), or, by default,
# anything its expression names.  A trigger ignores the conditions it cannot give what they
# look at, as Kestra's Schedule ignores execution conditions; the validator warns of them.


def _names(name: str) -> tuple[str, tuple[str, ...]]:
    """Kestra dropped the ``Condition`` suffix; both spellings and the pre-0.17 package resolve."""
    return f"{CORE}.{name}", (f"{CORE}.{name}Condition", f"{LEGACY}.{name}Condition")


class ExecutionStatus(ConditionSpec):
    TYPE, ALIASES = _names("ExecutionStatus")
    LOOKS_AT: ClassVar[str] = "execution"
    in_: list[str] = Field([], alias="in")
    not_in: list[str] = []


class ExecutionFlow(ConditionSpec):
    TYPE, ALIASES = _names("ExecutionFlow")
    LOOKS_AT: ClassVar[str] = "execution"
    namespace: str
    flow_id: str


class ExecutionNamespace(ConditionSpec):
    TYPE, ALIASES = _names("ExecutionNamespace")
    LOOKS_AT: ClassVar[str] = "execution"
    namespace: str
    comparison: Literal["EQUALS", "PREFIX", "SUFFIX"] | None = None
    prefix: bool = False


class ExecutionLabels(ConditionSpec):
    TYPE, ALIASES = _names("ExecutionLabels")
    LOOKS_AT: ClassVar[str] = "execution"
    labels: Labels


class ExecutionOutputs(ConditionSpec):
    TYPE, ALIASES = _names("ExecutionOutputs")
    LOOKS_AT: ClassVar[str] = "execution"
    expression: str


class DayWeek(ConditionSpec):
    TYPE, ALIASES = _names("DayWeek")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"
    day_of_week: DayOfWeek


class DayWeekInMonth(ConditionSpec):
    TYPE, ALIASES = _names("DayWeekInMonth")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"
    day_of_week: DayOfWeek
    day_in_month: Literal["FIRST", "LAST", "SECOND", "THIRD", "FOURTH"]


class TimeBetween(ConditionSpec):
    TYPE, ALIASES = _names("TimeBetween")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"
    after: str | None = None
    before: str | None = None


class DateTimeBetween(ConditionSpec):
    TYPE, ALIASES = _names("DateTimeBetween")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"
    after: str | None = None
    before: str | None = None


class Weekend(ConditionSpec):
    TYPE, ALIASES = _names("Weekend")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"


class Expression(ConditionSpec):
    TYPE, ALIASES = _names("Expression")
    expression: str


class Not(ConditionSpec):
    TYPE, ALIASES = _names("Not")
    conditions: list[ConditionSpec]


class Or(ConditionSpec):
    TYPE, ALIASES = _names("Or")
    conditions: list[ConditionSpec]


class HasRetryAttempt(ConditionSpec):
    TYPE, ALIASES = _names("HasRetryAttempt")
    LOOKS_AT: ClassVar[str] = "execution"
    in_: list[str] = Field([], alias="in")
    not_in: list[str] = []

    @model_validator(mode="after")
    def _not_yet(self) -> HasRetryAttempt:
        # Refused rather than accepted and never met: a trigger that silently never fires is worse.
        raise ValueError("HasRetryAttempt is not supported by Lanner yet; use an Expression condition, or remove it")


class MultipleCondition(ConditionSpec):
    """Kestra's older form of a Flow trigger's preconditions: every named condition met within a window."""

    TYPE = f"{CORE}.MultipleCondition"
    ALIASES = (f"{LEGACY}.MultipleCondition",)
    REPLACED_BY = "the Flow trigger's preconditions (flows, where, timeWindow)"
    LOOKS_AT: ClassVar[str] = "execution"
    id: str = Field(min_length=1)
    window: Duration | None = None
    window_advance: Duration | None = None
    time_window: TimeWindow | None = None
    conditions: dict[str, ConditionSpec] = Field(min_length=1)
    reset_on_success: bool = True

    @model_validator(mode="after")
    def _one_window(self) -> MultipleCondition:
        if self.time_window is not None and (self.window is not None or self.window_advance is not None):
            raise ValueError("give either timeWindow or window/windowAdvance, not both")
        return self


class PublicHoliday(ConditionSpec):
    """Met on the public holidays of ``country`` (and ``subDivision``), from the ``holidays`` package's calendars."""

    TYPE, ALIASES = _names("PublicHoliday")
    LOOKS_AT: ClassVar[str] = "date"
    date: str = "{{ trigger.date }}"
    country: str | None = None
    sub_division: str | None = None
    extra: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _known_calendar(self) -> PublicHoliday:
        import holidays

        if not self.country:
            raise ValueError("country is required: an ISO 3166 code such as FR or US (Lanner has no default locale)")
        supported = holidays.list_supported_countries()
        if self.country.upper() not in supported:
            raise ValueError(f"no public-holiday calendar for country {self.country!r}: use an ISO 3166 code "
                             "such as FR, DE or US")
        subdivision = self.subdivision
        if subdivision is not None and subdivision not in supported[self.country.upper()]:
            known = ", ".join(supported[self.country.upper()][:12])
            raise ValueError(f"country {self.country.upper()} has no subdivision {self.sub_division!r}"
                             + (f" (some it has: {known})" if known else " (it has none)"))
        return self

    @property
    def subdivision(self) -> str | None:
        """``subDivision`` as the calendars name it: Kestra writes ``DE-BY`` where they say ``BY``."""
        if not self.sub_division:
            return None
        code = self.sub_division.upper()
        prefix = f"{(self.country or '').upper()}-"
        return code[len(prefix):] if code.startswith(prefix) else code


TYPES = [ExecutionStatus, ExecutionFlow, ExecutionNamespace, ExecutionLabels, ExecutionOutputs, DayWeek,
         DayWeekInMonth, TimeBetween, DateTimeBetween, Weekend, Expression, Not, Or, HasRetryAttempt,
         MultipleCondition, PublicHoliday]
