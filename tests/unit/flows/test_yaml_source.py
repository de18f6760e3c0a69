"""Untrusted YAML: plain data only, positions kept, bombs and object tags refused."""

import time

import pytest

from lanner.plain_yaml import MAX_VALUES, YamlError, parse


def test_plain_values_and_positions():
    document = parse("id: x\ntasks:\n  - id: a\n    n: 3\n    f: 1.5\n    b: true\n    z: ~\n    s: yes\n")
    assert document.data == {"id": "x", "tasks": [{"id": "a", "n": 3, "f": 1.5, "b": True, "z": None, "s": "yes"}]}
    assert document.position(("tasks", 0, "n")) == (4, 5)
    assert document.position(("tasks", 0)) == (3, 5)
    assert document.position(("tasks", 0, "absent")) == (3, 5)  # falls back to the nearest parent


def test_quoted_numbers_stay_strings():
    assert parse("a: '1'\nb: \"true\"\n").data == {"a": "1", "b": "true"}


def test_merge_keys_and_aliases_are_followed():
    document = parse("base: &b {level: WARN, n: 1}\ntask:\n  <<: *b\n  n: 2\n")
    assert document.data["task"] == {"n": 2, "level": "WARN"}


def test_duplicate_keys_are_errors():
    with pytest.raises(YamlError) as caught:
        parse("a: 1\nb: 2\na: 3\n")
    assert (caught.value.message, caught.value.line) == ("duplicate key 'a' (first set at line 1)", 3)


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['id']\n",
    "a: !!python/name:os.system\n",
    "a: !custom 1\n",
    "!!python/object:collections.OrderedDict {}\n",
])
def test_object_constructing_tags_are_refused(text):
    with pytest.raises(YamlError, match="unsupported YAML tag"):
        parse(text)


def test_billion_laughs_is_refused_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]")
        previous = name
    started = time.perf_counter()
    with pytest.raises(YamlError, match=f"more than {MAX_VALUES} values"):
        parse("\n".join(lines))
    assert time.perf_counter() - started < 5  # generous: a bomb must fail in bounded time, not hang


def test_syntax_errors_carry_a_position():
    with pytest.raises(YamlError) as caught:
        parse("a: [1, 2\nb: 3\n")
    assert caught.value.line is not None and caught.value.message.startswith("invalid YAML")


def test_empty_document():
    assert parse("").data is None
    assert parse("# only a comment\n").data is None


def test_a_nul_character_is_refused_where_it_is_written():
    with pytest.raises(YamlError, match="NUL character") as caught:
        parse('id: x\nmessage: "a\\0b"\n')
    assert (caught.value.line, caught.value.column) == (2, 10)
