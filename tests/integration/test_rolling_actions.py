"""The executor messages this release added are not sent while an executor of an earlier release runs."""

from __future__ import annotations

import pytest

from lanner import version
from lanner.engine.shell.flow_cache import FlowCache
from lanner.engine.shell.service import Executions
from lanner.errors import UsageError
from lanner.flows.validator import validate_source
from lanner.model.service_state import ServiceState
from lanner.model.state import State
from lanner.store import flow_repository, service_instances
from lanner.store.database import write_connection
from lanner.store.queue import Queue

FLOW = """id: waits
namespace: lanner.rolling
concurrency:
  limit: 1
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def _executor(engine, instance_id: str, lanner_version: str) -> None:
    service_instances.register(engine, instance_id=instance_id, service_type="EXECUTOR", hostname="old-host",
                               pid=1, lanner_version=lanner_version, schema_version="x", settings={})
    with write_connection(engine) as connection, connection.begin():
        service_instances.transition(connection, instance_id, ServiceState.RUNNING, "started")


def test_pause_and_unqueue_wait_for_the_end_of_a_rolling_upgrade(engine):
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validate_source(FLOW).flow, FLOW)
    executions = Executions(engine, Queue(engine), FlowCache())
    created = executions.create("lanner.rolling", "waits")
    _executor(engine, "old-executor", "0.0.1")
    for act in (lambda: executions.pause(created.id), lambda: executions.unqueue(created.id, State.RUNNING)):
        with pytest.raises(UsageError) as refused:
            act()
        assert "old-executor" in str(refused.value) and "0.0.1" in str(refused.value)
    _executor(engine, "new-executor", version())  # an executor of this release is no obstacle
    with write_connection(engine) as connection, connection.begin():
        service_instances.transition(connection, "old-executor", ServiceState.TERMINATING, "upgrade")
        service_instances.transition(connection, "old-executor", ServiceState.TERMINATED_GRACEFULLY, "upgrade")
    with pytest.raises(UsageError, match="not in state RUNNING"):  # now refused for its state only
        executions.pause(created.id)
