"""Requests that wait for an execution's end (``?wait=true``, a webhook's ``wait``) hold no thread:
however many wait, the webserver still creates executions and answers everything else."""

from __future__ import annotations

import os
import threading

import httpx

from lanner.config.settings import Server as ServerSettings
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for

HELD = """id: held
namespace: lanner.limits
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: released
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret
    wait: true
"""
THREADS = 2
# More waiting requests than the API's threads, and than asyncio's default executor (where waits ran before).
WAITING = max(THREADS, min(32, (os.cpu_count() or 1) + 4)) + 2


def _paused(client: httpx.Client) -> list[str]:
    found = client.get("/api/v1/executions/search", params={"state": "PAUSED", "size": 100}).json()["results"]
    return [execution["id"] for execution in found]


def test_requests_waiting_for_ends_leave_the_webserver_free(database_url, tmp_path):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    answers: list[httpx.Response] = []
    try:
        with Runtime(engine, executors=1, worker_threads=1, storage_path=tmp_path / "storage", web_port=0,
                     settings=ServerSettings(threads=THREADS)) as runtime:
            base = f"http://127.0.0.1:{runtime.web.wait_started()}"
            with httpx.Client(base_url=base, timeout=60) as client:
                assert client.post("/api/v1/flows", content=HELD,
                                   headers={"Content-Type": "application/x-yaml"}).status_code == 200

                def wait(index: int) -> None:
                    with httpx.Client(base_url=base, timeout=120) as own:
                        path = "/api/v1/executions/lanner.limits/held" if index % 2 else \
                            "/api/v1/executions/webhook/lanner.limits/held/s3cret"
                        answers.append(own.post(path, params={"wait": "true"}))

                waiting = [threading.Thread(target=wait, args=(index,)) for index in range(WAITING)]
                for thread in waiting:
                    thread.start()
                wait_until(lambda: len(_paused(client)) == WAITING, what="every waited execution paused")
                assert answers == []  # all still waiting
                # While they wait: a new execution is created, health and searches answer.
                created = client.post("/api/v1/executions/lanner.limits/held", timeout=10)
                assert created.status_code == 200 and created.json()["flowId"] == "held"
                assert client.get("/health", timeout=10).json() == {"status": "UP"}
                assert client.get("/api/v1/flows/search", timeout=10).status_code == 200
                assert answers == []
                wait_until(lambda: len(_paused(client)) == WAITING + 1, what="the new execution paused")
                for execution_id in _paused(client):
                    assert client.post(f"/api/v1/executions/{execution_id}/resume").status_code == 200
                for thread in waiting:
                    thread.join(60)
        assert len(answers) == WAITING
        assert all(answer.status_code == 200 and answer.json()["state"]["current"] == "SUCCESS"
                   for answer in answers), [answer.text for answer in answers]
    finally:
        engine.dispose()
