"""Timestamps as text: Kestra's instant, the sortable stored form and Python's offset form."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lanner.timestamps import as_utc, instant, offset_iso, sortable_instant, utc_instant

AT = datetime(2024, 1, 31, 8, 0, 5, 123456, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))


@pytest.mark.parametrize(("moment", "text"), [
    (AT, "2024-01-31T08:00:05.123456Z"),
    (AT.replace(microsecond=0), "2024-01-31T08:00:05Z"),  # no fraction when there is none, as Kestra
    (AT.astimezone(PARIS), "2024-01-31T09:00:05.123456+01:00"),  # another offset is kept
    (AT.replace(tzinfo=None), "2024-01-31T08:00:05.123456"),  # naive: no offset made up
    (None, None),
])
def test_instant_is_isoformat_with_z_for_utc(moment, text):
    assert instant(moment) == text


def test_utc_instant_converts_and_takes_naive_as_utc():
    assert utc_instant(AT.astimezone(PARIS)) == utc_instant(AT.replace(tzinfo=None)) == "2024-01-31T08:00:05.123456Z"
    assert utc_instant(None) is None
    assert as_utc(AT.replace(tzinfo=None)) == AT and as_utc(AT.astimezone(PARIS)).tzinfo is UTC


def test_sortable_instant_always_has_microseconds():
    assert sortable_instant(AT.replace(microsecond=0)) == "2024-01-31T08:00:05.000000Z"
    assert sortable_instant(AT.astimezone(PARIS)) == "2024-01-31T08:00:05.123456Z"


def test_offset_iso_is_pythons_form_read_back_by_fromisoformat():
    assert offset_iso(AT) == "2024-01-31T08:00:05.123456+00:00"
    assert datetime.fromisoformat(offset_iso(AT)) == AT
