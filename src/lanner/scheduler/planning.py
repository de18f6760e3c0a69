"""What a scheduled trigger fires now, and when it is due next: a pure function of its state and the time.

* A row to plan (new, changed or re-enabled trigger) fires nothing: its next tick is the
  first one after now (and after its last fired tick, so a changed definition never
  fires a tick twice).
* A due row fires its ticks up to now.  A tick older than ``missed_after`` was missed
  (no scheduler ran: an upgrade window); ``recoverMissedSchedules`` says what happens to
  those: ALL fires them in order, LAST only the latest, NONE none.  Ticks older than
  ``lateMaximumDelay`` are dropped whatever the policy.
* A running backfill fires the next ``BACKFILL_BATCH`` past ticks from where it stopped,
  until its end; paused, it waits.
* Conditions are checked per tick; a tick whose conditions do not hold is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from lanner.scheduler.conditions import applicable, unmet
from lanner.scheduler.cron import Cron
from lanner.store.trigger_repository import TriggerRow
from lanner.tasks.core.triggers import Schedule, ScheduleOnDates

BACKFILL_BATCH = 100  # past ticks of a backfill fired per scheduler pass
MAX_RECOVERED = 10_000  # missed ticks looked at after a downtime, at most


@dataclass(frozen=True)
class Fire:
    date: datetime  # the tick, UTC
    previous: datetime | None
    next: datetime | None
    backfill: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def variables(self, zone: str) -> dict[str, Any]:
        found: dict[str, Any] = {"date": _in_zone(self.date, zone), "next": _in_zone(self.next, zone),
                                 "previous": _in_zone(self.previous, zone)}
        if self.backfill:
            found["backfill"] = True
        return found


@lru_cache(maxsize=4096)
def _in_zone(moment: datetime | None, zone: str) -> str | None:
    """An instant as ISO-8601 in the schedule's zone (every schedule of a tick shares it: cached)."""
    return moment.astimezone(ZoneInfo(zone)).isoformat() if moment is not None else None


@dataclass
class Plan:
    fires: list[Fire] = field(default_factory=list)
    next_fire_date: datetime | None = None  # None: no tick left (ScheduleOnDates past its last date)
    last_fire_date: datetime | None = None
    backfill: dict[str, Any] | None = None
    skipped: list[tuple[datetime, str]] = field(default_factory=list)


class Ticker:
    """The ticks of a Schedule (cron) or a ScheduleOnDates (a list of dates)."""

    def __init__(self, spec: Schedule | ScheduleOnDates) -> None:
        self.zone = spec.timezone or "UTC"
        self.cron = Cron(spec.cron, spec.with_seconds, self.zone) if isinstance(spec, Schedule) else None
        self.dates: list[datetime] = []
        if isinstance(spec, ScheduleOnDates):
            raw = spec.dates if isinstance(spec.dates, list) else [spec.dates]
            self.dates = sorted({parse_moment(str(item), self.zone) for item in raw})

    def next_after(self, instant: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.next_after(instant)
        return next((moment for moment in self.dates if moment > instant), None)

    def previous_before(self, instant: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.previous_before(instant)
        return next((moment for moment in reversed(self.dates) if moment < instant), None)

    def ticks(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        found: list[datetime] = []
        current: datetime | None = after
        while len(found) < limit:
            current = self.next_after(current)  # type: ignore[arg-type]
            if current is None or current > until:
                break
            found.append(current)
        return found


def parse_moment(text: str, zone: str) -> datetime:
    """An ISO date-time; without an offset, in ``zone``."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def plan(row: TriggerRow, spec: Schedule | ScheduleOnDates, now: datetime, *, missed_after: timedelta,
         default_recover: str = "ALL", variables: dict[str, Any] | None = None) -> Plan:
    """The fires of a claimed row at ``now``; ``variables`` are what conditions see besides ``trigger``."""
    ticker = Ticker(spec)
    result = Plan(last_fire_date=row.last_fire_date, backfill=row.backfill)
    if row.needs_planning or row.next_fire_date is None:
        base = max(now, row.last_fire_date) if row.last_fire_date else now
        result.next_fire_date = ticker.next_after(base)
    elif row.next_fire_date <= now:
        _due(result, ticker, spec, row.next_fire_date, now, missed_after, default_recover)
        result.next_fire_date = ticker.next_after(now)
    else:
        result.next_fire_date = row.next_fire_date
    if row.backfill and not row.backfill.get("paused"):
        _backfill(result, ticker, row.backfill, now)
    _check_conditions(result, spec, ticker.zone, variables or {})
    if result.fires:
        regular = [fire.date for fire in result.fires if not fire.backfill]
        if regular:
            result.last_fire_date = max(regular + ([row.last_fire_date] if row.last_fire_date else []))
    return result


def _due(result: Plan, ticker: Ticker, spec: Schedule | ScheduleOnDates, first: datetime, now: datetime,
         missed_after: timedelta, default_recover: str) -> None:
    ticks = [first] + ticker.ticks(first, now, MAX_RECOVERED)
    late = spec.late_maximum_delay if isinstance(spec, Schedule) else None
    if late is not None:
        for tick in [t for t in ticks if now - t > late]:
            result.skipped.append((tick, f"later than lateMaximumDelay ({late})"))
        ticks = [t for t in ticks if now - t <= late]
    missed = [t for t in ticks if now - t > missed_after]
    on_time = [t for t in ticks if now - t <= missed_after]
    policy = spec.recover_missed_schedules or default_recover
    if policy == "NONE":
        kept = []
    elif policy == "LAST":
        kept = missed[-1:]
    else:
        kept = missed
    for tick in missed:
        if tick not in kept:
            result.skipped.append((tick, f"missed while no scheduler ran (recoverMissedSchedules {policy})"))
    for tick in kept + on_time:
        result.fires.append(Fire(tick, ticker.previous_before(tick), ticker.next_after(tick)))


def _backfill(result: Plan, ticker: Ticker, backfill: dict[str, Any], now: datetime) -> None:
    zone = ticker.zone
    start = parse_moment(backfill["start"], zone)
    end = min(parse_moment(backfill["end"], zone), now) if backfill.get("end") else now
    current = parse_moment(backfill["current"], zone) if backfill.get("current") else start - timedelta(microseconds=1)
    ticks = ticker.ticks(current, end, BACKFILL_BATCH)
    inputs, labels = backfill.get("inputs") or {}, backfill.get("labels") or {}
    for tick in ticks:
        result.fires.append(Fire(tick, ticker.previous_before(tick), ticker.next_after(tick), backfill=True,
                                 inputs=inputs, labels=labels))
    if len(ticks) < BACKFILL_BATCH:
        result.backfill = None  # done
    else:
        result.backfill = {**backfill, "current": ticks[-1].isoformat(),
                           "fired": int(backfill.get("fired") or 0) + len(ticks)}


def _check_conditions(result: Plan, spec: Any, zone: str, variables: dict[str, Any]) -> None:
    conditions = applicable(spec)
    if not conditions:
        return
    kept = []
    for fire in result.fires:
        why = unmet(conditions, {**variables, "trigger": fire.variables(zone)})
        if why is None:
            kept.append(fire)
        else:
            result.skipped.append((fire.date, why))
    result.fires = kept
