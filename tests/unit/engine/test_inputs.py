"""An execution's inputs from the flow's declared inputs and the values given at creation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanner.durations import parse_duration
from lanner.engine.core.creation import new_execution
from lanner.engine.core.inputs import InputsError, format_duration_iso, format_instant, resolve_inputs
from lanner.errors import ExitCode, UsageError
from lanner.expr import render_value
from lanner.flows.validator import validate_source
from lanner.model.flow import Flow


def flow(*inputs: dict[str, Any]) -> Flow:
    document = {
        "id": "f", "namespace": "company.team", "inputs": list(inputs),
        "tasks": [{"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "m"}],
    }
    result = validate_source(json.dumps(document))  # JSON is YAML
    assert result.valid, [p.format() for p in result.problems]
    return result.flow


def one(spec: dict[str, Any], value: Any) -> Any:
    return resolve_inputs(flow({"id": "i", **spec}), {"i": value})["i"]


def problems(f: Flow, given: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(InputsError) as caught:
        resolve_inputs(f, given, **kwargs)
    return list(caught.value.problems)


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"type": "STRING"}, "x", "x"),
        ({"type": "INT", "min": 1}, "5", 5),
        ({"type": "INT"}, 7, 7),
        ({"type": "FLOAT"}, "1.5", 1.5),
        ({"type": "FLOAT"}, 2, 2.0),
        ({"type": "BOOLEAN"}, "true", True),
        ({"type": "BOOL"}, False, False),
        ({"type": "DATETIME"}, "2024-01-31T10:00:00Z", "2024-01-31T10:00:00Z"),
        ({"type": "DATETIME"}, "2024-01-31T12:30:00+02:00", "2024-01-31T10:30:00Z"),
        ({"type": "DATETIME"}, "2024-01-31T10:00:00", "2024-01-31T10:00:00Z"),
        ({"type": "DATETIME"}, "2024-01-31T10:00:00.250Z", "2024-01-31T10:00:00.250Z"),
        ({"type": "DATETIME"}, "2024-01-31T10:00:00.123456Z", "2024-01-31T10:00:00.123456Z"),
        ({"type": "DATE"}, "2024-01-31", "2024-01-31"),
        ({"type": "TIME"}, "10:15", "10:15:00"),
        ({"type": "TIME"}, "10:15:30", "10:15:30"),
        ({"type": "DURATION"}, "PT5M", "PT5M"),
        ({"type": "DURATION"}, "1h30m", "PT1H30M"),
        ({"type": "DURATION"}, "PT0.5S", "PT0.5S"),
        ({"type": "DURATION"}, "P2D", "PT48H"),
        ({"type": "JSON"}, '{"a": [1, null]}', {"a": [1, None]}),
        ({"type": "JSON"}, {"already": "parsed"}, {"already": "parsed"}),
        ({"type": "YAML"}, "a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
        ({"type": "URI"}, "s3://bucket/key", "s3://bucket/key"),
        ({"type": "EMAIL"}, "ops@example.com", "ops@example.com"),
        ({"type": "ENUM", "values": ["a", "b"]}, "b", "b"),
        ({"type": "SELECT", "values": ["a", "b"]}, "a", "a"),
        ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, ["a", "c"], ["a", "c"]),
        ({"type": "ARRAY", "itemType": "INT"}, "[1, 2]", [1, 2]),
        ({"type": "ARRAY", "itemType": "DATE"}, ["2024-01-01"], ["2024-01-01"]),
        ({"type": "ARRAY", "itemType": "DURATION"}, ["PT1M", "2h"], ["PT1M", "PT2H"]),
    ],
)
def test_each_type_converts_and_is_json_ready(spec, value, expected):
    result = one(spec, value)
    assert result == expected
    assert json.loads(json.dumps(result)) == expected


def test_inputs_come_in_declaration_order_and_undeclared_keys_are_ignored():
    f = flow({"id": "b", "type": "STRING"}, {"id": "a", "type": "INT"})
    assert list(resolve_inputs(f, {"a": "1", "b": "x", "extra": "ignored"}).items()) == [("b", "x"), ("a", 1)]


def test_a_literal_default_is_used_when_no_value_is_given():
    f = flow({"id": "n", "type": "INT", "defaults": 3}, {"id": "d", "type": "DURATION", "defaults": "PT1M"})
    assert resolve_inputs(f, {}) == {"n": 3, "d": "PT1M"}


def test_a_given_value_wins_over_the_default_and_null_counts_as_not_given():
    f = flow({"id": "n", "type": "INT", "defaults": 3})
    assert resolve_inputs(f, {"n": 9}) == {"n": 9}
    assert resolve_inputs(f, {"n": None}) == {"n": 3}


def test_an_expression_default_is_rendered_then_checked():
    f = flow({"id": "n", "type": "INT", "defaults": "{{ 40 + 2 }}"},
             {"id": "who", "type": "STRING", "defaults": "{{ flow.namespace }}"})
    variables = {"flow": {"namespace": "company.team"}}
    result = resolve_inputs(f, {}, render=lambda value, inputs: render_value(value, variables))
    assert result == {"n": 42, "who": "company.team"}


def test_without_render_an_expression_default_is_used_as_written():
    f = flow({"id": "s", "type": "STRING", "defaults": "{{ now() }}"})
    assert resolve_inputs(f, {}) == {"s": "{{ now() }}"}


def test_an_expression_default_that_cannot_render_is_a_problem():
    f = flow({"id": "s", "type": "STRING", "defaults": "{{ nothing }}"})
    assert problems(f, {}, render=lambda value, inputs: render_value(value, {})) == [
        "Invalid defaults of input `s`: Unable to find `nothing` used in the expression `{{ nothing }}` at line 1"
    ]


def test_an_expression_default_rendering_to_a_bad_value_is_reported_like_a_given_one():
    f = flow({"id": "n", "type": "INT", "defaults": "{{ 'many' }}"})
    assert problems(f, {}, render=lambda value, inputs: render_value(value, {})) == [
        "Invalid input `n`: expected an integer, got 'many'"
    ]


def test_a_missing_optional_input_is_present_as_null():
    f = flow({"id": "opt", "type": "STRING", "required": False}, {"id": "n", "type": "INT", "required": False})
    assert resolve_inputs(f, {}) == {"opt": None, "n": None}


def test_a_missing_required_input_is_an_error():
    assert problems(flow({"id": "name", "type": "STRING"}), {}) == ["Missing required input `name` (STRING)"]


def test_a_required_input_with_a_default_is_not_missing():
    assert resolve_inputs(flow({"id": "name", "type": "STRING", "defaults": "x"}), {}) == {"name": "x"}


def test_every_problem_is_reported_at_once_in_declaration_order():
    f = flow(
        {"id": "count", "type": "INT"},
        {"id": "name", "type": "STRING"},
        {"id": "ok", "type": "STRING"},
        {"id": "ratio", "type": "FLOAT", "max": 1},
        {"id": "when", "type": "DATETIME"},
        {"id": "color", "type": "ENUM", "values": ["red", "blue"]},
        {"id": "wait", "type": "DURATION"},
        {"id": "flag", "type": "BOOLEAN"},
        {"id": "doc", "type": "JSON"},
    )
    given = {"count": "abc", "ok": "fine", "ratio": 2, "when": "yesterday", "color": "green", "wait": "soon",
             "flag": "maybe", "doc": "{oops"}
    with pytest.raises(InputsError) as caught:
        resolve_inputs(f, given)
    expected = [
        "Invalid input `count`: expected an integer, got 'abc'",
        "Missing required input `name` (STRING)",
        "Invalid input `ratio`: must be <= 1.0, got 2",
        "Invalid input `when`: expected an ISO-8601 date-time such as 2024-01-31T10:00:00Z, got 'yesterday'",
        "Invalid input `color`: expected one of red, blue, got 'green'",
        "Invalid input `wait`: expected an ISO-8601 duration such as PT5M, got 'soon'",
        "Invalid input `flag`: expected true or false, got 'maybe'",
        "Invalid input `doc`: expected JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1), got '{oops'",
    ]
    assert list(caught.value.problems) == expected
    assert caught.value.message == "\n".join(expected)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code is ExitCode.USAGE


def test_a_non_text_offending_value_is_shown_as_json_and_long_ones_are_cut():
    f = flow({"id": "n", "type": "INT"})
    assert problems(f, {"n": [True, None]}) == ["Invalid input `n`: expected an integer, got [true, null]"]
    (message,) = problems(f, {"n": "9" * 30 + "x" * 70})
    assert message == "Invalid input `n`: expected an integer, got '" + "9" * 30 + "x" * 26 + "..."


def test_a_date_time_beyond_the_utc_range_is_a_problem_not_a_crash():
    f = flow({"id": "when", "type": "DATETIME"})
    assert problems(f, {"when": "0001-01-01T00:00:00+05:00"}) == [
        "Invalid input `when`: the date-time is out of range once converted to UTC, got '0001-01-01T00:00:00+05:00'"
    ]


def test_a_secret_input_is_stored_encrypted_and_opens_with_the_key(encryption_key):
    from lanner import encryption

    stored = one({"type": "SECRET"}, "s3cr3t")
    assert stored["type"] == "io.kestra.datatype:aes_encrypted" and "s3cr3t" not in json.dumps(stored)
    assert encryption.decrypt(encryption_key, stored["value"]) == "s3cr3t"
    revealed: set[str] = set()
    assert render_value("{{ inputs.i }}", {"inputs": {"i": stored}}, None, revealed) == "s3cr3t"
    assert revealed == {"s3cr3t"}


def test_a_secret_input_without_a_key_is_refused_naming_the_setting(encryption_key):
    from lanner import encryption

    f = flow({"id": "token", "type": "SECRET"})
    encryption.configure(None)  # the key went away after the flow was saved
    (message,) = problems(f, {"token": "hunter2"})
    assert "lanner.encryption.secret-key" in message and "hunter2" not in message


def test_a_secret_reaching_an_input_is_kept_only_by_a_secret_input(encryption_key, monkeypatch):
    from lanner import encryption

    monkeypatch.setenv("SECRET_TOKEN", "aHVudGVyMg==")  # hunter2
    f = flow({"id": "kept", "type": "SECRET", "defaults": "{{ secret('TOKEN') }}"},
             {"id": "plain", "type": "STRING", "defaults": "token {{ secret('TOKEN') }}"},
             {"id": "given", "type": "STRING"})
    execution = new_execution(f, 1, inputs={"given": "also hunter2"}, labels={}, trigger=None, tenant_id="main",
                              now=datetime(2024, 1, 1, tzinfo=UTC))
    assert encryption.decrypt(encryption_key, execution.inputs["kept"]["value"]) == "hunter2"
    assert execution.inputs["plain"] == "token ******"
    assert execution.inputs["given"] == "also ******"  # a value given by hand is masked too once a render revealed it


def test_a_secret_value_never_appears_in_a_message(encryption_key):
    f = flow({"id": "token", "type": "SECRET", "validator": "^tok_[a-z]+$"})
    assert problems(f, {"token": "hunter2"}) == ["Invalid input `token`: does not match the validator '^tok_[a-z]+$'"]


def test_invalid_yaml_is_reported():
    (message,) = problems(flow({"id": "y", "type": "YAML"}), {"y": "a: [1"})
    assert message.startswith("Invalid input `y`: expected YAML: invalid YAML: ")


# -- dependsOn: an input asked only when its condition holds ----------------------------------

def _resource_flow(**extra: Any) -> Flow:
    return flow(
        {"id": "kind", "type": "SELECT", "values": ["vm", "bucket"]},
        {"id": "size", "type": "INT", "dependsOn": {"inputs": ["kind"], "condition": "{{ inputs.kind == 'vm' }}"},
         **extra},
    )


def test_an_input_whose_condition_is_false_is_skipped_even_when_required():
    # Skipped as in Kestra: no value at all, not null, and a value given for it is ignored.
    assert resolve_inputs(_resource_flow(), {"kind": "bucket"}) == {"kind": "bucket"}
    assert resolve_inputs(_resource_flow(), {"kind": "bucket", "size": "not even a number"}) == {"kind": "bucket"}


def test_an_input_whose_condition_is_true_is_asked_and_checked_as_usual():
    assert resolve_inputs(_resource_flow(), {"kind": "vm", "size": "4"}) == {"kind": "vm", "size": 4}
    assert problems(_resource_flow(), {"kind": "vm"}) == ["Missing required input `size` (INT)"]
    assert problems(_resource_flow(), {"kind": "vm", "size": "big"}) == [
        "Invalid input `size`: expected an integer, got 'big'"]
    assert resolve_inputs(_resource_flow(required=False), {"kind": "vm"}) == {"kind": "vm", "size": None}


def test_only_a_condition_rendering_to_true_asks_the_input():
    # Kestra compares the rendered condition with true: other truthy text does not count.
    def asked(condition: str) -> bool:
        f = flow({"id": "a", "type": "STRING"},
                 {"id": "b", "type": "STRING", "required": False,
                  "dependsOn": {"inputs": ["a"], "condition": condition}})
        return "b" in resolve_inputs(f, {"a": "yes"})

    assert asked("{{ inputs.a == 'yes' }}")
    assert asked("{{ true }}")
    assert not asked("{{ inputs.a }}")
    assert not asked("{{ 1 }}")
    assert not asked("{{ inputs.a == 'no' }}")


def test_an_input_following_a_skipped_input_is_skipped_too():
    f = flow(
        {"id": "kind", "type": "STRING"},
        {"id": "provider", "type": "STRING",
         "dependsOn": {"inputs": ["kind"], "condition": "{{ inputs.kind == 'vm' }}"}},
        {"id": "region", "type": "STRING", "dependsOn": {"inputs": ["provider"]}},
    )
    assert resolve_inputs(f, {"kind": "bucket"}) == {"kind": "bucket"}
    assert resolve_inputs(f, {"kind": "vm", "provider": "aws", "region": "eu"}) == {
        "kind": "vm", "provider": "aws", "region": "eu"}
    assert problems(f, {"kind": "vm", "provider": "aws"}) == ["Missing required input `region` (STRING)"]


def test_a_condition_sees_the_inputs_resolved_before_it_and_what_render_adds():
    f = flow({"id": "n", "type": "INT", "defaults": 3},
             {"id": "big", "type": "BOOLEAN", "defaults": True,
              "dependsOn": {"inputs": ["n"], "condition": "{{ inputs.n > vars.limit }}"}})
    render = lambda value, inputs: render_value(value, {"vars": {"limit": 2}, "inputs": inputs})  # noqa: E731
    assert resolve_inputs(f, {}, render=render) == {"n": 3, "big": True}
    assert resolve_inputs(f, {"n": 1}, render=render) == {"n": 1}


def test_a_new_execution_renders_conditions_with_its_flow_variables_and_earlier_inputs():
    condition = "{{ inputs.env == 'prod' and flow.namespace == 'company.team' }}"
    f = flow({"id": "env", "type": "STRING"},
             {"id": "approver", "type": "EMAIL", "dependsOn": {"inputs": ["env"], "condition": condition}})
    start = {"revision": 1, "labels": {}, "trigger": None, "tenant_id": "main",
             "now": datetime(2024, 1, 31, tzinfo=UTC)}
    assert new_execution(f, inputs={"env": "dev"}, **start).inputs == {"env": "dev"}
    assert new_execution(f, inputs={"env": "prod", "approver": "ops@example.com"}, **start).inputs == {
        "env": "prod", "approver": "ops@example.com"}
    with pytest.raises(InputsError, match="Missing required input `approver`"):
        new_execution(f, inputs={"env": "prod"}, **start)


def test_an_expression_default_sees_the_inputs_resolved_before_it():
    f = flow({"id": "user", "type": "STRING"},
             {"id": "greeting", "type": "STRING", "defaults": "hello {{ inputs.user }}"})
    render = lambda value, inputs: render_value(value, {"inputs": inputs})  # noqa: E731
    assert resolve_inputs(f, {"user": "ada"}, render=render) == {"user": "ada", "greeting": "hello ada"}


def test_a_condition_that_cannot_render_is_a_problem():
    f = flow({"id": "a", "type": "STRING"},
             {"id": "b", "type": "STRING", "dependsOn": {"inputs": ["a"], "condition": "{{ inputs.nope == 1 }}"}})
    assert problems(f, {"a": "x", "b": "y"}) == [
        "Invalid dependsOn condition of input `b`: Unable to find `nope` used in the expression "
        "`{{ inputs.nope == 1 }}` at line 1"
    ]


def test_an_input_following_one_with_a_problem_is_not_judged_on_a_missing_value():
    # Only the first problem is reported: whether `size` is asked depends on a value that does not exist.
    assert problems(_resource_flow(), {"kind": "tape"}) == [
        "Invalid input `kind`: expected one of vm, bucket, got 'tape'"]


# -- STRING and SECRET lengths -------------------------------------------------------------------

def test_string_lengths_are_checked_with_the_bound_named():
    f = flow({"id": "code", "type": "STRING", "minLength": 2, "maxLength": 4})
    assert resolve_inputs(f, {"code": "ab"}) == {"code": "ab"}
    assert resolve_inputs(f, {"code": "abcd"}) == {"code": "abcd"}
    assert problems(f, {"code": "a"}) == [
        "Invalid input `code`: must be at least 2 characters long (minLength), got 'a'"]
    assert problems(f, {"code": "abcde"}) == [
        "Invalid input `code`: must be at most 4 characters long (maxLength), got 'abcde'"]


def test_a_secret_too_short_is_refused_without_showing_it(encryption_key):
    f = flow({"id": "token", "type": "SECRET", "minLength": 12})
    assert problems(f, {"token": "hunter2"}) == [
        "Invalid input `token`: must be at least 12 characters long (minLength)"]


# -- FILE extensions -----------------------------------------------------------------------------

def test_a_file_input_takes_only_its_allowed_extensions():
    f = flow({"id": "upload", "type": "FILE", "allowedFileExtensions": [".csv", "txt"]})
    uri = "kestra:///company/team/f/executions/e1/inputs/upload/report.csv"
    assert resolve_inputs(f, {"upload": uri}) == {"upload": uri}
    assert resolve_inputs(f, {"upload": "/tmp/NOTES.TXT"}) == {"upload": "/tmp/NOTES.TXT"}  # case does not matter
    (message,) = problems(f, {"upload": "kestra:///company/team/f/executions/e1/inputs/upload/tool.exe"})
    assert message.startswith("Invalid input `upload`: file 'tool.exe' has none of the allowed extensions (.csv, .txt)")
    assert problems(f, {"upload": ["report.csv"]}) == [
        "Invalid input `upload`: expected a file: a kestra:/// URI or a path, got [\"report.csv\"]"]


def test_a_file_input_without_allowed_extensions_takes_any_file():
    f = flow({"id": "upload", "type": "FILE"})
    assert resolve_inputs(f, {"upload": "kestra:///a/b/tool.exe"}) == {"upload": "kestra:///a/b/tool.exe"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"), (timedelta(minutes=5), "PT5M"), (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(seconds=0.5), "PT0.5S"), (timedelta(seconds=61.25), "PT1M1.25S"), (timedelta(days=1), "PT24H"),
        (timedelta(hours=2, seconds=3), "PT2H3S"), (timedelta(microseconds=1), "PT0.000001S"),
        (-timedelta(minutes=1, seconds=3), "PT-1M-3S"),
    ],
)
def test_durations_print_as_java_does(value, text):
    assert format_duration_iso(value) == text


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10_000)))
def test_printed_durations_parse_back(value):
    assert parse_duration(format_duration_iso(value)) == value


# Fixed offsets, as ISO-8601 text carries them (a named zone's repeated DST hour compares oddly in Python).
_OFFSETS = st.builds(timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23)))


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_OFFSETS))
def test_printed_instants_are_utc_and_parse_back_to_the_same_moment(moment):
    text = format_instant(moment)
    assert text.endswith("Z")
    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == moment



def test_inputs_read_back_in_declared_order_whatever_order_they_were_stored_in():
    from lanner.engine.core.events import Job
    from lanner.engine.shell import messages
    from lanner.model.inputs import in_declared_order

    specs = flow({"id": "zeta", "type": "STRING"}, {"id": "b", "type": "STRING"}, {"id": "a", "type": "INT"}).inputs
    as_jsonb_keeps_them = {"a": 1, "b": "x", "extra": True, "zeta": "z"}  # sorted, as PostgreSQL returns them
    assert list(in_declared_order(as_jsonb_keeps_them, specs)) == ["zeta", "b", "a", "extra"]
    job = Job("e", "t", 1, {}, {"inputs": {"zeta": "z", "b": "x", "a": 1}})
    payload = messages.job_payload(job, "main", "company.team", "f")
    payload["variables"] = {"inputs": {"a": 1, "b": "x", "zeta": "z"}}  # the payload after a JSONB round trip
    assert list(messages.job_of(payload).variables["inputs"]) == ["zeta", "b", "a"]
