"""What the executor renders is masked before a decision leaves decide (lanner.engine.core.masking)."""

from __future__ import annotations

import base64

import pytest

from lanner import encryption
from lanner.engine.core.decide import Decision
from lanner.engine.core.masking import masked_decision
from lanner.model.state import State
from tests.unit.engine.sim import Simulation

PASSWORD = "opensesame-Ω"

FLOW = """id: f
namespace: company.team
inputs:
  - id: password
    type: SECRET
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.password == 'opensesame-Ω' }}"
    then:
      - id: seen
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.check ?? 'none' }}"
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    wait: false
    inputs:
      token: "{{ inputs.password }}"
    labels:
      origin: "from {{ inputs.password }}"
outputs:
  - id: kept
    type: SECRET
    value: "{{ inputs.password }}"
  - id: copied
    type: STRING
    value: "copy {{ inputs.password }}"
"""


def _everything(sim: Simulation) -> str:
    return repr([(d.execution, d.notes, d.jobs, d.children) for d in sim.decisions])


def test_flow_outputs_conditions_and_subflow_requests_are_masked(encryption_key):
    sim = Simulation.of(FLOW, {"password": PASSWORD})
    execution = sim.run()
    assert execution.current is State.SUCCESS, [n.message for n in sim.notes]
    assert sim.run_of("seen").current is State.SUCCESS  # the condition saw the clear value
    assert encryption.decrypt(encryption_key, execution.outputs["kept"]["value"]) == PASSWORD
    assert execution.outputs["copied"] == "copy ******"
    (child,) = [child for d in sim.decisions for child in d.children]
    assert child.inputs == {"token": PASSWORD}  # a child's SECRET input needs it: masked when the child is created
    assert PASSWORD in child.secrets and child.labels == {"origin": "from ******"}
    everything = _everything(sim).replace(repr(child.inputs), "").replace(repr(child.secrets), "")
    assert "opensesame" not in everything


def test_an_output_error_never_shows_the_secret(encryption_key):
    sim = Simulation.of(FLOW + '  - id: broken\n    type: INT\n    value: "{{ inputs.password }}"\n', {"password": PASSWORD})
    execution = sim.run()
    assert execution.current is State.FAILED
    assert "Invalid output `broken` (INT): expected an integer, got '******'; fix its value, or declare the type " \
           "it has" in [n.message for n in sim.notes]
    assert "opensesame" not in repr(sim.notes)


def test_secret_function_values_rendered_by_the_executor_are_masked():
    # decide reads secrets from the environment its caller gives, not the process's
    sim = Simulation.of("id: f\nnamespace: company.team\ntasks:\n"
                        "  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
                        "outputs:\n  - id: o\n    type: STRING\n    value: \"{{ secret('TOKEN') }}!\"\n",
                        environ={"SECRET_TOKEN": base64.b64encode(b"hunter2").decode()})
    execution = sim.run()
    assert execution.outputs == {"o": "******!"}
    assert "hunter2" not in _everything(sim)


def test_a_decision_that_revealed_nothing_is_left_as_it_is():
    sim = Simulation.of("id: f\nnamespace: company.team\ntasks:\n"
                        "  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n")
    sim.run()
    decision: Decision = sim.decisions[-1]
    assert masked_decision(decision, set()) is decision


def test_a_triggers_labels_mask_the_secrets_they_reveal(monkeypatch: pytest.MonkeyPatch):
    from lanner.engine.core.variables import rendered_labels

    monkeypatch.setenv("SECRET_TOKEN", base64.b64encode(b"hunter2").decode())
    labels = rendered_labels({"token": "t-{{ secret('TOKEN') }}", "day": "{{ trigger.date }}"},
                             {"trigger": {"date": "2024-01-31"}})
    assert labels == {"token": "t-******", "day": "2024-01-31"}
