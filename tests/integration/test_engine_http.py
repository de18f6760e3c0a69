"""The HTTP tasks in the engine, on both backends: outputs feeding later tasks, failures, files, stops.

The flows (tests/flows/engine/http_*.yaml) take the URL of a local test server as an input.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.model.state import State
from tests.integration.running import running
from tests.unit.tasks.test_http import HELLO, LocalHttpServer


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as running:
        yield running


@pytest.fixture
def storage_path(tmp_path: Path) -> Path:
    return tmp_path / "storage"


@pytest.fixture
def lanner(database_url, storage_path):
    with running(database_url, storage_path, ["http_*"]) as service:
        yield service


def runs_by_task(execution):
    return {run.task_id: run for run in execution.task_runs}


def test_a_response_feeds_a_later_task(lanner, server):
    execution = lanner.wait(lanner.create("lanner.tests", "http_request", {"server": server.url}).id)
    assert execution.current is State.SUCCESS, [(r.task_id, r.current, r.attempts) for r in execution.task_runs]
    runs = runs_by_task(execution)
    call = runs["call"].outputs
    assert call["code"] == 200 and call["uri"] == f"{server.url}/echo?flow=http_request"
    assert call["headers"]["content-type"] == ["application/json"]
    assert runs["use"].outputs["value"] == '200 POST {"greeting": "hello ada"}'
    assert f'"x-execution": "{execution.id}"' in call["body"]


def test_a_404_fails_the_task_unless_allowed(lanner, server):
    execution = lanner.wait(lanner.create("lanner.tests", "http_status", {"server": server.url}).id)
    assert execution.current is State.FAILED
    runs = runs_by_task(execution)
    assert runs["tolerated"].current is State.SUCCESS and runs["seen"].outputs["value"] == "404"
    assert runs["missing"].current is State.FAILED and "never" not in runs
    assert runs["missing"].attempts[-1].message.startswith(
        f"Failed http request with response code '404' from GET {server.url}/status/404")


def test_a_download_is_read_by_a_later_task(lanner, server, storage_path):
    execution = lanner.wait(lanner.create("lanner.tests", "http_download", {"server": server.url}).id)
    assert execution.current is State.SUCCESS, [(r.task_id, r.current, r.attempts) for r in execution.task_runs]
    runs = runs_by_task(execution)
    dl = runs["dl"]
    assert dl.outputs["uri"] == (f"kestra:///lanner/tests/http_download/executions/{execution.id}/tasks/dl/"
                                 f"{dl.id}/hello.txt")
    assert dl.outputs["length"] == len(HELLO) and dl.outputs["code"] == 200
    assert runs["check"].outputs["value"] == f"{len(HELLO)}:{HELLO.decode()}"
    stored = storage_path / "lanner/tests/http_download/executions" / execution.id / "tasks/dl" / dl.id / "hello.txt"
    assert stored.read_bytes() == HELLO


def test_a_task_timeout_ends_a_hanging_request(lanner, server):
    started = time.monotonic()
    execution = lanner.wait(lanner.create("lanner.tests", "http_timeout", {"server": server.url}).id)
    assert execution.current is State.FAILED
    run = runs_by_task(execution)["slow"]
    assert run.attempts[-1].message.startswith("timeout: the attempt ran longer than 0.3 s")
    assert time.monotonic() - started < 30  # the task's timeout, not the 60 s read timeout
