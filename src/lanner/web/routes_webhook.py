"""Webhook triggers: ``GET``/``POST``/``PUT /api/v1/executions/webhook/{namespace}/{flowId}/{key}``.

A request whose key matches an enabled ``io.kestra.plugin.core.trigger.Webhook`` of an
enabled flow creates one execution of the flow's current revision, with Kestra's
trigger variables: ``trigger.body`` (parsed when the request says it is JSON, else its
text, None when empty), ``trigger.headers`` and ``trigger.parameters`` (each name with
the list of its values; credentials never: ``Authorization``, ``Cookie`` and
``Proxy-Authorization`` are left out, since the execution's variables are stored and
shown).  The trigger's ``conditions`` are checked with those variables
(unmet: 204 No Content and no execution, as Kestra answers); its ``inputs`` are rendered
with them, its ``labels`` applied.

Anything else (an unknown flow, a wrong key, a disabled trigger or flow) is the same
404 and creates nothing: the answer never tells a caller which part was wrong, and keys
are compared in constant time.  The key is checked before the request's body is read,
so a caller without the key cannot make the server read (or store) anything.  The
trigger row is read and the execution created in one write transaction, so a trigger
disabled meanwhile does not fire.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response

from lanner.encryption import masked
from lanner.engine.core.variables import rendered_labels
from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.errors import WaitTimeoutError
from lanner.expr import ExpressionError, envs, render_value
from lanner.scheduler.conditions import applicable, unmet
from lanner.store import trigger_repository
from lanner.store.database import write_connection
from lanner.store.storable import holds_nul
from lanner.tasks.core.triggers import Webhook
from lanner.web import shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking
from lanner.web.waiting import wait_for_end

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.model.execution import Execution
    from lanner.model.flow import Flow

log = logging.getLogger(__name__)
router = APIRouter(tags=["Webhooks"])
WAIT_TIMEOUT = 3600.0  # seconds a `wait: true` webhook waits for the execution's end
PATH = "/executions/webhook/{namespace}/{flow_id}/{key}"
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})  # never stored


async def webhook(namespace: str, flow_id: str, key: str, request: Request,
                  srv: Server = Depends(server)) -> Any:
    """Start the flow whose Webhook trigger has this key; answer the execution (or its outputs)."""
    await blocking(_check_key, srv, namespace, flow_id, key)  # 404 before a byte of the body is read
    variables = {"body": _body(await request.body(), request.headers.get("content-type", "")),
                 "headers": _multi((name, value) for name, value in request.headers.items()
                                   if name.lower() not in CREDENTIAL_HEADERS),
                 "parameters": _multi(request.query_params.multi_items())}
    if holds_nul(variables):
        raise ApiError(400, "the request holds a NUL character (\\0), which cannot be stored; remove it or encode "
                            "the data (base64)")
    execution, spec = await blocking(_fire, srv, namespace, flow_id, key, variables)
    if execution is None:  # the trigger's conditions did not hold: nothing to start, as Kestra answers
        return Response(status_code=204)
    if spec.wait:
        try:
            execution = await wait_for_end(srv, execution.id, WAIT_TIMEOUT)
        except WaitTimeoutError as exc:
            raise ApiError(409, str(exc)) from None
        if spec.return_outputs:
            return masked(execution.outputs or {})  # a SECRET output shows as ******
    return shapes.execution(execution)


for _method in ("GET", "POST", "PUT"):  # one operation each (an OpenAPI operation id is per method)
    router.add_api_route(PATH, webhook, methods=[_method], name=f"webhook_{_method.lower()}",
                         operation_id=f"webhook_{_method.lower()}")


def _check_key(srv: Server, namespace: str, flow_id: str, key: str) -> None:
    """404 unless an enabled webhook of the flow has this key (read only; :func:`_fire` checks again)."""
    with srv.engine.connect() as connection:
        _enabled_webhook(srv, connection, namespace, flow_id, key, lock=False)


def _enabled_webhook(srv: Server, connection: Connection, namespace: str, flow_id: str, key: str,
                     lock: bool) -> tuple[Flow, int, Webhook]:
    not_found = ApiError(404, f"no enabled webhook of flow {namespace}.{flow_id} has this key")
    try:
        flow, revision = srv.flows.current(connection, namespace, flow_id)
    except FlowNotFound:
        raise not_found from None
    if flow.disabled:
        raise not_found
    spec = _matching(flow, revision, key)
    if spec is None:
        raise not_found
    row = trigger_repository.get_trigger(connection, namespace, flow_id, spec.id, lock=lock)
    if row is not None and row.disabled:
        raise not_found
    return flow, revision, spec


def _fire(srv: Server, namespace: str, flow_id: str, key: str,
          variables: dict[str, Any]) -> tuple[Execution | None, Webhook]:
    with write_connection(srv.engine) as connection, connection.begin():
        flow, revision, spec = _enabled_webhook(srv, connection, namespace, flow_id, key, lock=True)
        context = {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": revision},
                   "vars": flow.variables, "trigger": {**variables, "id": spec.id, "type": spec.TYPE}}
        why = unmet(applicable(spec), context)
        if why is not None:
            log.info("webhook %s of %s.%s: no execution, %s", spec.id, namespace, flow_id, why)
            return None, spec
        inputs = {}
        for name, value in spec.inputs.items():
            try:
                inputs[name] = render_value(value, context)
            except ExpressionError as exc:
                raise ApiError(422, "invalid inputs", [f"input `{name}`: {exc}"]) from None
        try:
            labels = rendered_labels(spec.labels, context)
        except ExpressionError as exc:
            raise ApiError(422, f"cannot render the webhook's labels: {exc}") from None
        trigger = {"id": spec.id, "type": spec.TYPE, "variables": variables}
        execution = srv.executions.create_in(connection, namespace, flow_id, inputs, labels=labels, trigger=trigger)
    return execution, spec


def _matching(flow: Flow, revision: int, key: str) -> Webhook | None:
    """The first enabled Webhook trigger of the flow whose (rendered) key is ``key``."""
    given = key.encode()
    for spec in flow.triggers:
        if not isinstance(spec, Webhook) or spec.disabled:
            continue
        expected = spec.key
        if "{{" in expected:
            context = {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": revision},
                       "vars": flow.variables, "envs": envs(os.environ)}
            try:
                expected = str(render_value(expected, context))
            except ExpressionError:
                continue
        if hmac.compare_digest(expected.encode(), given):
            return spec
    return None


def _body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a reader goes
            return text  # Kestra keeps a body that is not the JSON it claims to be as text
    return text


def _multi(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in items:
        found.setdefault(name, []).append(value)
    return found
