"""Cron ticks in a time zone, across daylight-saving transitions (Europe/Paris, 2026)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanner.scheduler.cron import Cron, CronError, problem

PARIS = ZoneInfo("Europe/Paris")


def wall(ticks: list[datetime]) -> list[str]:
    return [t.astimezone(PARIS).strftime("%d %H:%M%z") for t in ticks]


def test_a_daily_tick_in_the_spring_forward_gap_fires_at_the_transition_not_skipped():
    daily = Cron("30 2 * * *", timezone="Europe/Paris")
    ticks = daily.ticks(datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert wall(ticks) == ["27 02:30+0100", "28 02:30+0100", "29 03:00+0200", "30 02:30+0200"]


def test_a_daily_tick_in_the_repeated_fall_back_hour_fires_once():
    daily = Cron("30 2 * * *", timezone="Europe/Paris")
    ticks = daily.ticks(datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))
    assert wall(ticks) == ["23 02:30+0200", "24 02:30+0200", "25 02:30+0200", "26 02:30+0100"]


def test_an_hourly_schedule_follows_real_time_across_both_transitions():
    hourly = Cron("0 * * * *", timezone="Europe/Paris")
    spring = hourly.ticks(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), datetime(2026, 3, 29, 3, tzinfo=UTC))
    assert wall(spring) == ["29 01:00+0100", "29 03:00+0200", "29 04:00+0200", "29 05:00+0200"]
    fall = hourly.ticks(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC))
    assert wall(fall) == ["25 02:00+0200", "25 02:00+0100", "25 03:00+0100", "25 04:00+0100"]


def test_nicknames_seconds_and_previous_ticks():
    assert Cron("@hourly").next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert Cron("@daily").next_after(datetime(2026, 1, 1, 5, tzinfo=UTC)) == datetime(2026, 1, 2, tzinfo=UTC)
    every10 = Cron("*/10 * * * * *", with_seconds=True)
    assert every10.next_after(datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert Cron("0 * * * *").previous_before(datetime(2026, 1, 1, 5, tzinfo=UTC)) == datetime(2026, 1, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "seconds", "message"), [
    ("* * * *", False, "expected 5 fields"),
    ("0 */5 * * * *", False, "6 with the seconds first"),
    ("61 * * * *", False, "invalid cron expression"),
    ("* * * * *", True, "expected 6 fields"),
])
def test_invalid_expressions_say_why(expression, seconds, message):
    assert message in problem(expression, seconds)
    with pytest.raises(CronError):
        Cron(expression, seconds)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["0 * * * *", "*/15 * * * *", "30 2 * * *", "0 3 * * 0", "0 0 1 * *", "5 1-3 * * *"]),
       st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"]),
       st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)))
def test_ticks_strictly_increase_and_previous_inverts_next(expression, zone, start):
    cron = Cron(expression, timezone=zone)
    instant = start.replace(tzinfo=UTC)
    ticks = cron.ticks(instant, instant.replace(year=instant.year + 1), limit=50)
    assert all(a < b for a, b in itertools.pairwise(ticks))
    assert all(t > instant for t in ticks)
    for earlier, later in itertools.pairwise(ticks):
        assert cron.previous_before(later) == earlier


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(("expression", "seconds"), [("0 */20 * * * *", True), ("0 2 * * *", False),
                                                     ("*/20 1-3 * * *", False)])
def test_starting_at_the_instant_away_from_transitions_finds_what_the_two_hour_rewind_finds(
        monkeypatch, zone, expression, seconds):
    """The shortcut (no rewind where the offset does not change within two hours) changes no answer."""
    from datetime import UTC, datetime, timedelta

    from lanner.scheduler import cron

    def answers() -> list[tuple[datetime, datetime]]:
        cron._next_after.cache_clear()
        cron._previous_before.cache_clear()
        schedule = cron.Cron(expression, seconds, zone)
        found = []
        for day in (datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC),
                    datetime(2026, 10, 4, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC),
                    datetime(2026, 11, 1, tzinfo=UTC)):
            for step in range(0, 36 * 60, 37):  # every 37 minutes over a day and a half, seconds included
                instant = day + timedelta(minutes=step, seconds=step % 60)
                found.append((schedule.next_after(instant), schedule.previous_before(instant)))
        return found

    shortcut = answers()
    monkeypatch.setattr(cron, "_near_transition", lambda instant, tz: True)  # always rewind, as before
    assert shortcut == answers()
