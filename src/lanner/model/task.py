"""Task, trigger and condition specifications: the properties Kestra's YAML gives them.

Each concrete type (``io.kestra.plugin.core.log.Log``...) is a subclass declaring its
own properties and, as class variables, its Kestra name and its older aliases.

A task type's kind is its base class (as in Kestra), each in ``lanner.tasks``, which
declares what the engine may ask of it: a ``RunnableTask`` runs on a worker; a
``FlowableTask`` is resolved by the executor (it decides which child tasks run next);
an ``ExecutableTask`` starts another execution (Subflow).  The engine dispatches on
those bases and never names a concrete type.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, field_validator

from lanner.log_level import LogLevel
from lanner.model.spec import Duration, Dynamic, Labels, PositiveCount, Spec, TaskId


class RetryBase(Spec):
    max_attempt: Dynamic[PositiveCount] | None = Field(
        None, validation_alias=AliasChoices("maxAttempt", "maxAttempts"))  # Kestra's docs use both
    max_duration: Dynamic[Duration] | None = None
    warning_on_retry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    @field_validator("behavior")
    @classmethod
    def _supported(cls, behavior: str) -> str:
        # Refused rather than accepted and retried in place: the user asked for a new execution each time.
        if behavior == "CREATE_NEW_EXECUTION":
            raise ValueError("CREATE_NEW_EXECUTION is not supported by Lanner yet (it retries a failed task in the "
                             "same execution): remove behavior, or set RETRY_FAILED_TASK, the default")
        return behavior


class ConstantRetry(RetryBase):
    type: Literal["constant"]
    interval: Dynamic[Duration]


class ExponentialRetry(RetryBase):
    type: Literal["exponential"]
    interval: Dynamic[Duration]
    max_interval: Dynamic[Duration]
    delay_factor: float | None = None


class RandomRetry(RetryBase):
    type: Literal["random"]
    min_interval: Dynamic[Duration]
    max_interval: Dynamic[Duration]


Retry = Annotated[ConstantRetry | ExponentialRetry | RandomRetry, Field(discriminator="type")]


class PluginSpec(Spec):
    """Anything addressed by a ``type``: tasks, triggers, conditions.  Subclasses set ``TYPE``."""

    TYPE: ClassVar[str] = ""
    # Older names that still work but are reported as deprecated (Kestra's pre-0.17 names).
    ALIASES: ClassVar[tuple[str, ...]] = ()
    # Set on types that are themselves deprecated: what to use instead.
    REPLACED_BY: ClassVar[str | None] = None
    # Properties accepted (Kestra flows carry them) that Lanner does not act on: the
    # validator warns of each one written, with why, rather than leave it to surprise.
    IGNORED: ClassVar[dict[str, str]] = {}

    type: str


class TaskSpec(PluginSpec):
    """What every task has; its kind comes from a base in ``lanner.tasks`` (runnable, flowable, executable)."""

    IGNORED: ClassVar[dict[str, str]] = {
        "workerGroup": "Lanner runs every task on any worker (worker groups are a Kestra Enterprise feature)",
        "logToFile": "task logs are kept in the database, where the UI, the API and the CLI read them",
    }

    id: TaskId
    description: str | None = None
    retry: Retry | None = None
    timeout: Dynamic[Duration] | None = None
    disabled: bool = False
    allow_failure: bool = False
    allow_warning: bool = False
    run_if: str | None = None
    log_level: LogLevel | None = None
    log_to_file: bool = False
    worker_group: dict[str, Any] | None = None


class ConditionSpec(PluginSpec):
    """A condition restricting when a trigger fires (Kestra's ``conditions``)."""


class TriggerSpec(PluginSpec):
    IGNORED: ClassVar[dict[str, str]] = {
        "logLevel": "Lanner logs what a trigger does in its server's log, at the server's level",
        "minLogLevel": "Lanner logs what a trigger does in its server's log, at the server's level",
    }
    id: TaskId
    description: str | None = None
    disabled: bool = False
    conditions: list[ConditionSpec] = []
    stop_after: list[str] | None = None
    log_level: LogLevel | None = None
    min_log_level: LogLevel | None = None
    labels: Labels | None = None
