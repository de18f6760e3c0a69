"""Flow outputs: converted to their declared type when the execution succeeds, or failing it with a message."""

from __future__ import annotations

import pytest

from lanner.engine.core.flow_outputs import typed_output
from lanner.model.flow import Output
from lanner.model.state import State
from tests.unit.engine.sim import Simulation

HEAD = ("id: f\nnamespace: company.team\n"
        "tasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n")


def output(type_: str, value: object = None) -> Output:
    return Output.model_validate({"id": "o", "type": type_, "value": value})


@pytest.mark.parametrize(("type_", "value", "expected"), [
    ("STRING", "text", "text"),
    ("STRING", 42, "42"),  # Kestra keeps the text of what a text output is given
    ("ENUM", "A", "A"),
    ("INT", "42", 42),
    ("INT", 7, 7),
    ("FLOAT", "1.5", 1.5),
    ("BOOLEAN", "true", True),
    ("BOOLEAN", False, False),
    ("JSON", '{"a": [1, 2]}', {"a": [1, 2]}),
    ("YAML", "a: 1\nb: [x]", {"a": 1, "b": ["x"]}),
    ("ARRAY", "[1, \"two\"]", [1, "two"]),
    ("DATETIME", "2024-01-31T10:00:00+01:00", "2024-01-31T09:00:00Z"),
    ("DATE", "2024-01-31", "2024-01-31"),
    ("DURATION", "PT90M", "PT1H30M"),
    ("URI", "https://example.com/x", "https://example.com/x"),
])
def test_an_output_is_converted_to_its_type(type_, value, expected):
    assert typed_output(output(type_), value) == expected


@pytest.mark.parametrize(("type_", "value", "message"), [
    ("INT", "4.2", "expected an integer"),
    ("FLOAT", "many", "expected a number"),
    ("BOOLEAN", "yes", "expected true or false"),
    ("JSON", "{oops", "expected JSON"),
    ("ARRAY", '{"a": 1}', "expected a list"),
    ("DATETIME", "tomorrow", "expected an ISO-8601 date-time"),
    ("EMAIL", "nobody", "expected an e-mail address"),
])
def test_a_value_that_does_not_fit_its_type_is_refused(type_, value, message):
    with pytest.raises(ValueError, match=message):
        typed_output(output(type_), value)


def test_typed_outputs_become_the_execution_outputs():
    sim = Simulation.of(HEAD.replace("format: x", "format: '42'") + "outputs:\n"
                        "  - id: count\n    type: INT\n    value: \"{{ outputs.r.value }}\"\n"
                        "  - id: data\n    type: JSON\n    value: '{\"n\": {{ outputs.r.value }}}'\n")
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert execution.outputs == {"count": 42, "data": {"n": 42}}


def test_an_invalid_output_fails_the_execution_naming_it():
    sim = Simulation.of(HEAD + "outputs:\n  - id: count\n    type: INT\n    value: \"{{ outputs.r.value }}\"\n"
                        "  - id: flag\n    type: BOOLEAN\n    value: maybe\n")
    execution = sim.run()
    assert execution.current is State.FAILED
    assert execution.outputs == {}
    errors = [note.message for note in sim.notes if note.level == "ERROR"]
    assert errors == ["Invalid output `count` (INT): expected an integer, got 'x'; fix its value, or declare the "
                      "type it has",
                      "Invalid output `flag` (BOOLEAN): expected true or false, got 'maybe'; fix its value, or "
                      "declare the type it has"]  # every problem at once


def test_a_required_output_must_have_a_value_an_optional_one_may_be_null():
    empty = "\"{{ outputs.r.value == 'x' ? '' : 'y' }}\""
    required = Simulation.of(HEAD + f"outputs:\n  - id: answer\n    type: STRING\n    value: {empty}\n")
    assert required.run().current is State.FAILED
    assert [n.message for n in required.notes if n.level == "ERROR"] == [
        "Missing required output `answer` (STRING): its value is empty; make it render to a value, "
        "or set required: false"]
    optional = Simulation.of(HEAD + f"outputs:\n  - id: answer\n    type: INT\n    value: {empty}\n"
                             "    required: false\n")
    execution = optional.run()
    assert execution.current is State.SUCCESS and execution.outputs == {"answer": None}


def test_an_output_that_cannot_be_rendered_fails_only_when_required():
    source = HEAD + "outputs:\n  - id: ok\n    type: STRING\n    value: fine\n  - id: broken\n    type: STRING\n" \
                    "    value: \"{{ outputs.nope.value }}\"\n"
    required = Simulation.of(source)
    assert required.run().current is State.FAILED
    [error] = [n.message for n in required.notes if n.level == "ERROR"]
    assert error.startswith("Invalid output `broken`: its value cannot be rendered: ") and "`nope`" in error
    optional = Simulation.of(source + "    required: false\n")
    execution = optional.run()
    assert execution.current is State.SUCCESS and execution.outputs == {"ok": "fine", "broken": None}
    [warning] = [n.message for n in optional.notes if n.level == "WARN"]
    assert warning.startswith("Optional output `broken` is null: its value cannot be rendered: ")


def test_outputs_are_not_rendered_for_a_failed_execution():
    sim = Simulation.of(HEAD + "  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n"
                        "outputs:\n  - id: count\n    type: INT\n    value: not a number\n")
    execution = sim.run()
    assert execution.current is State.FAILED and execution.outputs == {}
    assert not any("output" in note.message for note in sim.notes)
