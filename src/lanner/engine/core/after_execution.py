"""A flow's ``afterExecution`` tasks: they run once the execution has ended, whatever its outcome (Kestra 0.22+).

The execution takes its final state from ``tasks``, ``errors`` and ``finally`` as
always (outputs and SLA assertions included).  Then ``decide`` starts the
``afterExecution`` tasks, one after the other (the first that fails stops the rest),
while the execution keeps that state: they read it (``{{ execution.state }}``, with
``runIf`` to send one message on SUCCESS and another on FAILED) and never change it,
even when they fail.  A killed execution runs them too.

An execution is *over* once its afterExecution tasks have ended as well: only then
is its end told to a waiting Subflow, its concurrency slot freed and ``wait``
answered, as Kestra does.  Each decision that ends one of them starts the next in the
same transaction, so "none of them is still going" is all it takes to be over.
"""

from __future__ import annotations

from lanner.model.execution import Execution
from lanner.model.flow import Flow


def task_ids(flow: Flow) -> frozenset[str]:
    """The ids of the flow's afterExecution tasks (their runs are top-level task runs)."""
    return frozenset(task.id for task in flow.after_execution)


def running(execution: Execution, flow: Flow) -> bool:
    """Whether one of the execution's afterExecution task runs has not ended yet."""
    ids = task_ids(flow)
    return bool(ids) and any(run.task_id in ids and not run.current.terminal for run in execution.task_runs)


def over(execution: Execution, flow: Flow) -> bool:
    """Whether the execution has ended, its afterExecution tasks included."""
    return execution.current.terminal and not running(execution, flow)
