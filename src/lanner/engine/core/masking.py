"""Secrets out of what the executor records: the one place a decision is masked.

The worker masks what a task run records (:mod:`lanner.engine.shell.worker`).  The executor
renders expressions too: flow outputs, ``runIf``, ``If`` conditions, a Subflow's
inputs and labels, SLA assertions.  Each of those renders goes through
``decide``'s one render method, which collects every secret value revealed (a
``secret()``, a ``decrypt()``, a SECRET input an expression reached); before a decision
leaves ``decide``, :func:`masked_decision` replaces those values by ``******`` (also
base64-encoded and JSON-escaped, as :func:`~lanner.expr.errors.mask` does) in
everything it stores or shows: the execution's outputs and labels, its task runs'
outputs and attempt messages, the log lines it writes, the variables of the jobs it
queues, the labels of the executions it starts.

A started execution's inputs are the exception: the child needs the values themselves.
The values revealed travel with the request (:attr:`~lanner.tasks.executable.Child.secrets`)
to where the child is created (:mod:`lanner.engine.shell.children`), whose inputs are
resolved by the one rule for every execution (:func:`lanner.engine.core.inputs.resolve_inputs`):
a SECRET input keeps a revealed value encrypted, any other input gets it masked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lanner.engine.core.events import Decision
from lanner.expr.errors import mask, mask_value
from lanner.model.execution import Attempt, Execution, TaskRun


def masked_decision(decision: Decision, secrets: set[str]) -> Decision:
    """``decision`` with every value of ``secrets`` masked in what it records; itself when there are none."""
    if not secrets:
        return decision
    known = frozenset(secrets)
    return replace(
        decision,
        execution=masked_execution(decision.execution, secrets),
        notes=tuple(replace(note, message=mask(note.message, secrets)) for note in decision.notes),
        # A job's variables are stored in the queue: the outputs they carry are masked too.
        jobs=tuple(replace(job, variables=mask_value(job.variables, secrets)) for job in decision.jobs),
        children=tuple(replace(child, labels=_masked(child.labels, secrets), secrets=child.secrets | known)
                       for child in decision.children),
    )


def masked_execution(execution: Execution, secrets: set[str]) -> Execution:
    return replace(execution, outputs=_masked(execution.outputs, secrets), labels=_masked(execution.labels, secrets),
                   task_runs=tuple(_masked_run(run, secrets) for run in execution.task_runs))


def _masked_run(run: TaskRun, secrets: set[str]) -> TaskRun:
    attempts = tuple(_masked_attempt(attempt, secrets) for attempt in run.attempts)
    return replace(run, outputs=_masked(run.outputs, secrets), attempts=attempts)


def _masked_attempt(attempt: Attempt, secrets: set[str]) -> Attempt:
    return replace(attempt, message=mask(attempt.message, secrets)) if attempt.message else attempt


def _masked(value: dict[str, Any], secrets: set[str]) -> Any:
    return mask_value(value, secrets) if value else value
