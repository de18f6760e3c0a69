"""What the routes share: the database, the queue, the flow cache, whether the server is draining, and
the signal that wakes requests waiting for executions' ends."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lanner.engine.shell.flow_cache import FlowCache
from lanner.engine.shell.service import Executions
from lanner.web.waiting import EndSignals

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.files import Storage
    from lanner.store.queue import Queue


@dataclass
class Server:
    engine: Engine
    queue: Queue
    flows: FlowCache = field(default_factory=FlowCache)
    draining: threading.Event = field(default_factory=threading.Event)
    instance_id: str | None = None  # this process's service instance (None: liveness disabled)
    storage: Storage | None = None  # internal storage (execution files); None: this process has none

    def __post_init__(self) -> None:
        self.end_signals = EndSignals(self.queue, self.draining)  # wakes the requests waiting for ends

    @property
    def executions(self) -> Executions:
        return Executions(self.engine, self.queue, self.flows)
