"""JSON, YAML and jq: the toJson/json/yaml filters, the fromJson/json/yaml functions, jq."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.expr.helpers import fails, r


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ [1, 2, 3] | toJson }}", "[1,2,3]"),
        ("{{ true | toJson }}", "true"),
        ("{{ 'foo' | toJson }}", '"foo"'),
        ("{{ null | toJson }}", "null"),
        ("{{ {'a': 'é'} | json }}", '{"a":"é"}'),
        ("{{ 'a\"b\nc' | jsonEncode }}", '"a\\"b\\nc"'),
    ],
)
def test_to_json(template: str, expected: str) -> None:
    assert r(template) == expected


def test_to_json_writes_datetimes_as_iso_strings() -> None:
    moment = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert r("{{ {'at': d} | toJson }}", d=moment) == '{"at":"2024-05-01T10:00:00Z"}'


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ fromJson('[1, 2, 3]')[0] }}", "1"),
        ("{{ fromJson('{\"foo\": [666, 1, 2]}').foo[0] }}", "666"),
        ('{{ json(\'{"a": {"b": true}}\').a.b }}', "true"),
        ("{{ jsonDecode('null') is null }}", "true"),
        ("{{ yaml('foo: [666, 1, 2]').foo[0] }}", "666"),
        ("{{ yaml('a: 1\nb: x') }}", '{"a":1,"b":"x"}'),
    ],
)
def test_reading_documents(template: str, expected: str) -> None:
    assert r(template) == expected


def test_reading_bad_documents_fails_without_quoting_them() -> None:
    message = fails("{{ fromJson(doc) }}", "not valid JSON", doc="{token: hunter2")
    assert "hunter2" not in message
    fails("{{ fromJson(12) }}", "expects a string, not a integer")
    fails("{{ yaml('a: [1') }}", "not valid YAML")
    fails("{{ yaml(3) }}", "expects a string")


def test_yaml_loading_is_safe() -> None:
    fails("{{ yaml('!!python/object/apply:os.system [\"echo hi\"]') }}", "unsupported YAML tag")


def test_yaml_reading_caps_alias_expansion_and_depth_as_flow_loading_does() -> None:
    """A 300-byte "billion laughs" document fails at once instead of exhausting memory."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    assert len(bomb) < 1000
    fails("{{ yaml(doc) }}", "expands to more than", doc=bomb)
    fails("{{ yaml(doc) }}", "nests deeper than", doc="[" * 150 + "]" * 150)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ {'key': 'value'} | yaml }}", "key: value\n"),
        ("{{ {'a': [1, 2], 'b': {'c': null}} | yaml }}", "a:\n  - 1\n  - 2\nb:\n  c: null\n"),
        ("{{ 'foo' | yaml }}", "foo\n"),
        ("{{ null | yaml }}", "null"),
        ("{{ labels | yaml | indent(4) }}", "env: prod\n    team: data\n    "),
    ],
)
def test_yaml_filter_writes_yaml(template: str, expected: str) -> None:
    assert r(template, labels={"env": "prod", "team": "data"}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ [1, 2, 3] | jq('.') }}", "[[1,2,3]]"),
        ("{{ [1, 2, 3] | jq('.[0]') | first }}", "1"),
        ("{{ [1, 2, 3] | jq('.[]') }}", "[1,2,3]"),
        ("{{ outputs | jq('.task1.value') | first }}", "1"),
        ("{{ scores | values | jq('reduce .[] as $num (0; .+$num)') | first }}", "431"),
        ("{{ '{\"a\": {\"b\": 2}}' | jq('.a.b') | first }}", "2"),  # a string is read as JSON
        ("{{ null | jq('.') is null }}", "true"),
        ("{{ {'at': d} | jq('.at') | first }}", "2024-05-01T10:00:00Z"),
        ("{{ [] | jq('.[]') }}", "[]"),
    ],
)
def test_jq_returns_the_list_of_results(template: str, expected: str) -> None:
    context = {
        "outputs": {"task1": {"value": 1, "text": "awesome1"}, "task2": {"value": 2}},
        "scores": {"English": 72, "Maths": 88, "French": 95, "Spanish": 85, "Science": 91},
        "d": datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
    }
    assert r(template, **context) == expected


def test_jq_errors() -> None:
    fails("{{ [1] | jq('.[') }}", "does not compile")
    fails("{{ 5 | jq('.a') }}", "the `jq` filter failed on a integer input")
    fails("{{ 'not json' | jq('.') }}", "the `jq` filter failed on a string input")
    fails("{{ [1] | jq }}", "expects an argument `expression`")
    fails("{{ 1 | jq('repeat(1)') }}", "more than 100000 results")


def test_an_endless_jq_program_is_stopped_and_the_next_one_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from lanner.expr import jq_process

    monkeypatch.setattr(jq_process, "TIMEOUT", 0.5)
    fails("{{ 1 | jq('until(false; .)') }}", "ran longer than 0.5 s and was stopped")
    assert r("{{ [1, 2] | jq('.[1]') | first }}") == "2"  # a fresh jq process serves the next render


def test_a_jq_program_that_grows_too_large_is_stopped_and_the_next_one_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from lanner.expr import jq_process

    monkeypatch.setattr(jq_process, "MEMORY_LIMIT", 256 * 1024 * 1024)
    jq_process.RUNNER.close()  # children start with the limit in force when they start
    try:
        fails("{{ 1 | jq('[range(1000000000)]') }}", "needed more than 256 MB of memory and was stopped")
        assert r("{{ [1, 2] | jq('length') | first }}") == "2"
    finally:
        jq_process.RUNNER.close()


def test_jq_sees_an_empty_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANNER_DATABASE_PASSWORD", "hunter2")
    from lanner.expr import jq_process

    jq_process.RUNNER.close()
    assert r("{{ {} | jq('$ENV') | first }}") == "{}"
    assert r("{{ {} | jq('env') | first }}") == "{}"

