"""Serving the app with uvicorn in a thread of a server process, and stopping it in order.

Stopping (SIGTERM): readiness turns false first, so a load balancer stops sending
requests; then uvicorn stops accepting connections and finishes the requests in flight.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING

import anyio.to_thread
import uvicorn

from lanner.errors import UsageError
from lanner.web.app import create_app
from lanner.web.context import Server
from lanner.web.limits import Limits
from lanner.web.security import allowed_host_names

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.settings import BasicAuth
    from lanner.engine.shell.flow_cache import FlowCache
    from lanner.files import Storage
    from lanner.store.queue import Queue

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, engine: Engine, queue: Queue, flows: FlowCache, *, host: str = "127.0.0.1",
                 port: int = 8080, basic_auth: BasicAuth | None = None, drain_delay: float = 0.0,
                 instance_id: str | None = None, allowed_hosts: list[str] | None = None,
                 limits: Limits | None = None, storage: Storage | None = None) -> None:
        self.context = Server(engine, queue, flows, instance_id=instance_id, storage=storage)
        self.drain_delay = drain_delay
        limits = limits or Limits()
        app = create_app(self.context, basic_auth, allowed_hosts=allowed_host_names(host, allowed_hosts or []),
                         limits=limits)
        self.app = app
        config = uvicorn.Config(app, host=host, port=port, log_config=None,
                                access_log=False, lifespan="off", timeout_graceful_shutdown=30)
        self._server = _Uvicorn(config, threads=limits.threads)
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webserver", daemon=True)
        self._thread.start()

    def wait_started(self, timeout: float = 30.0) -> int:
        """Block until the server listens; its port (the one the OS chose for port 0)."""
        self._started.wait(timeout)
        if not self._server.started:
            config = self._server.config
            raise UsageError(f"the webserver cannot listen on {config.host}:{config.port}: {_bind_problem(config)}",
                             "Stop what uses that address, or choose another with --port (or lanner.server.host "
                             "and --host for the address).")
        port: int = self._server.servers[0].sockets[0].getsockname()[1]
        return port

    def announce_authentication(self, host: str, port: int) -> None:
        """Say at start what authentication still needs: the user to create, or the rules its password breaks."""
        from lanner.web.auth_users import problems

        users = self.app.state.users
        if users is None:
            return
        if users.configured:
            found = problems(users.settings.username, users.settings.password)
            if found:
                log.warning("the configured basic-auth credentials are weaker than Kestra's rules (Lanner uses them "
                            "all the same): %s", "; ".join(found))
        elif users.current() is None:
            shown = f"[{host}]" if ":" in host else host
            log.warning("basic authentication is on and no user exists yet: open http://%s:%d/ui/setup to create it "
                        "(the first visitor does); until then the API answers 401", shown, port)

    def _run(self) -> None:
        config = self._server.config
        # uvicorn has no "started" callback: poll its flag from a helper while it runs.
        watcher = threading.Thread(target=self._watch_start, daemon=True)
        watcher.start()
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits when it cannot bind: say so instead of dying silently
            log.error("the webserver could not listen on %s:%d", config.host, config.port)
        finally:
            self._started.set()

    def _watch_start(self) -> None:
        while not self._server.started and not self._started.is_set():
            self._started.wait(0.01)
        self._started.set()

    def stop(self, timeout: float | None = None) -> None:
        self.context.draining.set()  # /health/ready answers 503 from now on; open streams end
        if self.drain_delay > 0:
            log.info("webserver draining: unready for %.1f s before it stops accepting requests", self.drain_delay)
            threading.Event().wait(self.drain_delay)  # load balancers see it unready and stop sending
        self._server.should_exit = True  # stop accepting; requests in flight finish
        if self._thread is not None:
            self._thread.join(timeout)


class _Uvicorn(uvicorn.Server):
    """uvicorn, with the API's thread pool sized (``lanner.server.threads``) on its event loop."""

    def __init__(self, config: uvicorn.Config, threads: int) -> None:
        super().__init__(config)
        self.threads = threads

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        # The limiter of anyio's worker threads, which Starlette's run_in_threadpool (sync routes,
        # lanner.web.limits.blocking) uses: one per event loop, 40 unless set.
        anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
        await super().serve(sockets)


def _bind_problem(config: uvicorn.Config) -> str:
    """Why the address cannot be bound, as the system says it (it was free by now: "it was taken")."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((config.host, config.port))
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
    return "it was taken when the webserver started"
