"""Bounded requests: bodies past lanner.server.max-request-size are refused (413) without being read,
forms are bounded, a webhook's key is checked before its body is read, log answers are pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from lanner.config.settings import Multipart
from lanner.config.settings import Server as ServerSettings
from lanner.engine.shell.flow_cache import FlowCache
from lanner.server.runtime import Runtime
from lanner.store import flow_repository, log_lines
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from lanner.web import routes_logs
from lanner.web.app import create_app
from lanner.web.context import Server
from lanner.web.limits import BodyLimitMiddleware, Limits
from tests.helpers import config_for

YAML = {"Content-Type": "application/x-yaml"}
LIMIT = 4096
HOOKED = """id: hooked
namespace: lanner.limits
inputs:
  - id: note
    type: STRING
    defaults: none
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret
"""


@pytest.fixture
def engine(sqlite_url):
    engine = prepare_database(config_for(sqlite_url), may_migrate=True)
    yield engine
    engine.dispose()


@pytest.fixture
def web(engine, tmp_path) -> Iterator[httpx.Client]:
    settings = ServerSettings(max_request_size=LIMIT, multipart=Multipart(max_parts=3, max_part_size=100),
                              max_log_page_size=10)
    with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0,
                 settings=settings) as runtime:
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            assert client.post("/api/v1/flows", content=HOOKED, headers=YAML).status_code == 200
            yield client


def _executions(client: httpx.Client) -> int:
    return client.get("/api/v1/executions/search").json()["total"]


def _refused_as_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert "lanner.server.max-request-size" in response.json()["message"]
    assert "4KB" in response.json()["message"]


def test_a_flow_source_larger_than_the_limit_is_refused_and_nothing_is_saved(web):
    padded = HOOKED.replace("id: hooked", "id: big") + "# " + "x" * LIMIT + "\n"
    _refused_as_too_large(web.post("/api/v1/flows", content=padded, headers=YAML))
    _refused_as_too_large(web.put("/api/v1/flows/lanner.limits/hooked", content=padded, headers=YAML))
    assert web.get("/api/v1/flows/lanner.limits/big").status_code == 404
    assert web.get("/api/v1/flows/lanner.limits/hooked").json()["revision"] == 1


def test_a_chunked_body_without_a_length_is_counted_and_refused(web):
    def chunks() -> Iterator[bytes]:
        yield HOOKED.replace("id: hooked", "id: chunked").encode()
        for _ in range(LIMIT // 512 + 1):
            yield b"# " + b"x" * 510 + b"\n"

    _refused_as_too_large(web.post("/api/v1/flows", content=chunks(), headers=YAML))
    assert web.get("/api/v1/flows/lanner.limits/chunked").status_code == 404


def test_inputs_and_webhook_bodies_larger_than_the_limit_start_nothing(web):
    big = "x" * (LIMIT + 1)
    _refused_as_too_large(web.post("/api/v1/executions/lanner.limits/hooked", data={"note": big}))
    _refused_as_too_large(web.post("/api/v1/executions/webhook/lanner.limits/hooked/s3cret", content=big))
    assert _executions(web) == 0
    small = web.post("/api/v1/executions/webhook/lanner.limits/hooked/s3cret", content="fits")
    assert small.status_code == 200, small.text


def test_forms_are_bounded_in_fields_and_in_the_size_of_each(web):
    too_many = web.post("/api/v1/executions/lanner.limits/hooked", files={f"f{i}": (None, "v") for i in range(4)})
    assert too_many.status_code == 413 and "lanner.server.multipart.max-parts" in too_many.json()["message"]
    too_long = web.post("/api/v1/executions/lanner.limits/hooked", files={"note": (None, "x" * 101)})
    assert too_long.status_code == 413 and "lanner.server.multipart.max-part-size" in too_long.json()["message"]
    assert _executions(web) == 0
    fits = web.post("/api/v1/executions/lanner.limits/hooked", files={"note": (None, "x" * 100)})
    assert fits.status_code == 200 and fits.json()["inputs"]["note"] == "x" * 100


class Recorded:
    """A request body that records how much of it the server pulled."""

    def __init__(self, chunks: int, size: int = 64 << 10) -> None:
        self.chunks, self.size, self.pulled = chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += self.size
            yield b"x" * self.size


def _call(app, method: str, path: str, body: Recorded, headers: dict[str, str] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
            return await client.request(method, path, content=body, headers=headers)

    return asyncio.run(send())


def test_a_webhook_key_is_checked_before_a_byte_of_the_body_is_read(engine):
    """A caller without the key cannot make the server read (or store) anything: 404 with the body unread."""
    with Queue(engine) as queue:
        app = create_app(Server(engine, queue, FlowCache()), limits=Limits(max_request_size=1 << 40))

        async def deploy() -> None:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
                assert (await client.post("/api/v1/flows", content=HOOKED, headers=YAML)).status_code == 200

        asyncio.run(deploy())
        huge = Recorded(chunks=100_000)  # 6GB if it were read
        for path in ("/api/v1/executions/webhook/lanner.limits/hooked/wrong",
                     "/api/v1/executions/webhook/lanner.limits/nothing/s3cret"):
            answer = _call(app, "POST", path, huge)
            assert answer.status_code == 404 and "has this key" in answer.json()["message"]
            assert huge.pulled == 0
        right = Recorded(chunks=2)
        assert _call(app, "POST", "/api/v1/executions/webhook/lanner.limits/hooked/s3cret", right).status_code == 200
        assert right.pulled == 2 * right.size


def test_the_limit_stops_reading_at_the_chunk_that_passes_it():
    """Pure ASGI: a declared length is refused before any read; a counted body is read no further."""
    reads = []

    async def app(scope, receive, send) -> None:
        while (await receive())["more_body"]:
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    async def run(headers: list[tuple[bytes, bytes]]) -> list[dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            reads.append(1)
            return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

        async def send(message: dict) -> None:
            sent.append(message)

        await BodyLimitMiddleware(app, max_size=2500)({"type": "http", "headers": headers}, receive, send)
        return sent

    declared = asyncio.run(run([(b"content-length", b"2501")]))
    assert declared[0]["status"] == 413 and reads == []
    counted = asyncio.run(run([]))
    assert counted[0]["status"] == 413 and len(reads) == 3  # 1000, 2000, then 3000 > 2500: nothing more
    assert b"lanner.server.max-request-size" in counted[1]["body"]


def _lines(engine, execution_id: str, count: int) -> None:
    now = datetime.now(UTC)
    entries = [log_lines.LogEntry("main", "lanner.limits", "hooked", execution_id, None, "bulk", 0, "INFO",
                                  f"line {index}", now) for index in range(count)]
    with write_connection(engine) as connection, connection.begin():
        log_lines.append_logs(connection, entries)


def test_log_answers_are_pages_no_larger_than_the_limit_linked_to_the_next(web, engine):
    execution_id = web.post("/api/v1/executions/lanner.limits/hooked").json()["id"]
    _lines(engine, execution_id, 25)
    seen, address, pages = [], f"/api/v1/logs/{execution_id}?taskId=bulk", 0
    while address:
        answer = web.get(address)
        assert answer.status_code == 200 and isinstance(answer.json(), list)  # Kestra's shape: a list
        assert len(answer.json()) <= 10
        seen += [line["message"] for line in answer.json()]
        address = answer.links.get("next", {}).get("url")
        pages += 1
    assert seen == [f"line {index}" for index in range(25)] and pages == 3
    refused = web.get(f"/api/v1/logs/{execution_id}", params={"size": 11})
    assert refused.status_code == 400 and "lanner.server.max-log-page-size" in refused.json()["message"]
    assert len(web.get(f"/api/v1/logs/{execution_id}", params={"size": 4, "page": 2, "taskId": "bulk"}).json()) == 4


def test_the_download_sends_every_line_reading_a_page_at_a_time(web, engine, monkeypatch):
    monkeypatch.setattr(routes_logs, "READ_LOGS", 7)
    execution_id = web.post("/api/v1/executions/lanner.limits/hooked").json()["id"]
    _lines(engine, execution_id, 25)
    text = web.get(f"/api/v1/logs/{execution_id}/download").text
    assert [line.rsplit(" ", 2)[-2:] for line in text.splitlines() if " bulk " in line] == \
        [["line", str(index)] for index in range(25)]


def test_limits_are_read_from_the_server_settings():
    limits = Limits.of(ServerSettings(max_request_size="2MB", multipart={"max_part_size": "2KB", "max_parts": 7},
                                      max_log_page_size=50, threads=3))
    assert limits == Limits(2 << 20, 2048, 7, 50, 3)


def test_searching_flows_parses_no_source(web, monkeypatch):
    """The parsed definition is stored with each revision when it is saved; a search reads it."""
    labelled = HOOKED.replace("id: hooked", "id: labelled").replace("inputs:", "labels:\n  team: data\ninputs:", 1)
    assert web.post("/api/v1/flows", content=labelled, headers=YAML).status_code == 200

    def refuse(_source: str) -> None:
        raise AssertionError("a search parsed a flow source")

    monkeypatch.setattr(flow_repository, "parse", refuse)
    found = web.get("/api/v1/flows/search", params={"namespace": "lanner.limits"}).json()
    assert found["total"] == 2 and [f["id"] for f in found["results"]] == ["hooked", "labelled"]
    assert found["results"][0]["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Pause"
    by_label = web.get("/api/v1/flows/search", params={"labels": "team:data"}).json()
    assert by_label["total"] == 1 and by_label["results"][0]["labels"] == [{"key": "team", "value": "data"}]
    paged = web.get("/api/v1/flows/search", params={"size": 1, "page": 2, "q": "limits"}).json()
    assert paged["total"] == 2 and [f["id"] for f in paged["results"]] == ["labelled"]


def test_a_request_that_finds_no_free_database_connection_is_answered_503_and_changes_nothing(database_url,
                                                                                              tmp_path):
    config = config_for(database_url, DATABASE_POOL_SIZE="2", DATABASE_MAX_OVERFLOW="0", DATABASE_POOL_TIMEOUT="2s")
    engine = prepare_database(config, may_migrate=True)
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (2, 0, 2.0)  # the settings
    source = "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    try:
        with Runtime(engine, executors=0, storage_path=tmp_path / "storage", web_port=0) as runtime, \
                httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            with engine.connect(), engine.connect():  # every connection of the pool, held
                busy = client.post("/api/v1/flows", content=source, headers={"Content-Type": "application/x-yaml"})
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
            assert "lanner.database.pool-timeout" in busy.json()["message"]
            assert client.get("/api/v1/flows/n/f").status_code == 404  # nothing was written
            assert client.post("/api/v1/flows", content=source,
                               headers={"Content-Type": "application/x-yaml"}).status_code == 200
    finally:
        engine.dispose()
