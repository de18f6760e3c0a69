"""Input types: valid defaults for each type, and checking values given at execution time."""

from datetime import UTC, date, datetime, timedelta

import pytest

from lanner.flows.problems import dotted
from lanner.flows.validator import validate_source


def flow_with_input(spec: str):
    return validate_source("id: f\nnamespace: n\ninputs:\n  - id: i\n" + spec +
                           "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")


@pytest.mark.parametrize(("spec", "value", "expected"), [
    ("    type: STRING\n", "x", "x"),
    ("    type: INT\n    min: 1\n", "5", 5),
    ("    type: FLOAT\n", "1.5", 1.5),
    ("    type: BOOLEAN\n", "true", True),
    ("    type: BOOL\n", False, False),
    ("    type: DATETIME\n", "2024-01-31T10:00:00Z", datetime(2024, 1, 31, 10, tzinfo=UTC)),
    ("    type: DATE\n", "2024-01-31", date(2024, 1, 31)),
    ("    type: DURATION\n", "PT5M", timedelta(minutes=5)),
    ("    type: JSON\n", '{"a": [1]}', {"a": [1]}),
    ("    type: URI\n", "s3://bucket/key", "s3://bucket/key"),
    ("    type: ENUM\n    values: [a, b]\n", "b", "b"),
    ("    type: SELECT\n    values: [a, b]\n", "a", "a"),
    ("    type: MULTISELECT\n    values: [a, b, c]\n", ["a", "c"], ["a", "c"]),
    ("    type: ARRAY\n    itemType: INT\n", "[1, 2]", [1, 2]),
    ("    type: SECRET\n", "s3cr3t", "s3cr3t"),
    ("    type: EMAIL\n", "ops@example.com", "ops@example.com"),
])
def test_values_are_converted_to_the_input_type(spec, value, expected, encryption_key):
    result = flow_with_input(spec)
    assert result.valid, [p.format() for p in result.problems]
    assert result.flow.inputs[0].check(value) == expected


@pytest.mark.parametrize(("spec", "value", "message"), [
    ("    type: INT\n    max: 3\n", 4, "must be <= 3"),
    ("    type: MULTISELECT\n    values: [a]\n", ["a", "z"], "z not among a"),
    ("    type: STRING\n    validator: '^x+$'\n", "y", "does not match the validator"),
    ("    type: DURATION\n    min: PT1M\n", "PT1S", "must be >="),
    ("    type: DATETIME\n    after: 2024-01-01T00:00:00Z\n", "2023-12-31T23:59:59Z", "must be after"),
    ("    type: DATETIME\n    before: '2024-01-01T00:00:00Z'\n", "2024-01-01T00:00:00", "must be before"),  # UTC
    ("    type: DATE\n    after: 2024-01-01\n", "2024-01-01", "must be after 2024-01-01"),
    ("    type: DATE\n    before: '2024-12-31'\n", "2025-01-01", "must be before 2024-12-31"),
    ("    type: TIME\n    after: '09:00:00'\n", "08:59", "must be after 09:00:00"),
    ("    type: TIME\n    before: '17:00:00'\n", "17:30:00+02:00", "must be before 17:00:00"),
])
def test_invalid_values_say_why(spec, value, message):
    result = flow_with_input(spec)
    with pytest.raises(ValueError, match=message):
        result.flow.inputs[0].check(value)


def test_expression_defaults_are_not_checked_until_run_time():
    assert flow_with_input("    type: INT\n    defaults: '{{ vars.n }}'\n").valid


