"""Fixtures shared by every test: isolated homes, real SQLite files and real PostgreSQL databases.

``database_url`` is parametrised over both backends, so a test that takes it runs on
SQLite and on PostgreSQL (Kestra's "same runner tests on every backend").  Under
``CI=true`` a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner import encryption
from tests import pg_harness

IN_CI = os.environ.get("CI", "").lower() == "true"
SEED_VARIABLE = "LANNER_TEST_SEED"


def pytest_configure(config: pytest.Config) -> None:
    run_seed()  # chosen before any xdist worker starts: they inherit it


def run_seed() -> int:
    """This run's random seed: ``LANNER_TEST_SEED`` if set (to replay a run), else one chosen once."""
    if not os.environ.get(SEED_VARIABLE, "").strip():
        os.environ[SEED_VARIABLE] = str(random.SystemRandom().randrange(1_000_000))
    value = os.environ[SEED_VARIABLE].strip()
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(
            f"{SEED_VARIABLE}={value!r}: expected a whole number, e.g. {SEED_VARIABLE}=1234") from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"random seed: {run_seed()} (replay with {SEED_VARIABLE}={run_seed()})"


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The random seed of this run, for any test that draws random values: printed (pytest shows it
    with a failure), recorded in the report (``user_properties``, JUnit XML) and replayable with
    ``LANNER_TEST_SEED=<seed>``.  Seed your own ``random.Random(seed)``; never the global one."""
    chosen = run_seed()
    print(f"random seed {chosen}: replay with {SEED_VARIABLE}={chosen}")
    request.node.user_properties.append(("random seed", chosen))
    return chosen


@pytest.fixture
def seeded_random(seed: int) -> random.Random:
    """A ``random.Random`` seeded with :func:`seed` (printed and replayable)."""
    return random.Random(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failing test that used a seed says which, in its own report section."""
    outcome = yield
    report = outcome.get_result()
    seeds = [value for name, value in item.user_properties if name == "random seed"]
    if report.failed and seeds:
        report.sections.append(("random seed", f"{seeds[0]} (replay with {SEED_VARIABLE}={seeds[0]})"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's ~/.lanner/config.yml or inherits their LANNER_* variables, and no
    test leaves temporary files behind: they go to pytest's own temporary folders (kept for the last
    three runs), in this process and in the processes it starts."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    temporary = tmp_path_factory.mktemp("tmp")
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    for name in list(os.environ):
        if name.startswith("LANNER_") and not name.startswith("LANNER_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(encryption, "_process_key", None)  # no encryption key unless a test sets one
    return home


@pytest.fixture
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh lanner.encryption.secret-key for this process (SECRET inputs and outputs), gone after the test."""
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setattr(encryption, "_process_key", None)
    encryption.configure(key)
    return key


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        return pg_harness.server_url()
    except pg_harness.Unavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    name = f"lanner_test_{uuid.uuid4().hex[:12]}"
    url = pg_harness.create_database(postgres_server, name)
    try:
        yield url
    finally:
        pg_harness.drop_database(postgres_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'lanner.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


def run_lanner(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
               timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process, as an operator would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lanner", *args], env=full_env, cwd=cwd, capture_output=True,
        text=True, timeout=timeout, input=input,
    )
