"""Trigger types: Schedule, ScheduleOnDates, Flow and Webhook."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from lanner.model.spec import Duration, FlowId, Labels, Namespace, Spec
from lanner.model.task import TriggerSpec

CORE = "io.kestra.plugin.core.trigger"
LEGACY = "io.kestra.core.models.triggers.types"
RecoverMissed = Literal["ALL", "LAST", "NONE"]


def _known_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Paris or UTC") from None
    return value


TimeZone = Annotated[str, AfterValidator(_known_timezone)]


class Backfill(Spec):
    start: str
    end: str | None = None
    inputs: dict[str, Any] = {}
    labels: Labels = {}
    paused: bool = False


class Schedule(TriggerSpec):
    TYPE = f"{CORE}.Schedule"
    ALIASES = (f"{LEGACY}.Schedule",)
    CONDITIONS_SEE: ClassVar[frozenset[str]] = frozenset({"date"})  # what its conditions may look at

    cron: str
    with_seconds: bool = False
    timezone: TimeZone | None = None
    inputs: dict[str, Any] = {}
    backfill: Backfill | None = None
    recover_missed_schedules: RecoverMissed | None = None
    late_maximum_delay: Duration | None = None

    @field_validator("cron")
    @classmethod
    def _cron_is_valid(cls, value: str) -> str:
        nicknames = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
        if value.strip().lower() in nicknames:
            return value
        fields = value.split()
        if len(fields) not in (5, 6):
            raise ValueError(f"invalid cron expression {value!r}: expected 5 fields (6 with withSeconds: true)")
        return value


class ScheduleOnDates(TriggerSpec):
    TYPE = f"{CORE}.ScheduleOnDates"
    CONDITIONS_SEE: ClassVar[frozenset[str]] = frozenset({"date"})  # what its conditions may look at

    dates: list[str] | str = Field(min_length=1)
    timezone: TimeZone | None = None
    inputs: dict[str, Any] = {}
    recover_missed_schedules: RecoverMissed | None = None


class UpstreamFlow(Spec):
    """One precondition: an execution of this namespace (and flow, when given) ending in one of ``states``."""

    namespace: Namespace
    flow_id: FlowId | None = None
    states: list[str] = []
    labels: Labels = {}


FilterField = Literal["FLOW_ID", "NAMESPACE", "STATE", "EXPRESSION"]
FilterType = Literal["EQUAL_TO", "NOT_EQUAL_TO", "IN", "NOT_IN", "IS_TRUE", "IS_FALSE", "IS_NULL", "IS_NOT_NULL",
                     "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS"]
_NEEDS_VALUES = ("IN", "NOT_IN")
_NEEDS_NOTHING = ("IS_TRUE", "IS_FALSE", "IS_NULL", "IS_NOT_NULL")


class ExecutionFilter(Spec):
    """One filter of a ``where`` precondition: a field of the ended execution compared with ``value(s)``."""

    field: FilterField
    type: FilterType
    value: str | None = None
    values: list[str] | None = None

    @model_validator(mode="after")
    def _operands_fit(self) -> ExecutionFilter:
        if self.field == "EXPRESSION":
            if self.type not in _NEEDS_NOTHING:
                raise ValueError(f"an EXPRESSION filter tests what its value renders to: use one of "
                                 f"{', '.join(_NEEDS_NOTHING)}, not {self.type}")
            if not self.value:
                raise ValueError("an EXPRESSION filter needs the expression in value")
        elif self.type in _NEEDS_VALUES:
            if not self.values:
                raise ValueError(f"type {self.type} needs values (a list)")
        elif self.type not in _NEEDS_NOTHING and self.value is None:
            raise ValueError(f"type {self.type} needs a value")
        if self.type == "REGEX" and self.value is not None:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"value {self.value!r} is not a valid regular expression: {exc}") from None
        return self


class WherePrecondition(Spec):
    """A precondition met by any ended execution its filters accept (all of them, or any with ``operand: OR``)."""

    id: str = Field(min_length=1)
    operand: Literal["AND", "OR"] = "AND"
    filters: list[ExecutionFilter] = Field(min_length=1)


class TimeWindow(Spec):
    """When the preconditions must all be met: see docs/triggers.md (times of day in ``timezone``, UTC by default)."""

    type: Literal["DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"] = "DURATION_WINDOW"
    window: Duration | None = None
    window_advance: Duration | None = None
    start_time: str | None = None
    end_time: str | None = None
    deadline: str | None = None
    timezone: TimeZone | None = None

    @field_validator("start_time", "end_time", "deadline", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads 09:00 as a number of minutes; keep what was meant
            value = f"{value // 60:02d}:{value % 60:02d}"
        if isinstance(value, str):
            try:
                time.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"expected a time of day such as 09:30:00, not {value!r}") from None
        return value

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> TimeWindow:
        allowed = {"DURATION_WINDOW": {"window", "window_advance"}, "SLIDING_WINDOW": {"window"},
                   "DAILY_TIME_DEADLINE": {"deadline"}, "DAILY_TIME_WINDOW": {"start_time", "end_time"}}[self.type]
        given = {name for name in ("window", "window_advance", "start_time", "end_time", "deadline")
                 if getattr(self, name) is not None}
        problems = []
        wrong = sorted(given - allowed)
        if wrong:
            problems.append(f"a {self.type} time window takes no {', '.join(_camel(n) for n in wrong)}")
        missing = sorted({"deadline"} - given if self.type == "DAILY_TIME_DEADLINE" else
                         {"start_time", "end_time"} - given if self.type == "DAILY_TIME_WINDOW" else set())
        if missing:
            problems.append(f"a {self.type} time window needs {' and '.join(_camel(n) for n in missing)}")
        if self.window is not None and self.window.total_seconds() <= 0:
            problems.append("window must be a positive duration")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Preconditions(Spec):
    """What a Flow trigger waits for: every listed flow and ``where`` filter met within the time window."""

    id: str | None = None
    flows: list[UpstreamFlow] = []
    where: list[WherePrecondition] = []
    time_window: TimeWindow | None = None
    reset_on_success: bool = True

    @model_validator(mode="after")
    def _unique_where_ids(self) -> Preconditions:
        ids = [w.id for w in self.where]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"where: ids must be unique ({', '.join(doubled)} given twice)")
        return self


class FlowTrigger(TriggerSpec):
    TYPE = f"{CORE}.Flow"
    ALIASES = (f"{LEGACY}.Flow",)
    CONDITIONS_SEE: ClassVar[frozenset[str]] = frozenset({"execution", "date"})  # what its conditions may look at

    inputs: dict[str, Any] = {}
    preconditions: Preconditions | None = None
    states: list[str] | None = None


class Webhook(TriggerSpec):
    TYPE = f"{CORE}.Webhook"
    ALIASES = (f"{LEGACY}.Webhook",)
    CONDITIONS_SEE: ClassVar[frozenset[str]] = frozenset()  # what its conditions may look at

    key: str = Field(min_length=1)
    inputs: dict[str, Any] = {}
    wait: bool = False
    return_outputs: bool = False


TYPES = [Schedule, ScheduleOnDates, FlowTrigger, Webhook]
