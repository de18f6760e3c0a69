"""Find or start the PostgreSQL server the tests run against.

In order: ``LANNER_TEST_POSTGRES_URL``; a server on 127.0.0.1:5432 accepting the
``postgres`` user without a password; else a throwaway cluster started from the
machine's PostgreSQL binaries (installing Debian's ``postgresql`` package first when
they are missing and we run as root).  Tests create and drop their own databases on
whichever server this returns.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

# The machine's temporary folder, as it was before tests pointed TMPDIR into their own folders.
_SYSTEM_TEMP = tempfile.gettempdir()

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Unavailable(Exception):
    pass


def server_url() -> str:
    """A URL on which databases can be created (the ``postgres`` maintenance database)."""
    explicit = os.environ.get("LANNER_TEST_POSTGRES_URL")
    if explicit:
        _check(explicit)
        return explicit
    if os.environ.get("LANNER_TEST_POSTGRES_THROWAWAY") != "1":
        try:
            _check(DEFAULT_URL)
            return DEFAULT_URL
        except Unavailable:
            pass
    return _start_throwaway()


def _check(url: str) -> None:
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        raise Unavailable(f"cannot connect to {url}: {exc}") from exc


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _start_throwaway() -> str:
    cluster = ThrowawayCluster()
    atexit.register(cluster.remove)
    return cluster.url


class ThrowawayCluster:
    """A PostgreSQL cluster of our own (initdb in a temporary folder), which tests may stop and start."""

    def __init__(self, *, durable: bool = False) -> None:
        # durable: PostgreSQL's own defaults (fsync on), for benchmarks; tests run without fsync.
        self.durable = durable
        bindir = _binaries()
        if bindir is None and os.geteuid() == 0 and shutil.which("apt-get"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=False, env=env,
                           capture_output=True)
            bindir = _binaries()
        if bindir is None:
            raise Unavailable("no PostgreSQL server reachable and no PostgreSQL binaries to start one")
        self.bindir = bindir
        # Not in the test's temporary folder: its parents are root's alone, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="lanner-pg-", dir=_SYSTEM_TEMP))
        self.data, self.port = self.root / "data", _free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            user = "postgres"
            shutil.chown(self.root, user)
            self.run_as = ["runuser", "-u", user, "--"]
        subprocess.run([*self.run_as, str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.start()
        _check(self.url)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1" + ("" if self.durable else " -c fsync=off")
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                        "-l", str(self.root / "log"), "-w", "start"], check=True, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"],
                       capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(server: str, name: str) -> str:
    with psycopg.connect(_libpq(server), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(_libpq(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(prefix: str = "lanner_scratch") -> Iterator[str]:
    """A fresh database on the test server for one run (a benchmark, a chaos run), dropped afterwards."""
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)
