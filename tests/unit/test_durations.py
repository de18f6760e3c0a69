from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanner.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300), ("300s", 300), ("1h30m", 5400), ("PT5M", 300), ("pt1h30m", 5400), ("P1DT2H", 93600),
        ("250ms", 0.25), ("1.5s", 1.5), ("2d", 172800), ("PT0.5S", 0.5), ("45", 45), (90, 90), (0.2, 0.2),
    ],
)
def test_accepted_forms(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "5x", "P", "PT", "1h 30m", "-5s", True, None, [], -3])
def test_rejected_forms_name_the_accepted_ones(text):
    with pytest.raises(ValueError, match="PT5M"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**10))
def test_format_then_parse_round_trips(ms):
    value = timedelta(milliseconds=ms)
    assert parse_duration(format_duration(value)) == value
