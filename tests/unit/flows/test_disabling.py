"""Setting ``disabled`` in a flow's source, the rest of it untouched."""

from __future__ import annotations

from lanner.flows.disabling import with_disabled
from lanner.flows.validator import validate_source

SOURCE = """id: f  # the flow
namespace: unit.disabling
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: m
    disabled: false
"""


def test_a_missing_top_level_line_is_appended_and_nested_ones_are_left_alone():
    disabled = with_disabled(SOURCE, True)
    assert disabled == SOURCE + "disabled: true\n"
    flow = validate_source(disabled).flow
    assert flow is not None and flow.disabled and not flow.tasks[0].disabled


def test_an_existing_top_level_line_is_replaced_in_place():
    enabled = with_disabled(with_disabled(SOURCE, True), False)
    assert enabled == SOURCE + "disabled: false\n"
    assert with_disabled("disabled: false # note\n" + SOURCE, True).startswith("disabled: true\nid: f  # the flow\n")
