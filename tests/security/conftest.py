"""What every hostile-input test checks besides its own assertion: the server stays alive.

``assert_healthy`` asks ``GET /health`` with a one-second client timeout.  This is a
liveness promise, not a performance goal: a server that cannot answer its health check
within a second while (or after) it is fed hostile input is one an orchestrator would
restart.  Tests call it *during* a hostile execution only once an event shows that it
runs (an execution RUNNING, an attempt held by a worker), and again *after*.
"""

from __future__ import annotations

import re

import httpx

from tests.acceptance.cluster_harness import Component, wait_until

HEALTH_TIMEOUT = 1.0  # seconds: the promise itself


def assert_healthy(base_url: str | httpx.URL) -> None:
    """``GET /health`` answers UP within a second (a fresh connection: a pooled one would hide a refused accept)."""
    try:
        answer = httpx.get(f"{str(base_url).rstrip('/')}/health", timeout=HEALTH_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise AssertionError(f"GET /health did not answer within {HEALTH_TIMEOUT:g} s ({type(exc).__name__})") \
            from None
    assert answer.status_code == 200 and answer.json() == {"status": "UP"}, (answer.status_code, answer.text[:200])


def web_url(server: Component) -> str:
    """The address of a `lanner server` component started with ``--port 0``, once it listens."""
    def port() -> int | None:
        found = re.search(r"webserver listening on port (\d+)", server.output())
        return int(found.group(1)) if found else None

    return f"http://127.0.0.1:{wait_until(port, 60, 'the webserver listening')}"
