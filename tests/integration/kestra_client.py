"""Kestra's published Python client (kestrapy) pointed at a real Lanner server, reading answers strictly.

``lanner_url`` runs one server per backend for a whole test module (SQLite, PostgreSQL); ``kestra`` is a
``kestrapy.KestraClient`` on it, tenant :data:`TENANT`.  ``namespace`` gives each test its own namespace.

Strict reading.  kestrapy's ``BaseApi._deserialize`` validates an answer with the model's ``from_dict``
and, when that fails, quietly builds the model with ``model_construct`` (accepting anything); a field of
the answer the model does not declare goes to ``additional_properties`` or is dropped.  A test would then
pass whatever Lanner sends.  The ``kestra`` fixture replaces ``_deserialize`` with :func:`strict`: an
answer the model cannot validate, or a field the model does not know, fails the test naming the field
(``taskRunList[0].metrics: TaskRun has no field ...``).  Answers kestrapy returns as raw JSON (execution
search, bulk actions, triggers, plugins) are checked by the tests with :func:`strict` /
:func:`strict_page`.

Where kestrapy's models disagree with what Kestra itself sends, the checker follows Kestra, and says so
below (:data:`KESTRA_SENDS`, :data:`OPEN_MODELS`, :func:`_kestrapy_state_getters`): the server is never
bent toward a client bug.
"""

from __future__ import annotations

import json
import os
import re
import time
import types
import typing
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests import pg_harness
from tests.helpers import config_for

# kestrapy 2.0.3's packaging bugs, worked around here rather than in Lanner:
# - its models `import regex` without declaring the dependency (added to Lanner's test dependencies);
# - importing it defines a model with a field named `validate`, and pydantic warns "Field name
#   "validate" in "PolicyRuleSummary" shadows an attribute in parent "BaseModel"": our warnings are
#   errors (pyproject's filterwarnings), so exactly that warning is ignored, only around this import.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=UserWarning,
                            message=r'Field name "validate" in "PolicyRuleSummary" shadows an attribute')
    import kestrapy  # noqa: F401 - the package's __init__ imports every model (the warning's source)
    from kestrapy import KestraClient
    from kestrapy.base_api import BaseApi
    from kestrapy.exceptions import ConflictException, NotFoundException
    from kestrapy.models.api_trigger_and_state import ApiTriggerAndState
    from kestrapy.models.bulk_response import BulkResponse
    from kestrapy.models.execution import Execution
    from kestrapy.models.id_with_namespace import IdWithNamespace
    from kestrapy.models.kv_controller_api_delete_bulk_request import KVControllerApiDeleteBulkRequest
    from kestrapy.models.log_entry import LogEntry
    from kestrapy.models.query_filter import QueryFilter
    from kestrapy.models.query_filter_field import QueryFilterField
    from kestrapy.models.query_filter_op import QueryFilterOp
    from kestrapy.models.trigger_controller_api_trigger_id import TriggerControllerApiTriggerId
    from kestrapy.models.trigger_controller_set_disabled_request import TriggerControllerSetDisabledRequest

TENANT = "main"
TERMINAL = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED"})

# Models whose objects carry plugin-specific properties (a task's `format`, a Schedule trigger's `cron`,
# a SELECT input's `values`, a dashboard chart's `data` or a Markdown chart's `content`): Kestra's schema
# leaves them open, so unknown keys are expected there.
OPEN_MODELS = frozenset({"Task", "AbstractTrigger", "InputObject", "ChartChartOption"})

