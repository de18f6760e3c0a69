"""kv.Set, kv.Get, kv.GetKeys and kv.Delete: what they render, what they ask the store, how they fail.

The store here is an in-memory stand-in that types values and checks keys with the
real store's pure functions; the database side is tested in
tests/integration/test_kv_repository.py and end to end in test_engine_kv.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lanner.flows.registry import default_registry
from lanner.model.task import TaskSpec
from lanner.store.kv_repository import KVError, check_key, check_namespace, decoded, typed_value
from lanner.tasks.core.kv import KvDelete, KvGet, KvGetKeys, KvSet
from lanner.tasks.runnable import TaskFailure, TaskOutput
from tests.unit.tasks.fake_context import FakeContext, task


class MemoryKV:
    """The KVStore interface over a dict: (namespace, key) -> (value, type, ttl, description)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[Any, str, timedelta | None, str | None]] = {}

    def set(self, namespace: str, key: str, value: Any, *, kv_type: str | None = None,
            ttl: timedelta | None = None, overwrite: bool = True, description: str | None = None) -> None:
        check_namespace(namespace)
        check_key(key)
        stored, resolved = typed_value(key, value, kv_type)
        if not overwrite and (namespace, key) in self.entries:
            raise KVError(f"Cannot set the KV key '{key}': it already exists", "Set overwrite: true.")
        self.entries[namespace, key] = (decoded(stored, resolved), resolved.value, ttl, description)

    def get(self, namespace: str, key: str) -> Any:
        found = self.entries.get((namespace, check_key(key)))
        return None if found is None else found[0]

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        return sorted(k for n, k in self.entries if n == namespace and (prefix is None or k.startswith(prefix)))

    def delete(self, namespace: str, key: str) -> bool:
        check_key(key)
        return self.entries.pop((namespace, key), None) is not None


def context_with_store(variables: dict[str, Any] | None = None) -> FakeContext:
    context = FakeContext(variables or {})
    context.kv = MemoryKV()
    return context


# --- Set ---------------------------------------------------------------------------------------

def test_set_renders_key_and_value_and_defaults_to_the_flows_namespace():
    context = context_with_store({"inputs": {"name": "ada"}})
    result = task(KvSet, key="user_{{ inputs.name }}", value="hello {{ inputs.name }}").run(context)
    assert result == TaskOutput()
    assert context.kv.entries == {("company.team", "user_ada"): ("hello ada", "STRING", None, None)}


def test_set_infers_the_type_from_yaml_values_and_renders_inside_structures():
    context = context_with_store({"n": 3})
    task(KvSet, key="count", value=42).run(context)
    task(KvSet, key="flag", value=False).run(context)
    task(KvSet, key="config", value={"size": "{{ n }}", "tags": ["a", "{{ n * 2 }}"]}).run(context)
    entries = context.kv.entries
    assert entries["company.team", "count"][:2] == (42, "NUMBER")
    assert entries["company.team", "flag"][:2] == (False, "BOOLEAN")
    assert entries["company.team", "config"][:2] == ({"size": "3", "tags": ["a", "6"]}, "JSON")


