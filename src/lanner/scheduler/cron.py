"""Cron schedules in a time zone, with cron's rules across daylight-saving transitions.

Ticks are computed on the zone's wall clock (croniter), then placed on the time line:

* a wall time that does not exist (spring forward, 02:30 in Europe/Paris on the last
  Sunday of March) fires at the transition instant, as cron does, and several ticks
  landing on that instant fire once;
* a wall time that happens twice (fall back) fires once, at its first occurrence.

That is for schedules at fixed hours.  A schedule whose hour field is a wildcard
(``*``, ``*/2``: every hour, every 15 minutes...) follows real time instead, as Vixie
cron does: it fires at both occurrences of a repeated wall time, and nothing in a gap
(those wall times never happened).  Either way a schedule is never skipped and never
doubled by a transition, and ticks are strictly increasing instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import croniter

NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
             "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


class CronError(ValueError):
    pass


def problem(expression: str, with_seconds: bool = False) -> str | None:
    """Why ``expression`` is not a valid cron expression (None when it is)."""
    try:
        _parts(expression, with_seconds)
    except CronError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1024)
def _parts(expression: str, with_seconds: bool) -> str:
    text = NICKNAMES.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    expected = 6 if with_seconds else 5
    if len(fields) != expected:
        hint = " (6 with the seconds first when withSeconds: true)" if not with_seconds else ""
        raise CronError(
            f"invalid cron expression {expression!r}: expected {expected} fields{hint}, found {len(fields)}")
    if not croniter.is_valid(text, second_at_beginning=with_seconds):
        raise CronError(f"invalid cron expression {expression!r}")
    return text


@dataclass(frozen=True)
class Cron:
    expression: str
    with_seconds: bool = False
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _parts(self.expression, self.with_seconds)  # fail early, with the reason

    def next_after(self, instant: datetime) -> datetime:
        """The first tick strictly after ``instant`` (an aware datetime), in UTC."""
        return _next_after(self.expression, self.with_seconds, self.timezone, instant.astimezone(UTC))

    def previous_before(self, instant: datetime) -> datetime:
        """The last tick strictly before ``instant``, in UTC."""
        return _previous_before(self.expression, self.with_seconds, self.timezone, instant.astimezone(UTC))

    def ticks(self, after: datetime, until: datetime, limit: int = 100_000) -> list[datetime]:
        """Every tick in (after, until], oldest first (at most ``limit``)."""
        found: list[datetime] = []
        current = after
        while len(found) < limit:
            current = self.next_after(current)
            if current > until:
                break
            found.append(current)
        return found


@lru_cache(maxsize=4096)
def _next_after(expression: str, with_seconds: bool, zone: str, instant: datetime) -> datetime:
    tz = ZoneInfo(zone)
    local = instant.astimezone(tz).replace(tzinfo=None)
    # Near a transition, start two hours back on the wall clock: after a fall-back the wall
    # clock repeats, and the walls already passed come again (their second occurrences).
    # Elsewhere, start at the instant itself: a per-second cron would otherwise walk 7,200
    # walls for each tick.
    start = local - timedelta(hours=2) if _near_transition(instant, tz) else local
    it = croniter(_parts(expression, with_seconds), start, second_at_beginning=with_seconds)
    wildcard = _hour_wildcard(expression, with_seconds)
    best: datetime | None = None
    for _ in range(100_000):
        # A repeated hour interleaves the walls' second occurrences with later walls' first
        # ones: keep the earliest candidate until the walls' first occurrences pass it.
        placed = _placed(it.get_next(datetime), tz, wildcard)
        for candidate in placed:
            if candidate > instant and (best is None or candidate < best):
                best = candidate
        if best is not None and placed and placed[0] >= best:
            return best
    raise CronError(f"cron expression {expression!r} has no tick after {instant.isoformat()}")


@lru_cache(maxsize=4096)
def _previous_before(expression: str, with_seconds: bool, zone: str, instant: datetime) -> datetime:
    tz = ZoneInfo(zone)
    local = instant.astimezone(tz).replace(tzinfo=None)
    start = local + timedelta(hours=2) if _near_transition(instant, tz) else local
    it = croniter(_parts(expression, with_seconds), start, second_at_beginning=with_seconds)
    wildcard = _hour_wildcard(expression, with_seconds)
    best: datetime | None = None
    for _ in range(100_000):
        placed = _placed(it.get_prev(datetime), tz, wildcard)
        for candidate in placed:
            if candidate < instant and (best is None or candidate > best):
                best = candidate
        if best is not None and placed and placed[-1] <= best:
            return best
    raise CronError(f"cron expression {expression!r} has no tick before {instant.isoformat()}")


def _near_transition(instant: datetime, tz: ZoneInfo) -> bool:
    """Whether the zone's UTC offset changes within two hours of ``instant`` (either side)."""
    offset = instant.astimezone(tz).utcoffset()
    return any((instant + timedelta(hours=hours)).astimezone(tz).utcoffset() != offset for hours in (-2, 2))


def _hour_wildcard(expression: str, with_seconds: bool) -> bool:
    fields = _parts(expression, with_seconds).split()
    return fields[2 if with_seconds else 1].startswith("*")


def _placed(wall: datetime, tz: ZoneInfo, wildcard: bool) -> list[datetime]:
    """The instants (UTC, ascending) a tick at wall-clock time ``wall`` fires at."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        if wildcard and second != first and second.astimezone(tz).replace(tzinfo=None) == wall:
            return [first, second]  # a repeated wall time, in real time: both occurrences
        return [first]  # it exists (its first occurrence when it happens twice)
    if wildcard:
        return []  # in a gap: that wall time never happened
    # In a gap: fire at the transition, the first instant whose wall time is past ``wall``.
    low, high = second, first  # fold=1 reads the gap with the offset after it: before it on the time line
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return [high.replace(microsecond=0)]
