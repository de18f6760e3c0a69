"""Trigger bodies: a trigger's state (Kestra's ``Trigger``, the *trigger context*), its backfill, the search
entry pairing the definition with the state, and the bulk requests.

A state carries both Kestra 0.2x's names (``date``, ``nextExecutionDate``, ``workerId``, ``updatedDate``)
and the 1.x names kestrapy reads (``lastTriggeredDate``, ``nextEvaluationDate``, ``updatedAt``,
``locked``, ``kind``), plus what Lanner adds (``type``, ``flowRevision``, ``schedulerId``, ``timezone``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lanner.web.schemas.base import KestraModel, Label

TriggerKind = Literal["SCHEDULE", "POLLING", "REALTIME"]


class Backfill(KestraModel):
    """A backfill in progress: the past ticks from ``start`` to ``end`` (open: until now), fired in order."""

    start: str | None = None
    end: str | None = None
    current_date: str | None = None
    paused: bool = False
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: list[Label] = Field(default_factory=list)
    previous_next_execution_date: str | None = None
    fired: int = Field(0, description="Lanner: how many ticks the backfill has fired so far")


class TriggerContext(KestraModel):
    """A trigger's state (Kestra's ``Trigger``): dates, the scheduler holding it, its backfill."""

    tenant_id: str
    namespace: str
    flow_id: str
    trigger_id: str
    date: str | None = Field(None, description="When the trigger last fired")
    next_execution_date: str | None = None
    backfill: Backfill | None = None
    stop_after: list[str] | None = None
    disabled: bool = False
    execution_id: str | None = None
    updated_date: str | None = None
    evaluate_running_date: str | None = None
    worker_id: str | None = Field(None, description="The scheduler that last evaluated the trigger")
    # Kestra 1.x's names of the same facts.
    updated_at: str | None = None
    evaluated_at: str | None = None
    next_evaluation_date: str | None = None
    last_triggered_date: str | None = None
    locked: bool = False
    kind: TriggerKind | None = None
    # Lanner's own.
    type: str = ""
    flow_revision: int | None = None
    last_execution_date: str | None = None
    scheduler_id: str | None = None
    timezone: str | None = None


class TriggerEntry(KestraModel):
    """A search result: the trigger as the flow declares it and its state (Kestra 0.2x's
    ``abstractTrigger``/``triggerContext``, also sent under 1.x's ``trigger``/``state``)."""

    abstract_trigger: dict[str, Any] | None
    trigger_context: TriggerContext
    trigger: dict[str, Any] | None
    state: TriggerContext


class TriggerId(KestraModel):
    """A trigger named by namespace, flow id and trigger id (other fields of a whole trigger are ignored)."""

    namespace: str = Field(min_length=1)
    flow_id: str = Field(min_length=1)
    trigger_id: str = Field(min_length=1)


class SetDisabled(TriggerId):
    disabled: bool
    recover_missed_schedules: bool | None = Field(
        None, description="Accepted for Kestra's clients; Lanner never fires the ticks missed while disabled")


class SetDisabledMany(KestraModel):
    triggers: list[TriggerId] = Field(min_length=1)
    disabled: bool
    recover_missed_schedules: bool | None = None


class BackfillRequest(KestraModel):
    start: str | None = None
    end: str | None = None
    inputs: dict[str, Any] | None = None
    labels: list[Label] | dict[str, Any] | None = None


class CreateBackfill(TriggerId):
    backfill: BackfillRequest
