"""Trigger operations on many triggers at once (Kestra's ``by-triggers`` and ``by-query`` routes), and the
single operations Kestra 1.x added (restart, delete).

Each call is one write transaction: every row is locked before any is changed, so a bulk action is
all-or-nothing.  Triggers named that do not exist refuse the whole action (nothing changed); triggers
the action does not apply to (no backfill to pause, nothing to unlock) are left alone and not counted,
as Kestra does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from lanner.model.tenant import DEFAULT_TENANT
from lanner.ops.triggers import TriggerConflict, TriggerNotFound
from lanner.store import trigger_repository as repo
from lanner.store.database import write_connection
from lanner.store.trigger_repository import TriggerRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

Key = tuple[str, str, str]  # namespace, flow id, trigger id
# An action changes one locked row and says whether it applied (what the bulk answer counts).
Action = Callable[["Connection", TriggerRow], bool]


def set_disabled(disabled: bool) -> Action:
    def act(connection: Connection, row: TriggerRow) -> bool:
        if row.disabled != disabled:
            repo.set_disabled(connection, row, disabled)
        return True  # Kestra counts every trigger asked for, changed or already so
    return act


def unlock(connection: Connection, row: TriggerRow) -> bool:
    """Only a trigger some scheduler holds is unlocked (and counted)."""
    if row.scheduler_id is None:
        return False
    repo.unlock(connection, row)
    return True


def restart(connection: Connection, row: TriggerRow) -> bool:
    """Forget the scheduler and plan again from now, held or not."""
    repo.unlock(connection, row)
    return True


def reset(connection: Connection, row: TriggerRow) -> bool:
    repo.reset(connection, row)
    return True


def pause_backfill(paused: bool) -> Action:
    def act(connection: Connection, row: TriggerRow) -> bool:
        if not row.backfill:
            return False
        repo.set_backfill(connection, row, {**row.backfill, "paused": paused})
        return True
    return act


def cancel_backfill(connection: Connection, row: TriggerRow) -> bool:
    if not row.backfill:
        return False
    repo.set_backfill(connection, row, None)
    return True


def on_keys(engine: Engine, keys: Sequence[Key], action: Action, tenant_id: str = DEFAULT_TENANT) -> int:
    """Apply ``action`` to the named triggers; a :class:`TriggerNotFound` naming the unknown ones (nothing
    changed) if any is."""
    with write_connection(engine) as connection, connection.begin():
        rows, missing = [], []
        for key in dict.fromkeys(keys):  # each trigger once, in the order given
            row = repo.get_trigger(connection, *key, tenant_id=tenant_id, lock=True)
            (rows.append(row) if row is not None else missing.append(key))
        if missing:
            names = ", ".join(f"{t} of flow {n}.{f}" for n, f, t in missing[:10])
            raise TriggerNotFound(f"{len(missing)} trigger(s) not found, nothing was changed: {names}",
                                  "Search the triggers with GET /api/v1/main/triggers/search")
        return sum(action(connection, row) for row in rows)


def on_matching(engine: Engine, wanted: Callable[[TriggerRow], bool], action: Action,
                tenant_id: str = DEFAULT_TENANT) -> int:
    """Apply ``action`` to every trigger of the tenant ``wanted`` keeps (each locked, then tested again)."""
    with write_connection(engine) as connection, connection.begin():
        count = 0
        for found in repo.list_triggers(connection, tenant_id=tenant_id):
            if not wanted(found):
                continue
            row = repo.get_trigger(connection, found.namespace, found.flow_id, found.trigger_id,
                                   tenant_id=tenant_id, lock=True)
            if row is not None and wanted(row):
                count += action(connection, row)
        return count


def on_one(engine: Engine, key: Key, action: Action, tenant_id: str = DEFAULT_TENANT,
           refused: str | None = None) -> TriggerRow:
    """Apply ``action`` to one trigger and return it after; ``refused``: the conflict's message when the
    action does not apply (None: always fine)."""
    with write_connection(engine) as connection, connection.begin():
        row = repo.get_trigger(connection, *key, tenant_id=tenant_id, lock=True)
        if row is None:
            raise TriggerNotFound(f"trigger {key[2]} of flow {key[0]}.{key[1]} not found",
                                  "Search the triggers with GET /api/v1/main/triggers/search")
        if not action(connection, row) and refused is not None:
            raise TriggerConflict(f"trigger {key[2]} of flow {key[0]}.{key[1]} {refused}")
        after = repo.get_trigger(connection, *key, tenant_id=tenant_id)
        assert after is not None
        return after


def keys_of(items: Iterable[object]) -> list[Key]:
    """``(namespace, flowId, triggerId)`` of request items carrying them."""
    return [(item.namespace, item.flow_id, item.trigger_id) for item in items]  # type: ignore[attr-defined]
