"""lanner flow migrate's rewrite: current syntax, every other byte kept, idempotent, careful."""

from __future__ import annotations

import pytest

from lanner.flows.problems import Severity
from lanner.flows.registry import default_registry
from lanner.flows.validator import validate_source
from lanner.model.task import ConditionSpec, TaskSpec, TriggerSpec
from lanner.upgrade.rewrite import rewrite_source

OLD = """\
# An old-style flow: keep this comment
id: legacy   # and this one
namespace: company.team

taskDefaults:
  - type: io.kestra.core.tasks.flows.Sequential   # defaults for groups
    values:
      disabled: false

tasks:
  - id: hello
    type: io.kestra.core.tasks.log.Log
    message: "Hello"   # greeting
  - id: loop
    type: "io.kestra.core.tasks.flows.EachParallel"
    value: ["a", "b"]
    concurrent: 3
    tasks:
      - id: inner
        type: io.kestra.core.tasks.debugs.Echo
        format: "{{ taskrun.value }}"

  - id: seq
    type: io.kestra.plugin.core.flow.EachSequential
    value:
      - 1
      - 2
    tasks:
      - id: r
        type: io.kestra.core.tasks.debugs.Return
        format: x

triggers:
  - id: on_upstream
    type: io.kestra.core.models.triggers.types.Flow
    conditions:
      - type: io.kestra.core.models.conditions.types.ExecutionStatusCondition
        in: [SUCCESS]
"""


def deprecations(source):
    return [p for p in validate_source(source).problems if p.severity is Severity.DEPRECATION]


def test_old_syntax_becomes_current_and_nothing_else_changes():
    result = rewrite_source(OLD)
    assert result.refused == [] and result.changed
    new = result.new_source
    assert deprecations(OLD) and deprecations(new) == []
    assert validate_source(new).valid
    # Comments, quoting, blank lines and key order are kept: only the intended lines differ.
    old_lines, new_lines = OLD.splitlines(), new.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert ('    type: "io.kestra.core.tasks.flows.EachParallel"',
            '    type: "io.kestra.plugin.core.flow.ForEach"') in changed
    assert ("    concurrent: 3", "    concurrencyLimit: 3") in changed
    assert ('        format: "{{ taskrun.value }}"', '        message: "{{ taskrun.value }}"') in changed
    assert ("taskDefaults:", "pluginDefaults:") in changed
    assert ("  - type: io.kestra.core.tasks.flows.Sequential   # defaults for groups",
            "  - type: io.kestra.plugin.core.flow.Sequential   # defaults for groups") in changed
    assert "        format: x" in new_lines  # Return keeps its format property
    assert len(changed) == 13
    for line in ("# An old-style flow: keep this comment", "id: legacy   # and this one",
                 '    message: "Hello"   # greeting'):
        assert line in new_lines


def test_second_run_changes_nothing():
    once = rewrite_source(OLD).new_source
    again = rewrite_source(once)
    assert not again.changed and again.refused == [] and again.changes == []


def test_each_parallel_without_concurrent_gets_unlimited_foreach():
    source = ("id: f\nnamespace: n\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.EachParallel\n"
              "    value: '[1, 2, 3]'\n    tasks:\n      - id: t\n        type: io.kestra.plugin.core.log.Log\n"
              "        message: '{{ taskrun.value }}'\n")
    result = rewrite_source(source)
    flow = validate_source(result.new_source).flow
    loop = flow.tasks[0]
    assert loop.TYPE == "io.kestra.plugin.core.flow.ForEach"
    assert loop.concurrency_limit == 0 and loop.values == "[1, 2, 3]"


def test_each_sequential_keeps_foreach_default_of_one():
    source = ("id: f\nnamespace: n\ntasks:\n  - id: each\n    type: io.kestra.core.tasks.flows.EachSequential\n"
              "    value: [1, 2]\n    tasks:\n      - id: t\n        type: io.kestra.plugin.core.log.Log\n"
              "        message: x\n")
    loop = validate_source(rewrite_source(source).new_source).flow.tasks[0]
    assert loop.TYPE == "io.kestra.plugin.core.flow.ForEach" and loop.concurrency_limit == 1


@pytest.mark.parametrize("source, reason", [
    ("id: f\nnamespace: n\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.EachParallel\n"
     "    value: [1]\n    tasks:\n      - id: a\n        type: io.kestra.plugin.core.log.Log\n        message: x\n"
     "      - id: b\n        type: io.kestra.plugin.core.log.Log\n        message: y\n", "has 2 tasks"),
    ("id: f\nnamespace: n\npluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values: {level: WARN}\n"
     "tasks:\n  - id: e\n    type: io.kestra.plugin.core.debug.Echo\n    format: x\n", "plugin defaults"),
    ("id: f\nnamespace: n\ntaskDefaults: []\npluginDefaults: []\ntasks:\n  - id: a\n"
     "    type: io.kestra.core.tasks.log.Log\n    message: x\n", "both taskDefaults and pluginDefaults"),
    ("id: f\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.core.tasks.log.Log\n", "does not validate"),
])
def test_a_flow_whose_meaning_could_change_is_left_alone(source, reason):
    result = rewrite_source(source)
    assert not result.changed and result.refused and reason in result.refused[0]


def test_every_alias_in_the_registry_is_rewritten_to_its_current_name():
    registry = default_registry()
    for base, where in ((TaskSpec, "tasks"), (TriggerSpec, "triggers"), (ConditionSpec, "conditions")):
        for cls in registry.types(base):
            for alias in cls.ALIASES:
                from ruamel.yaml import YAML

                from lanner.upgrade.rewrite import _Planner

                source = f"{where}:\n  - type: {alias}\n"
                planner = _Planner(source, registry)
                planner.walk(YAML(typ="rt").load(source)[where], where, base)
                replaced = planner.apply()
                assert alias not in replaced, (alias, replaced)
