"""Trigger types: Schedule, ScheduleOnDates, Flow and Webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

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

    dates: list[str] | str = Field(min_length=1)
    timezone: TimeZone | None = None
    inputs: dict[str, Any] = {}
    recover_missed_schedules: RecoverMissed | None = None


class UpstreamFlow(Spec):
    namespace: Namespace
    flow_id: FlowId
    states: list[str] = []
    labels: Labels = {}


class TimeWindow(Spec):
    type: Literal["DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"] = "DURATION_WINDOW"
    window: Duration | None = None
    window_advance: Duration | None = None
    start_time: str | None = None
    end_time: str | None = None
    deadline: str | None = None


class Preconditions(Spec):
    id: str | None = None
    flows: list[UpstreamFlow] = []
    where: list[dict[str, Any]] = []
    time_window: TimeWindow | None = None
    reset_on_success: bool = True


class FlowTrigger(TriggerSpec):
    TYPE = f"{CORE}.Flow"
    ALIASES = (f"{LEGACY}.Flow",)

    inputs: dict[str, Any] = {}
    preconditions: Preconditions | None = None
    states: list[str] | None = None


class Webhook(TriggerSpec):
    TYPE = f"{CORE}.Webhook"
    ALIASES = (f"{LEGACY}.Webhook",)

    key: str = Field(min_length=1)
    inputs: dict[str, Any] = {}
    wait: bool = False
    return_outputs: bool = False


TYPES = [Schedule, ScheduleOnDates, FlowTrigger, Webhook]
