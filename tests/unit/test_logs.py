import pytest

from lanner.logs import effective_level


@pytest.mark.parametrize(
    ("level", "verbosity", "expected"),
    [("INFO", 0, "INFO"), ("INFO", 1, "DEBUG"), ("INFO", 2, "TRACE"), ("INFO", 5, "TRACE"), ("warn", 1, "INFO"),
     ("ERROR", 0, "ERROR")],
)
def test_each_v_is_one_step_more_verbose(level, verbosity, expected):
    assert effective_level(level, verbosity) == expected
