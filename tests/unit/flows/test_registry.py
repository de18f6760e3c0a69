"""Type names: Kestra's names, their aliases (case-insensitive), plugins from entry points and folders."""

from importlib.metadata import entry_points

import pytest

from lanner.flows.registry import BASES, ENTRY_POINT_GROUP, PluginError, build_registry, default_registry
from lanner.flows.validator import validate_source
from lanner.model.task import ConditionSpec, TaskSpec, TriggerSpec
from lanner.tasks import core


def all_types():
    return list(core.TYPES)


@pytest.mark.parametrize("cls", all_types(), ids=lambda c: c.TYPE)
def test_every_name_and_alias_resolves_case_insensitively(cls):
    registry = default_registry()
    base = next(b for b in BASES if issubclass(cls, b))
    for name in (cls.TYPE, *cls.ALIASES):
        for spelling in (name, name.lower(), name.upper()):
            resolved = registry.resolve(base, spelling)
            assert resolved is not None and resolved.cls is cls
            assert (resolved.alias is not None) == (name in cls.ALIASES)


def test_the_core_names_kestra_flows_use():
    registry = default_registry()
    for name in ["io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log", "io.kestra.core.tasks.flows.Parallel",
                 "io.kestra.plugin.core.flow.ForEach", "io.kestra.plugin.scripts.shell.Commands",
                 "io.kestra.plugin.scripts.python.Script", "io.kestra.plugin.fs.http.Request",
                 "io.kestra.core.tasks.flows.Flow", "io.kestra.plugin.core.kv.Set"]:
        assert registry.resolve(TaskSpec, name) is not None, name
    for name in ["io.kestra.core.models.triggers.types.Schedule", "io.kestra.plugin.core.trigger.ScheduleOnDates",
                 "io.kestra.plugin.core.trigger.Webhook", "io.kestra.plugin.core.trigger.Flow"]:
        assert registry.resolve(TriggerSpec, name) is not None, name
    assert registry.resolve(ConditionSpec, "io.kestra.core.models.conditions.types.ExecutionStatusCondition") is not None
    assert registry.resolve(TriggerSpec, "io.kestra.plugin.core.log.Log") is None  # kinds do not mix


def test_core_types_are_declared_as_an_entry_point():
    declared = {entry.value for entry in entry_points(group=ENTRY_POINT_GROUP)}
    assert "lanner.tasks.core" in declared


def test_alias_use_is_a_deprecation_naming_the_replacement():
    result = validate_source("id: f\nnamespace: n\ntasks:\n  - id: t\n    type: IO.KESTRA.CORE.TASKS.LOG.LOG\n    message: m\n")
    assert result.valid
    assert [p.message for p in result.problems] == [
        "`IO.KESTRA.CORE.TASKS.LOG.LOG` is replaced by `io.kestra.plugin.core.log.Log`"]


PLUGIN = '''
from lanner.tasks.runnable import RunnableTask, TaskOutput

class Shout(RunnableTask):
    TYPE = "com.example.Shout"
    ALIASES = ("com.example.legacy.Shout",)
    text: str
    times: int = 1

    def run(self, context):
        return TaskOutput({})

TYPES = [Shout]
'''


def test_plugins_folder_adds_types(tmp_path):
    (tmp_path / "shout.py").write_text(PLUGIN)
    registry = build_registry(tmp_path, entry_points=False)
    source = "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: com.example.Shout\n    text: hi\n    times: x\n"
    result = validate_source(source, "f.yml", registry)
    assert [p.format() for p in result.problems] == [
        "f.yml:7:5: error: tasks[0].times: expected an integer or an expression, got the string 'x'"]
    assert validate_source(source.replace("times: x", "times: 2"), registry=registry).valid


def test_plugin_clashing_with_a_core_name_is_refused(tmp_path):
    (tmp_path / "clash.py").write_text(PLUGIN.replace("com.example.Shout", "io.kestra.plugin.core.log.Log", 1))
    with pytest.raises(PluginError, match="io.kestra.plugin.core.log.Log is declared by both"):
        build_registry(tmp_path, entry_points=False)


def test_broken_plugin_file_is_named(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match="broken.py: boom"):
        build_registry(tmp_path, entry_points=False)


def test_plugin_module_without_types_is_refused(tmp_path):
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(PluginError, match="has no TYPES list"):
        build_registry(tmp_path, entry_points=False)
