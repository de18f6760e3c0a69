"""Dates: parsing inputs, Java format patterns, named formats, zones, dateAdd, timestamps, now()."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from lanner.expr import render
from tests.unit.expr.helpers import fails, r

MOMENT = "2024-03-09T14:05:07.123456Z"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2024-03-09"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-03-09T14:05:07.123Z"),
        ("yyyy-MM-dd HH:mm:ss.SSSSSS", "2024-03-09 14:05:07.123456"),
        ("yy/M/d H:m:s", "24/3/9 14:5:7"),
        ("SSSSSSSSS", "123456000"),
        ("MMM MMMM MMMMM", "Mar March M"),
        ("EEE EEEE", "Sat Saturday"),
        ("hh:mm a", "02:05 PM"),
        ("D DDD", "69 069"),
        ("'quoted ''text''' yyyy", "quoted 'text' 2024"),
        ("''", "'"),
        ("Q QQQ", "1 Q1"),
        ("w", "10"),
        ("X XX XXX", "Z Z Z"),
        ("x xx xxx Z", "+00 +0000 +00:00 +0000"),
        ("VV z O", "Z UTC GMT"),
        ("G", "AD"),
        ("[yyyy]", "2024"),
    ],
)
def test_java_patterns(pattern: str, expected: str) -> None:
    assert r("{{ d | date(format) }}", d=MOMENT, format=pattern) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iso", "2024-03-09T14:05:07.123456Z"),
        ("iso_sec", "2024-03-09T14:05:07Z"),
        ("sql", "2024-03-09 14:05:07.123456"),
        ("sql_seq", "2024-03-09 14:05:07"),
        ("iso_date", "2024-03-09Z"),
        ("iso_local_date", "2024-03-09"),
        ("iso_time", "14:05:07.123456Z"),
        ("iso_local_time", "14:05:07.123456"),
        ("iso_local_date_time", "2024-03-09T14:05:07.123456"),
        ("iso_date_time", "2024-03-09T14:05:07.123456Z"),
        ("iso_instant", "2024-03-09T14:05:07.123456Z"),
        ("iso_ordinal_date", "2024-069Z"),
        ("iso_week_date", "2024-W10-6Z"),
        ("rfc_1123_date_time", "Sat, 9 Mar 2024 14:05:07 GMT"),
        ("short", "3/9/24, 2:05 PM"),
        ("medium", "Mar 9, 2024, 2:05:07 PM"),
    ],
)
def test_named_formats(name: str, expected: str) -> None:
    assert r("{{ d | date(name) }}", d=MOMENT, name=name) == expected


def test_date_defaults_to_iso_in_utc() -> None:
    assert r("{{ d | date }}", d="2024-03-09T16:05:07+02:00") == "2024-03-09T14:05:07.000000Z"


def test_time_zones() -> None:
    assert r("{{ d | date('HH:mm XXX', timeZone='Europe/Paris') }}", d=MOMENT) == "15:05 +01:00"
    assert r("{{ d | date('HH:mm XXX', timeZone='America/New_York') }}", d="2024-07-01T12:00:00Z") == "08:00 -04:00"
    assert r("{{ d | date('HH:mm', timeZone='+05:30') }}", d=MOMENT) == "19:35"
    assert r("{{ d | date('HH:mm', timeZone='UTC') }}", d=MOMENT) == "14:05"
    assert r("{{ d | date('iso_zoned_date_time', timeZone='Europe/Paris') }}", d="2024-03-09T14:00:00Z") == (
        "2024-03-09T15:00:00+01:00[Europe/Paris]"
    )
    fails("{{ d | date('yyyy', timeZone='Mars/Olympus') }}", "unknown time zone `Mars/Olympus`", d=MOMENT)
    fails("{{ d | date('yyyy', timeZone='../../etc/passwd') }}", "unknown time zone", d=MOMENT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-09T14:05:07Z", "2024-03-09 14:05"),
        ("2024-03-09T16:05:07+02:00", "2024-03-09 14:05"),
        ("2024-03-09T15:05:07+01:00[Europe/Paris]", "2024-03-09 14:05"),
        ("2024-03-09T14:05:07", "2024-03-09 14:05"),  # a local date-time is read in timeZone (UTC)
        ("2024-03-09", "2024-03-09 00:00"),  # a bare date is its midnight
        (datetime(2024, 3, 9, 14, 5, tzinfo=UTC), "2024-03-09 14:05"),
        (datetime(2024, 3, 9, 14, 5), "2024-03-09 14:05"),
        (date(2024, 3, 9), "2024-03-09 12:00"),  # a LocalDate is read as noon, as in Kestra
        (1710000000, "2024-03-09 16:00"),  # epoch seconds
    ],
)
def test_date_inputs(value: object, expected: str) -> None:
    assert r("{{ d | date('yyyy-MM-dd HH:mm') }}", d=value) == expected


def test_existing_format_parses_strings_with_a_java_pattern() -> None:
    assert r('{{ "July 24, 2001" | date("yyyy-MM-dd", existingFormat="MMMM dd, yyyy") }}') == "2001-07-24"
    assert r('{{ "24/07/2001 13:45" | date("iso_sec", existingFormat="dd/MM/yyyy HH:mm") }}') == "2001-07-24T13:45:00Z"
    assert r('{{ "20010724" | date("yyyy-MM-dd", existingFormat="yyyyMMdd") }}') == "2001-07-24"
    assert r('{{ "01:30 PM 2001-07-24 +0200" | date("HH:mm", existingFormat="hh:mm a yyyy-MM-dd Z") }}') == "11:30"
    assert r('{{ "2001-07-24 10:00 Europe/Paris" | date("HH:mm", existingFormat="yyyy-MM-dd HH:mm VV") }}') == "08:00"
    fails('{{ "24.07.2001" | date("yyyy", existingFormat="dd/MM/yyyy") }}', "does not match its `existingFormat`")
    fails('{{ "31/02/2001" | date("yyyy", existingFormat="dd/MM/yyyy") }}', "not a valid date")
    fails('{{ "07/24" | date("yyyy", existingFormat="MM/dd") }}', "has no year")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ 'yesterday' | date('yyyy') }}", "not an ISO-8601 date"),
        ("{{ [1] | date('yyyy') }}", "a date is expected, not a list"),
        ("{{ true | date('yyyy') }}", "a date is expected, not a boolean"),
        ("{{ '2024-01-01' | date('yyyy-MM-dd {') }}", "reserved in date formats"),
        ("{{ '2024-01-01' | date('yyyy-MM-dd \\'T') }}", "unclosed quote"),
        ("{{ '2024-01-01' | date('yyyy-MM-dd b') }}", "unknown pattern letter `b`"),
        ("{{ '2024-01-01' | date('ddd') }}", "too many pattern letters `d`"),
        ("{{ '2024-01-01' | date(1) }}", "`format` to be a string"),
    ],
)
def test_date_errors(template: str, fragment: str) -> None:
    fails(template, fragment)


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (-1, "DAYS", "2024-03-08T14:05:07.123456Z"),
        (1, "days", "2024-03-10T14:05:07.123456Z"),
        (2, "HOURS", "2024-03-09T16:05:07.123456Z"),
        (30, "MINUTES", "2024-03-09T14:35:07.123456Z"),
        (1, "WEEKS", "2024-03-16T14:05:07.123456Z"),
        (1, "MONTHS", "2024-04-09T14:05:07.123456Z"),
        (-1, "YEARS", "2023-03-09T14:05:07.123456Z"),
        (1500, "MILLIS", "2024-03-09T14:05:08.623456Z"),
        (1, "DECADES", "2034-03-09T14:05:07.123456Z"),
    ],
)
def test_date_add(amount: int, unit: str, expected: str) -> None:
    assert r("{{ d | dateAdd(amount, unit) }}", d=MOMENT, amount=amount, unit=unit) == expected


def test_date_add_clamps_month_ends_and_keeps_wall_time_across_dst() -> None:
    assert r("{{ '2024-01-31T00:00:00Z' | dateAdd(1, 'MONTHS', 'yyyy-MM-dd') }}") == "2024-02-29"
    # 2024-03-31 is the day Paris moves to summer time: a DAY keeps 10:00, 24 HOURS does not.
    paris = "2024-03-30T10:00:00+01:00[Europe/Paris]"
    args = "format='HH:mm', timeZone='Europe/Paris'"
    assert r(f"{{{{ d | dateAdd(1, 'DAYS', {args}) }}}}", d=paris) == "10:00"
    assert r(f"{{{{ d | dateAdd(24, 'HOURS', {args}) }}}}", d=paris) == "11:00"


def test_date_add_errors() -> None:
    fails("{{ d | dateAdd(1, 'FORTNIGHTS') }}", "unknown unit", d=MOMENT)
    fails("{{ d | dateAdd('one', 'DAYS') }}", "`amount` to be an integer", d=MOMENT)
    fails("{{ d | dateAdd(1) }}", "expects an argument `unit`", d=MOMENT)
    fails("{{ d | dateAdd(100000, 'YEARS') }}", "out of the supported range", d=MOMENT)


def test_timestamps() -> None:
    value = "2024-03-09T14:05:07.123456Z"
    assert r("{{ d | timestamp }}", d=value) == "1709993107"
    assert r("{{ d | timestampMilli }}", d=value) == "1709993107123"
    assert r("{{ d | timestampMicro }}", d=value) == "1709993107123456"
    assert r("{{ d | timestampNano }}", d=value) == "1709993107123456000"
    assert r("{{ d | timestamp(timeZone='Europe/Paris') }}", d="2024-03-09T15:05:07") == "1709993107"
    assert r("{{ '1970-01-01T00:00:00Z' | timestamp }}") == "0"


def test_now_is_a_zoned_datetime_printed_as_iso() -> None:
    before = datetime.now(UTC)
    printed = render("{{ now() }}", {})
    assert printed.endswith("Z")
    assert abs(datetime.fromisoformat(printed) - before) < timedelta(seconds=5)
    assert render("{{ now() | date('yyyy') }}", {}) == str(datetime.now(UTC).year)
    assert render("{{ now(format='yyyy') }}", {}) == str(datetime.now(UTC).year)
    assert render("{{ now(timeZone='Asia/Kolkata') | date('XXX', timeZone='Asia/Kolkata') }}", {}) == "+05:30"
    assert render("{{ null ?? now() | dateAdd(-1, 'MONTHS') | date('yyyy-MM-dd') }}", {}).count("-") == 2


def test_datetimes_compare_and_print() -> None:
    early = datetime(2024, 1, 1, tzinfo=UTC)
    late = datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=timezone(timedelta(hours=2)))
    assert r("{{ a < b }}", a=late, b=early) == "true"
    assert r("{{ b }}", b=late) == "2024-01-01T00:00:01.500+02:00"
    assert r("{{ d }}", d=date(2024, 1, 1)) == "2024-01-01"
