"""Building a new execution: the one way every execution comes to be, whoever starts it.

The API and the CLI (:mod:`lanner.engine.shell.service`), the scheduler's triggers and a parent's
Subflow task (:mod:`lanner.engine.shell.children`) all create an execution the same way: CREATED
now, of a flow revision, with the flow's labels under the caller's, and its inputs
resolved against the flow's declarations (defaults and ``dependsOn`` rendered with the
execution's own variables).  Nothing is stored here: the callers store and start it in
their own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lanner.engine.core.inputs import resolve_inputs
from lanner.engine.core.variables import flow_variables
from lanner.expr import render_value
from lanner.model.execution import Execution, new_id
from lanner.model.state import State, StateHistory

if TYPE_CHECKING:
    from datetime import datetime

    from lanner.model.flow import Flow


def new_execution(flow: Flow, revision: int, *, inputs: Mapping[str, Any], labels: Mapping[str, str],
                  trigger: dict[str, Any] | None, tenant_id: str, now: datetime, execution_id: str | None = None,
                  parent_id: str | None = None, secrets: Iterable[str] = ()) -> Execution:
    """A CREATED execution of ``flow`` with its inputs resolved (raises InputsError listing every problem).

    ``execution_id``: the id decided beforehand (a Subflow's child), else a new one.
    ``secrets``: values already revealed to whoever asks (a parent's ``secret()`` renders),
    masked in the inputs unless a SECRET input holds them, as the renders' own are.
    """
    known: dict[str, Any] = {
        "id": execution_id or new_id(), "namespace": flow.namespace, "flow_id": flow.id, "flow_revision": revision,
        "state": StateHistory.start(State.CREATED, now), "tenant_id": tenant_id,
        "labels": {**flow.labels, **labels}, "trigger": trigger, "parent_id": parent_id}
    context: dict[str, Any] = {}
    revealed = set(secrets)  # and the secret() values a default or a condition uses: masked but in SECRET inputs

    def render(value: Any, inputs: Mapping[str, Any]) -> Any:
        if not context:  # built only for an input with an expression (most have none)
            context.update(flow_variables(flow, Execution(**known), {}))
        return render_value(value, {**context, "inputs": dict(inputs)}, None, revealed)

    # Built once, inputs included: schedulers create thousands at a time.
    return Execution(**known, inputs=resolve_inputs(flow, inputs, render=render, secrets=revealed))