@pytest.mark.parametrize(("kv_type", "value", "stored"), [
    ("NUMBER", "{{ 40 + 2 }}", 42),
    ("NUMBER", "2.5", 2.5),
    ("BOOLEAN", "{{ true }}", True),
    ("JSON", '{"a": [1, 2]}', {"a": [1, 2]}),
    ("DATE", "2024-05-01", "2024-05-01"),
    ("DATETIME", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ("DURATION", "PT90M", "PT1H30M"),
    ("STRING", 42, "42"),
])
def test_kv_type_converts_the_rendered_value(kv_type, value, stored):
    context = context_with_store()
    task(KvSet, key="k", value=value, kvType=kv_type).run(context)
    assert context.kv.entries["company.team", "k"][:2] == (stored, kv_type)


def test_kv_type_ttl_overwrite_and_description_may_be_expressions():
    context = context_with_store({"inputs": {"type": "NUMBER", "ttl": "PT1H", "again": "false", "about": "why"}})
    task(KvSet, key="k", value="7", kvType="{{ inputs.type }}", ttl="{{ inputs.ttl }}",
         overwrite="{{ inputs.again }}", kvDescription="{{ inputs.about }}").run(context)
    assert context.kv.entries["company.team", "k"] == (7, "NUMBER", timedelta(hours=1), "why")


def test_set_writes_to_another_namespace_when_told():
    context = context_with_store({"env": "prod"})
    task(KvSet, key="k", value="v", namespace="company.{{ env }}", ttl="PT5M").run(context)
    assert context.kv.entries == {("company.prod", "k"): ("v", "STRING", timedelta(minutes=5), None)}


def test_a_value_that_does_not_match_its_kv_type_fails_naming_key_type_and_value():
    context = context_with_store()
    with pytest.raises(TaskFailure) as caught:
        task(KvSet, key="price", value="cheap", kvType="NUMBER").run(context)
    assert str(caught.value).startswith("Cannot store the KV key 'price' as NUMBER: 'cheap' is not a number")
    assert context.kv.entries == {}


def test_overwrite_false_fails_when_the_key_exists():
    context = context_with_store()
    task(KvSet, key="k", value="first").run(context)
    with pytest.raises(TaskFailure, match="'k'.*already exists"):
        task(KvSet, key="k", value="second", overwrite=False).run(context)
    assert context.kv.entries["company.team", "k"][0] == "first"


@pytest.mark.parametrize("key", ["has space", "{{ 'a/b' }}", "-leading"])
def test_an_invalid_key_fails_with_the_rule(key):
    with pytest.raises(TaskFailure, match="Invalid KV key .*starts with a letter or a digit"):
        task(KvSet, key=key, value="v").run(context_with_store())


def test_a_ttl_that_renders_to_no_duration_fails_the_task():
    context = context_with_store({"ttl": "soon"})
    with pytest.raises(TaskFailure, match="`ttl` rendered to 'soon'"):
        task(KvSet, key="k", value="v", ttl="{{ ttl }}").run(context)


def test_overwrite_must_render_to_a_boolean():
    with pytest.raises(TaskFailure, match="`overwrite` must be true or false, not 'maybe'"):
        task(KvSet, key="k", value="v", overwrite="{{ 'maybe' }}").run(context_with_store())


def test_an_unknown_kv_type_is_refused_when_the_flow_is_validated():
    with pytest.raises(ValueError, match="kvType"):
        task(KvSet, key="k", value="v", kvType="INTEGER")


# --- Get ---------------------------------------------------------------------------------------

def test_get_outputs_the_typed_value():
    context = context_with_store()
    context.kv.set("company.team", "k", {"a": 1})
    assert task(KvGet, key="k").run(context).outputs == {"value": {"a": 1}}


def test_get_reads_another_namespace():
    context = context_with_store({"ns": "company.other"})
    context.kv.set("company.other", "k", 5)
    assert task(KvGet, key="k", namespace="{{ ns }}").run(context).outputs == {"value": 5}


def test_get_of_a_missing_key_outputs_null_by_default():
    assert task(KvGet, key="absent").run(context_with_store()).outputs == {"value": None}


@pytest.mark.parametrize("flag", [True, "{{ true }}"])
def test_get_with_error_on_missing_fails_naming_key_and_namespace(flag):
    with pytest.raises(TaskFailure) as caught:
        task(KvGet, key="absent", errorOnMissing=flag).run(context_with_store())
    assert str(caught.value) == ("No value found for the KV key 'absent' in the namespace 'company.team' "
                                 "and errorOnMissing is true")


# --- GetKeys -----------------------------------------------------------------------------------

def test_get_keys_lists_the_namespaces_keys_with_a_prefix():
    context = context_with_store({"p": "my_"})
    for key in ("my_b", "my_a", "other"):
        context.kv.set("company.team", key, 1)
    context.kv.set("company.elsewhere", "my_c", 1)
    assert task(KvGetKeys, prefix="{{ p }}").run(context).outputs == {"keys": ["my_a", "my_b"]}
    assert task(KvGetKeys).run(context).outputs == {"keys": ["my_a", "my_b", "other"]}
    assert task(KvGetKeys, namespace="company.elsewhere").run(context).outputs == {"keys": ["my_c"]}
    assert task(KvGetKeys, prefix="none_").run(context).outputs == {"keys": []}


def test_get_keys_is_a_registered_type():
    resolved = default_registry().resolve(TaskSpec, "io.kestra.plugin.core.kv.GetKeys")
    assert resolved is not None and resolved.cls is KvGetKeys


# --- Delete ------------------------------------------------------------------------------------

def test_delete_outputs_whether_a_value_was_deleted():
    context = context_with_store()
    context.kv.set("company.team", "k", "v")
    assert task(KvDelete, key="k").run(context).outputs == {"deleted": True}
    assert task(KvDelete, key="k").run(context).outputs == {"deleted": False}
    assert context.kv.entries == {}


def test_delete_with_error_on_missing_fails():
    with pytest.raises(TaskFailure, match="No value found for the KV key 'k' in the namespace 'company.team'"):
        task(KvDelete, key="k", errorOnMissing=True).run(context_with_store())
