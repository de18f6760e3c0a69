"""Tasks on the namespace key-value store: Set, Get, GetKeys, Delete.

Each renders its properties, defaults the namespace to the flow's, and works through
``context.kv`` (:class:`lanner.store.kv_repository.KVStore`, in the execution's
tenant).  A key, namespace or value the store refuses fails the task with the store's
message, which names the key and says how to fix it.  ``docs/kv.md`` is the user's guide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Literal

from lanner.durations import parse_duration
from lanner.errors import LannerError
from lanner.model.spec import Duration, Dynamic
from lanner.tasks.runnable import RunContext, RunnableTask, TaskFailure, TaskOutput, render_flag

CORE = "io.kestra.plugin.core.kv"

KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


class KvSet(RunnableTask):
    TYPE = f"{CORE}.Set"

    key: str
    value: Any
    namespace: str | None = None
    overwrite: Dynamic[bool] = True
    ttl: Dynamic[Duration] | None = None
    kv_type: Dynamic[KvType] | None = None
    # Kestra's name: a task's own ``description`` documents the task, not the entry.
    kv_description: str | None = None

    def run(self, context: RunContext) -> TaskOutput:
        key, namespace = _text(context, self.key, "key"), _namespace(context, self.namespace)
        value = context.render(self.value)
        kv_type = None if self.kv_type is None else _text(context, self.kv_type, "kvType").strip().upper()
        description = None if self.kv_description is None else str(context.render(self.kv_description)) or None
        with _failing_on_store_errors():
            context.kv.set(namespace, key, value, kv_type=kv_type, ttl=_ttl(context, self.ttl),
                           overwrite=render_flag(context, self.overwrite, "overwrite"), description=description)
        return TaskOutput()


class KvGet(RunnableTask):
    TYPE = f"{CORE}.Get"

    key: str
    namespace: str | None = None
    error_on_missing: Dynamic[bool] = False

    def run(self, context: RunContext) -> TaskOutput:
        key, namespace = _text(context, self.key, "key"), _namespace(context, self.namespace)
        with _failing_on_store_errors():
            value = context.kv.get(namespace, key)
        if value is None and render_flag(context, self.error_on_missing, "errorOnMissing"):
            raise TaskFailure(_missing(key, namespace))
        return TaskOutput(outputs={"value": value})


class KvGetKeys(RunnableTask):
    TYPE = f"{CORE}.GetKeys"

    prefix: str | None = None
    namespace: str | None = None

    def run(self, context: RunContext) -> TaskOutput:
        namespace = _namespace(context, self.namespace)
        prefix = None if self.prefix is None else context.render(self.prefix)
        if prefix is not None and not isinstance(prefix, str):
            raise TaskFailure(f"`prefix` must render to a string, not {prefix!r}")
        with _failing_on_store_errors():
            keys = context.kv.keys(namespace, prefix or None)  # an empty prefix lists every key
        return TaskOutput(outputs={"keys": keys})


class KvDelete(RunnableTask):
    TYPE = f"{CORE}.Delete"

    key: str
    namespace: str | None = None
    error_on_missing: Dynamic[bool] = False

    def run(self, context: RunContext) -> TaskOutput:
        key, namespace = _text(context, self.key, "key"), _namespace(context, self.namespace)
        with _failing_on_store_errors():
            deleted = context.kv.delete(namespace, key)
        if not deleted and render_flag(context, self.error_on_missing, "errorOnMissing"):
            raise TaskFailure(_missing(key, namespace))
        return TaskOutput(outputs={"deleted": deleted})


TYPES = [KvSet, KvGet, KvGetKeys, KvDelete]


def _text(context: RunContext, value: Any, name: str) -> str:
    rendered = context.render(value)
    if not isinstance(rendered, str) or not rendered:
        raise TaskFailure(f"`{name}` must render to a non-empty string, not {rendered!r}")
    return rendered


def _namespace(context: RunContext, namespace: str | None) -> str:
    return context.namespace if namespace is None else _text(context, namespace, "namespace").strip()


def _ttl(context: RunContext, ttl: Any) -> timedelta | None:
    if ttl is None or isinstance(ttl, timedelta):
        return ttl
    rendered = context.render(ttl)
    try:
        return parse_duration(rendered.strip() if isinstance(rendered, str) else rendered)
    except ValueError as exc:
        raise TaskFailure(f"`ttl` rendered to {rendered!r}: {exc} (ISO-8601 PT5M also works)") from None


def _missing(key: str, namespace: str) -> str:
    return f"No value found for the KV key '{key}' in the namespace '{namespace}' and errorOnMissing is true"


@contextmanager
def _failing_on_store_errors() -> Iterator[None]:
    """The store's refusals (bad key, type mismatch, key exists) fail the task with their message.

    They are LannerErrors (``KVError``); catching the base keeps this plugin from
    importing the store (and SQLAlchemy) when flows are only validated.
    """
    try:
        yield
    except LannerError as exc:
        raise TaskFailure(str(exc)) from None