def test_input_ids_are_unique():
    result = validate_source("id: f\nnamespace: n\ninputs:\n  - id: a\n    type: STRING\n  - id: a\n    type: INT\n"
                             "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    assert [p.message for p in result.errors] == ["duplicate input id 'a'"]


def test_date_and_time_bounds_are_checked_when_the_flow_is_validated():
    result = flow_with_input("    type: DATE\n    after: '31/01/2024'\n")
    assert not result.valid
    assert any("expected an ISO-8601 date" in p.message for p in result.errors), [p.format() for p in result.problems]
    result = flow_with_input("    type: TIME\n    before: '12:00:00'\n    defaults: '13:00:00'\n")
    assert any("must be before 12:00:00" in p.message for p in result.errors)
    inside = flow_with_input("    type: DATE\n    after: 2024-01-01\n    before: 2024-12-31\n")
    assert inside.valid and inside.flow.inputs[0].check("2024-06-30") == date(2024, 6, 30)


def flow_with_inputs(inputs: str):
    return validate_source("id: f\nnamespace: n\ninputs:\n" + inputs +
                           "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")


def test_depends_on_is_modelled():
    result = flow_with_inputs("  - id: kind\n    type: STRING\n"
                              "  - id: size\n    type: INT\n    dependsOn:\n      inputs: [kind]\n"
                              "      condition: \"{{ inputs.kind == 'vm' }}\"\n")
    assert result.valid, [p.format() for p in result.problems]
    depends_on = result.flow.inputs[1].depends_on
    assert (depends_on.inputs, depends_on.condition) == (["kind"], "{{ inputs.kind == 'vm' }}")


@pytest.mark.parametrize(("inputs", "path", "message"), [
    ("  - id: a\n    type: STRING\n    dependsOn:\n      inputs: [ghost]\n",
     "inputs[0].dependsOn.inputs[0]", "input 'a' depends on 'ghost', which is not an input of this flow"),
    ("  - id: a\n    type: STRING\n    dependsOn:\n      inputs: [b]\n  - id: b\n    type: STRING\n"
     "    dependsOn:\n      inputs: [a]\n",
     "inputs[0].dependsOn.inputs",
     "input 'a' is in a dependsOn cycle (a, b): one of them must not depend on the others"),
    ("  - id: a\n    type: STRING\n    dependsOn:\n      inputs: [a]\n",
     "inputs[0].dependsOn.inputs[0]", "input 'a' cannot depend on itself"),
    ("  - id: a\n    type: STRING\n    dependsOn:\n      conditon: '{{ true }}'\n",
     "inputs[0].dependsOn.conditon", "unknown property 'conditon'; did you mean 'condition'?"),
])
def test_depends_on_must_name_other_inputs_without_a_cycle(inputs, path, message):
    result = flow_with_inputs(inputs)
    assert [(dotted(p.path), p.message) for p in result.errors] == [(path, message)]


def test_an_input_may_follow_one_declared_after_it_as_in_kestra():
    from lanner.engine.core.inputs import resolve_inputs

    result = validate_source(
        "id: f\nnamespace: n\ninputs:\n  - id: reason\n    type: STRING\n    dependsOn:\n      inputs: [ok]\n"
        "      condition: '{{ inputs.ok == false }}'\n  - id: ok\n    type: BOOLEAN\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    assert result.valid, [p.format() for p in result.problems]
    assert resolve_inputs(result.flow, {"ok": "true", "reason": "ignored"}) == {"ok": True}
    resolved = resolve_inputs(result.flow, {"ok": "false", "reason": "broken"})
    assert list(resolved) == ["reason", "ok"]  # in declaration order, whatever the order they were resolved in
    assert resolved == {"reason": "broken", "ok": False}


def test_onresume_inputs_cannot_follow_unknown_inputs():
    result = validate_source(
        "id: f\nnamespace: n\ntasks:\n  - id: approve\n    type: io.kestra.plugin.core.flow.Pause\n"
        "    onResume:\n      - id: reason\n        type: STRING\n        dependsOn:\n          inputs: [ok]\n")
    assert [(dotted(p.path), p.message) for p in result.errors] == [
        ("tasks[0].onResume[0].dependsOn.inputs[0]",
         "input 'reason' depends on 'ok', which is not an input of onResume")]


@pytest.mark.parametrize(("spec", "path", "message"), [
    ("    type: STRING\n    minLength: 3\n    defaults: ab\n",
     "inputs[0].defaults", "'ab' is not a valid STRING: must be at least 3 characters long (minLength)"),
    ("    type: SECRET\n    maxLength: 3\n    defaults: abcd\n",
     "inputs[0].defaults", "'abcd' is not a valid SECRET: must be at most 3 characters long (maxLength)"),
    ("    type: STRING\n    minLength: 5\n    maxLength: 3\n",
     "inputs[0].minLength", "5 is greater than maxLength 3"),
    ("    type: STRING\n    minLength: -1\n",
     "inputs[0].minLength", "must be >= 0, got the number -1"),
    ("    type: FILE\n    allowedFileExtensions: [.csv]\n    defaults: kestra:///n/f/data.json\n",
     "inputs[0].defaults", "'kestra:///n/f/data.json' is not a valid FILE: "
                           "file 'data.json' has none of the allowed extensions (.csv)"),
    ("    type: FILE\n    allowedFileExtensions: ['.']\n",
     "inputs[0].allowedFileExtensions", "expected extensions such as .csv or csv, not an empty name"),
])
def test_lengths_and_file_extensions_are_checked_when_the_flow_is_validated(spec, path, message):
    result = flow_with_input(spec)
    assert [(dotted(p.path), p.message) for p in result.errors] == [(path, message)]


def test_defaults_within_lengths_and_extensions_are_valid():
    assert flow_with_input("    type: STRING\n    minLength: 2\n    maxLength: 2\n    defaults: ab\n").valid
    assert flow_with_input("    type: FILE\n    allowedFileExtensions: [csv]\n    defaults: nsfile:///in/Data.CSV\n").valid


SECRET_EVERYWHERE = """id: f
namespace: n
inputs:
  - id: password
    type: SECRET
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: pin
        type: SECRET
outputs:
  - id: token
    type: SECRET
    value: x
"""


def test_secret_inputs_and_outputs_are_refused_without_an_encryption_key():
    result = validate_source(SECRET_EVERYWHERE)
    assert not result.valid
    found = {dotted(p.path): p.message for p in result.errors}
    assert set(found) == {"inputs[0].type", "tasks[0].onResume[0].type", "outputs[0].type"}
    assert found["inputs[0].type"] == (
        "the SECRET input 'password' needs an encryption key, and none is configured: set "
        "lanner.encryption.secret-key to a base64-encoded 32-byte key (make one with `openssl rand -base64 32`)")
    assert "onResume input 'pin'" in found["tasks[0].onResume[0].type"]
    assert "output 'token'" in found["outputs[0].type"]


def test_secret_inputs_and_outputs_are_accepted_with_a_key(encryption_key):
    assert validate_source(SECRET_EVERYWHERE).valid