# Fields Lanner sends that kestrapy 2.0.3's models do not declare, with the reason: what Kestra (0.2x or
# 1.x) sends and the client's models omit, and the few extras of Lanner's that docs/api.md documents.
KESTRA_SENDS: dict[tuple[str, str], str] = {
    # `tenantId` is on every tenant-scoped object (TenantInterface) and serialised, but marked @Hidden,
    # so the OpenAPI document the models are generated from omits it.
    ("*", "tenantId"): "Kestra's TenantInterface.tenantId: serialised, @Hidden from the OpenAPI document",
    # Kestra up to 1.x sends the flow's outputs in the execution and each task run's outputs in the task
    # run; kestrapy 2.0 reads them from /outputs instead (its OutputsApi says Kestra 2.0 dropped them).
    ("Execution", "outputs"): "Kestra <= 1.x Execution.outputs (2.0 moved them to /api/v1/{tenant}/outputs)",
    ("ExecutionControllerExecutionResponse", "outputs"): "as Execution.outputs",
    ("TaskRun", "outputs"): "Kestra <= 1.x TaskRun.outputs (2.0 moved them to /api/v1/{tenant}/outputs)",
    # Kestra 0.2x's LogEntry.deleted (the list of fields Kestra always sends); kestrapy 2.0 omits it.
    ("LogEntry", "deleted"): "Kestra 0.2x's LogEntry.deleted",
    # Lanner's own, documented in docs/api.md: why an attempt failed (the UI shows it).
    ("TaskRunAttempt", "message"): "Lanner's attempt message (docs/api.md)",
    ("TaskRun", "metrics"): "Lanner's: the task run's counters and timers (docs/api.md; Kestra serves them at /metrics)",
    # Lanner's own, documented in docs/api.md: each validation problem with its place.
    ("ValidateConstraintViolation", "problems"): "Lanner's validation problems (docs/api.md)",
    # Triggers are answered in Kestra 0.21's shape ({abstractTrigger, triggerContext}, its trigger-context
    # names) beside kestrapy's ({trigger, state}), so that clients of either release read them.
    **{("ApiTriggerAndState", key): "Kestra 0.21's trigger search item" for key in ("abstractTrigger", "triggerContext")},
    **{("ApiTriggerState", key): "Kestra 0.21's TriggerContext field" for key in (
        "date", "nextExecutionDate", "updatedDate", "evaluateRunningDate", "type", "flowRevision",
        "lastExecutionDate", "schedulerId", "timezone")},
    # Kestra's Flow serialises these (0.21's FlowWithSource carries them); kestrapy's generated model omits them.
    ("FlowWithSource", "pluginDefaults"): "Kestra's Flow.pluginDefaults",
    ("FlowWithSource", "listeners"): "Kestra 0.2x's Flow.listeners (deprecated, still serialised)",
    ("FlowWithSource", "workerGroup"): "Kestra's AbstractFlow.workerGroup",
    ("Flow", "pluginDefaults"): "Kestra's Flow.pluginDefaults",
    ("Flow", "listeners"): "Kestra 0.2x's Flow.listeners (deprecated, still serialised)",
    ("Flow", "workerGroup"): "Kestra's AbstractFlow.workerGroup",
}


class StrictShapeError(AssertionError):
    """Lanner's answer does not read as kestrapy's model: the message names each field."""


def _kestrapy_state_getters(data: dict[str, Any]) -> dict[str, Any]:
    """kestrapy's ``State`` requires ``getDuration``, ``getStartDate`` and ``getEndDate``: Java getter names
    leaked into its OpenAPI document.  Kestra never sends them (its State serialises ``duration``,
    ``startDate`` and ``endDate`` from those getters), so from_dict fails on every real Kestra execution.
    Placeholders stand in for them, only so that the fields Kestra does send are still validated."""
    return {"getDuration": "PT0S", "getStartDate": "1970-01-01T00:00:00Z", "getEndDate": "1970-01-01T00:00:00Z",
            **data}


FIXES = {"State": _kestrapy_state_getters}


def _bare(annotation: Any) -> Any:
    """The annotation without Optional[...] / Annotated[...] wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            kept = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                return annotation
            annotation = kept[0]
        else:
            return annotation


def _one_of(annotation: Any) -> set[str] | None:
    """The schemas of one of kestrapy's one-of / any-of wrappers (None for any other annotation)."""
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return None
    for name in ("one_of_schemas", "any_of_schemas"):
        if name in annotation.model_fields:
            return set(annotation.model_fields[name].default)
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel) and _one_of(annotation) is None


