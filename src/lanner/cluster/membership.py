"""This process's service instance: registered at start, heartbeating, and fencing itself.

A process that cannot tell the cluster it is alive must assume the cluster has given
its work to someone else.  So when no heartbeat has been recorded for longer than the
liveness timeout (the database is unreachable, or the process was frozen), or when a
heartbeat finds the instance declared DISCONNECTED, the process fences itself: it calls
``on_fenced``, which stops its running tasks at once and makes it exit non-zero, so
systemd or Kubernetes starts a fresh one (Kestra #14059: services idling after losing
the database).

A restore (``lanner backups restore --force`` during maintenance mode) fences the same
way: the process remembers the database's epoch (:mod:`lanner.store.database_epoch`)
when it starts, and a heartbeat that finds another one writes nothing and fences with
:attr:`Membership.restored` set, so the process exits with code 13 (DATABASE_RESTORED)
rather than work on content that is no longer the one it knew.  The restore also
removes every instance row; the epoch is compared first, so that is reported as the
restore it is.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from lanner import version
from lanner.background import Periodic
from lanner.model.execution import new_id
from lanner.model.service_state import ServiceState, ServiceType
from lanner.store import database_epoch
from lanner.store import service_instances as instances
from lanner.store.service_instances import EpochChanged, InvalidTransition

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.settings import Liveness

log = logging.getLogger(__name__)


def liveness_settings(liveness: Liveness, grace: timedelta) -> dict[str, float]:
    """An instance's own settings, stored with it: the coordinator judges it by them."""
    return {"heartbeatInterval": liveness.heartbeat_interval.total_seconds(),
            "timeout": liveness.timeout.total_seconds(), "initialDelay": liveness.initial_delay.total_seconds(),
            "interval": liveness.interval.total_seconds(), "terminationGracePeriod": grace.total_seconds()}


class Membership:
    def __init__(self, engine: Engine, service_type: ServiceType, liveness: Liveness, grace: timedelta, *,
                 schema_version: str, on_fenced: Callable[[str], None],
                 running_jobs: Callable[[], int] = lambda: 0) -> None:
        self.engine, self.service_type, self.liveness, self.grace = engine, service_type, liveness, grace
        self.instance_id = new_id()
        self.schema_version = schema_version
        self._on_fenced, self._running_jobs = on_fenced, running_jobs
        self._stopped = threading.Event()
        self._fenced = threading.Event()
        self.epoch: str | None = None  # the database's epoch when this process started
        self.restored = False  # fenced because the database was restored under this process
        self._last_ok = time.monotonic()
        self._loops: list[Periodic] = []
        self._failing_since: float | None = None  # when heartbeats began to fail, for the recovery's message

    @property
    def fenced(self) -> bool:
        return self._fenced.is_set()

    def start(self) -> None:
        with self.engine.connect() as connection:
            self.epoch = database_epoch.read(connection)
        instances.register(self.engine, instance_id=self.instance_id, service_type=str(self.service_type),
                           hostname=socket.gethostname(), pid=os.getpid(), lanner_version=version(),
                           schema_version=self.schema_version, settings=liveness_settings(self.liveness, self.grace))
        instances.change_state(self.engine, self.instance_id, ServiceState.RUNNING, "started")
        self._last_ok = time.monotonic()
        # Both end when _stopped is set: by ended(), or by a fence (which sets it too).
        every = self.liveness.heartbeat_interval.total_seconds()
        self._loops = [
            Periodic("heartbeat", every, self._beat, failure="heartbeat failed", logger=log,
                     stop=self._stopped).start(),
            Periodic("liveness-watchdog", min(every, 1.0), self._watch, failure="liveness watchdog failed",
                     logger=log, stop=self._stopped).start()]

    def terminating(self, reason: str) -> None:
        self._change(ServiceState.TERMINATING, reason)

    def ended(self, state: ServiceState, reason: str) -> None:
        """Stop heartbeating and record how this instance ended."""
        self._stopped.set()
        for loop in self._loops:
            loop.stop(5)
        if not self.fenced:
            self._change(state, reason)

    def fence_if_restored(self, failure: str) -> bool:
        """After a component failed: fence (as restored) when the database was restored since start.

        A component may fail on a restored database (a table rebuilt under its query) before
        any heartbeat noticed the new epoch: the process then stops as a fenced one does,
        and exits 13 as well.
        """
        if self.fenced:
            return self.restored
        try:
            with self.engine.connect() as connection:
                found = database_epoch.describe(connection)
        except Exception:  # the database is gone: the failure says so already
            log.debug("cannot read the database's epoch", exc_info=True)
            return False
        if (found["value"] if found is not None else None) == self.epoch:
            return False
        self._fence(f"the database was restored under this process ({database_epoch.explain(found)}), "
                    f"and then {failure}", restored=True)
        return True

    def _change(self, state: ServiceState, reason: str) -> None:
        try:
            instances.change_state(self.engine, self.instance_id, state, reason)
        except InvalidTransition as exc:
            log.warning("%s", exc)
        except Exception as exc:  # stopping goes on without the database; liveness will notice
            log.warning("cannot record state %s of this instance: %s", state, exc)

    # the two loops (a fence sets _stopped: the loop ends) -------------------------------------------
    def _beat(self) -> None:
        try:
            state = instances.heartbeat(self.engine, self.instance_id, self._running_jobs(),
                                        check_epoch=True, epoch=self.epoch)
        except EpochChanged as exc:
            self._fence(f"{exc}: its memory and work belong to content that is gone; "
                        "exiting so that its supervisor starts it again on the restored database", restored=True)
            return
        except Exception as exc:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                log.warning("heartbeat failed (%s); retrying every %.1f s", exc,
                            self.liveness.heartbeat_interval.total_seconds())
            return
        if self._failing_since is not None:
            log.info("heartbeat recorded again after %.1f s", time.monotonic() - self._failing_since)
            self._failing_since = None
        self._last_ok = time.monotonic()
        if state is None or not state.alive:
            self._fence(f"the cluster declared this instance {state or 'gone'}: its work was given to others")

    def _watch(self) -> None:
        timeout = self.liveness.timeout.total_seconds()
        silent = time.monotonic() - self._last_ok
        if silent > timeout:
            self._fence(f"no heartbeat recorded for {silent:.1f} s, more than the liveness timeout "
                        f"({timeout:g} s): the cluster may have given this instance's work to others")

    def _fence(self, reason: str, *, restored: bool = False) -> None:
        if self._stopped.is_set() or self._fenced.is_set():
            return
        self.restored = restored
        self._fenced.set()
        self._stopped.set()
        log.error("stopping at once: %s", reason)
        self._on_fenced(reason)
