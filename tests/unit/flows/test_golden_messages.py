"""The exact text a user sees for each kind of mistake (tests/flows/golden/NAME.yaml -> NAME.expected).

To change a message on purpose, regenerate the expectations with
``LANNER_TEST_REGENERATE_GOLDEN=1 pytest tests/unit/flows/test_golden_messages.py`` and review the diff.
"""

import os
from pathlib import Path

import pytest

from lanner.flows.validator import validate_source

GOLDEN = Path(__file__).parents[2] / "flows" / "golden"
VALID = Path(__file__).parents[2] / "flows" / "valid"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_messages_match_the_golden_file(path):
    result = validate_source(path.read_text(), path.name)
    text = "".join(problem.format() + "\n" for problem in result.problems)
    expected = path.with_suffix(".expected")
    if os.environ.get("LANNER_TEST_REGENERATE_GOLDEN") == "1":
        expected.write_text(text)
    assert text == expected.read_text()
    assert result.valid == (not result.errors)


def test_golden_files_with_only_deprecations_are_valid():
    result = validate_source((GOLDEN / "deprecated.yaml").read_text(), "deprecated.yaml")
    assert result.valid and result.problems and not result.errors


@pytest.mark.parametrize("path", sorted(VALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_flows_have_no_problem(path):
    result = validate_source(path.read_text(), path.name)
    assert result.problems == []
    assert result.valid and result.flow is not None