def _free_form(annotation: Any) -> bool:
    """kestrapy generates OpenAPI's free-form ``object`` (any JSON value) as a dict: its one-of wrappers
    "object or string" (PropertyObject for an input's ``defaults``, OutputValue) then refuse the number
    ``1`` that Kestra sends for ``defaults: 1``.  Such a value is handed to them as its JSON text."""
    return _one_of(annotation) == {"object", "str"}


def _name(annotation: Any) -> str:
    """``List[Label]`` as a reader says it: "a list of Label"."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return f"a list of {_name(_bare(args[0])) if args else 'values'}"
    if origin is dict:
        return f"an object of {_name(_bare(args[1])) if len(args) == 2 else 'values'}"
    return getattr(annotation, "__name__", str(annotation))


def _walk(annotation: Any, value: Any, path: str, problems: list[str]) -> Any:
    """``value`` checked against ``annotation``: unknown fields are appended to ``problems``; the value is
    returned with :data:`FIXES` applied, ready for kestrapy's ``from_dict``."""
    annotation = _bare(annotation)
    origin = typing.get_origin(annotation)
    if value is None:
        return None
    expected = {list: list, dict: dict}.get(origin) or (dict if _is_model(annotation) else None)
    if expected is not None and not isinstance(value, expected):
        problems.append(f"{path}: kestrapy expects {_name(annotation)}, Lanner sent {json.dumps(value)[:120]}")
        return value
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return [_walk(item, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        inner = typing.get_args(annotation)[1] if typing.get_args(annotation) else Any
        return {k: _walk(inner, v, f"{path}.{k}", problems) for k, v in value.items()}
    if _free_form(annotation):
        return value if isinstance(value, dict | str) else json.dumps(value)
    if not _is_model(annotation):
        return value
    name = annotation.__name__
    by_alias = {(info.alias or field): info for field, info in annotation.model_fields.items()
                if field != "additional_properties"}
    before = len(problems)
    checked: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key in by_alias:
            checked[key] = _walk(by_alias[key].annotation, item, where, problems)
        elif name in OPEN_MODELS or (name, key) in KESTRA_SENDS or ("*", key) in KESTRA_SENDS:
            checked[key] = item
        else:
            problems.append(f"{where}: kestrapy's {name} has no field `{key}` (it knows {sorted(by_alias)})")
    if name in FIXES:
        checked = FIXES[name](checked)
    if len(problems) == before:  # the children read: does this object validate as a whole?
        try:
            annotation.from_dict(checked)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError; so are one-of failures
            if not isinstance(exc, ValidationError):
                problems.append(f"{path or name}: {str(exc)[:300]}")
                return checked
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"])
                where = ".".join(part for part in (path, field) if part) or name
                if error["loc"] and error["loc"][0] not in checked:  # from_dict passes an absent key as None
                    problems.append(f"{where}: missing; kestrapy's {name} requires it")
                else:
                    problems.append(f"{where}: {error['msg']} in kestrapy's {name} "
                                    f"(got {repr(error.get('input'))[:80]})")
    return checked


def strict(model: Any, data: Any, what: str = "") -> Any:
    """``data`` read as kestrapy's ``model``, as kestrapy's own from_dict does, or :class:`StrictShapeError`
    naming each field that does not validate or that the model does not know."""
    problems: list[str] = []
    checked = _walk(model, data, "", problems)
    if problems:
        raise StrictShapeError(f"Lanner's answer{' to ' + what if what else ''} does not read as kestrapy's "
                               f"{getattr(model, '__name__', model)}:\n  " + "\n  ".join(problems))
    return model.from_dict(checked) if isinstance(checked, dict) else model.model_validate(checked)


def strict_page(item_model: type, data: Any, what: str = "") -> list[Any]:
    """A ``{results, total}`` page (kestrapy returns it raw) whose results read as ``item_model``."""
    if not isinstance(data, dict) or set(data) != {"results", "total"} or not isinstance(data["total"], int):
        raise StrictShapeError(f"{what or 'the answer'} is not a page {{results, total}}: {str(data)[:300]}")
    return [strict(item_model, item, f"{what} results[{i}]") for i, item in enumerate(data["results"])]


def _strict_deserialize(data: Any, return_type: Any) -> Any:
    """kestrapy's ``BaseApi._deserialize`` without its model_construct fallback."""
    if return_type is None or data is None or return_type is dict or return_type is Any:
        return data
    if return_type in (str, int, float, bool):
        if not isinstance(data, return_type):
            raise StrictShapeError(f"expected a {return_type.__name__}, Lanner answered {data!r}")
        return data
    if hasattr(return_type, "from_dict") or hasattr(return_type, "model_validate"):
        return strict(return_type, data)
    return data


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lanner_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Lanner server (webserver, executor, worker) for the module, on each backend: its base URL."""
    with pytest.MonkeyPatch.context() as patch:  # as the per-test _isolated_home does, for the module
        patch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        for name in [n for n in os.environ if n.startswith("LANNER_") and
                     not n.startswith("LANNER_TEST_")]:
            patch.delenv(name)
        folder = tmp_path_factory.mktemp("kestrapy")
        database: tuple[str, str] | None = None
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'lanner.db'}"
        else:
            server = request.getfixturevalue("postgres_server")
            database = (server, f"lanner_test_{uuid.uuid4().hex[:12]}")
            url = pg_harness.create_database(*database)
        engine = prepare_database(config_for(url), may_migrate=True)
        try:
            with Runtime(engine, executors=1, worker_threads=2, storage_path=folder / "storage",
                         web_port=0) as runtime:
                yield f"http://127.0.0.1:{runtime.web.wait_started()}"
        finally:
            engine.dispose()
            if database is not None:
                pg_harness.drop_database(*database)


@pytest.fixture
def kestra(lanner_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[KestraClient]:
    """kestrapy's client on the module's server, reading every typed answer strictly."""
    monkeypatch.setattr(BaseApi, "_deserialize", staticmethod(_strict_deserialize))
    client = KestraClient(host=lanner_url, timeout=60)
    try:
        yield client
    finally:
        client._session.close()


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """This test's own namespace (the module's tests share one server)."""
    return "kestrapy." + re.sub(r"[^a-z0-9]+", "-", request.node.originalname.lower()).strip("-")


def wait_ended(client: KestraClient, execution_id: str, timeout: float = 60, after: str | None = None) -> Execution:
    """The execution once it has ended (polling its state), read strictly; ``after``: once it has ended after
    passing through that state (a restart is queued: the execution reads FAILED until the executor takes it)."""
    deadline = time.monotonic() + timeout
    while True:
        execution = client.executions.execution(execution_id, TENANT)
        passed = after is None or after in [str(getattr(h.state, "value", h.state)) for h in execution.state.histories]
        if str(_state(execution)) in TERMINAL and passed:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {_state(execution)} after {timeout}s")
        time.sleep(0.05)


def wait_state(client: KestraClient, execution_id: str, wanted: str, timeout: float = 60) -> Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = client.executions.execution(execution_id, TENANT)
        if str(_state(execution)) == wanted:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {_state(execution)}, not {wanted}, "
                                 f"after {timeout}s")
        time.sleep(0.05)


def _state(execution: Any) -> str:
    current = execution.state.current
    return getattr(current, "value", current)


def state_of(execution: Any) -> str:
    """The execution's (or task run's) current state as text (kestrapy holds it as a StateType enum)."""
    return _state(execution)


__all__ = [  # kestrapy's names are imported from here, where its import warning is filtered
    "TENANT", "ApiTriggerAndState", "BulkResponse", "ConflictException", "Execution", "IdWithNamespace",
    "KVControllerApiDeleteBulkRequest", "KestraClient", "LogEntry", "NotFoundException", "QueryFilter",
    "QueryFilterField", "QueryFilterOp", "StrictShapeError", "TriggerControllerApiTriggerId",
    "TriggerControllerSetDisabledRequest", "kestra", "lanner_url", "namespace", "state_of", "strict",
    "strict_page", "wait_ended", "wait_state",
]
