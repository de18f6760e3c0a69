"""Task kinds are base classes: every type has exactly one, and the engine dispatches on them alone."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from lanner.flows.registry import PluginError, build_registry, default_registry
from lanner.model.state import State
from lanner.model.task import TaskSpec
from lanner.tasks.executable import ExecutableTask
from lanner.tasks.flowable import FlowableTask
from lanner.tasks.runnable import RunnableTask
from tests.unit.engine.sim import Simulation

KINDS = (RunnableTask, FlowableTask, ExecutableTask)
ENGINE = Path(__file__).resolve().parents[3] / "src" / "lanner" / "engine"


def test_every_registered_task_type_has_exactly_one_kind():
    types = default_registry().types(TaskSpec)
    assert types
    for cls in types:
        assert [kind for kind in KINDS if issubclass(cls, kind)] in ([kind] for kind in KINDS), cls.TYPE
        assert not inspect.isabstract(cls), f"{cls.TYPE} leaves abstract methods: {cls.__abstractmethods__}"


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda path: str(path.relative_to(ENGINE)))
def test_the_engine_asks_tasks_nothing_by_name(path):
    source = path.read_text()
    # A task's capabilities are its base class's methods: no probing for attributes, no type names.
    assert not re.search(r"\b(hasattr|getattr)\(\s*(task|self\.tasks|tasks\.get)", source)
    assert "io.kestra" not in source
    assert "TaskKind" not in source and ".KIND" not in source


BARE = '''
from lanner.model.task import TaskSpec

class Bare(TaskSpec):
    TYPE = "com.example.Bare"

TYPES = [Bare]
'''

HALF = '''
from lanner.tasks.runnable import RunnableTask

class Half(RunnableTask):
    TYPE = "com.example.Half"

TYPES = [Half]
'''


def test_a_plugin_task_type_of_no_kind_is_refused_when_loaded(tmp_path):
    (tmp_path / "bare.py").write_text(BARE)
    with pytest.raises(PluginError, match=r"bare.Bare \(com.example.Bare\) must subclass exactly one task kind: "
                                          r"lanner.tasks.runnable.RunnableTask"):
        build_registry(tmp_path, entry_points=False)


def test_a_runnable_plugin_type_without_run_is_refused_when_loaded(tmp_path):
    (tmp_path / "half.py").write_text(HALF)
    with pytest.raises(PluginError, match=r"half.Half \(com.example.Half\) does not implement run, which a "
                                          r"RunnableTask must"):
        build_registry(tmp_path, entry_points=False)


def test_an_executable_type_lanner_cannot_run_yet_fails_its_task_run():
    sim = Simulation.of("id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.flow.ForEachItem\n"
                        "    items: '{{ inputs.file }}'\n    namespace: n\n    flowId: child\n")
    assert sim.run().current is State.FAILED
    assert not sim.decisions[0].children
    assert [note.message for note in sim.notes] == [
        "io.kestra.plugin.core.flow.ForEachItem is not supported by this version of Lanner yet"]


def test_a_subflow_child_records_its_starting_task_type_in_its_trigger():
    sim = Simulation.of("id: f\nnamespace: n\ntasks:\n  - id: call\n    type: io.kestra.core.tasks.flows.Flow\n"
                        "    namespace: n\n    flowId: child\n")
    sim.run()
    child = sim.decisions[0].children[0]
    # The canonical name, whichever alias the flow used: Kestra's trigger type for a Subflow's child.
    assert child.started_by == "io.kestra.plugin.core.flow.Subflow"
