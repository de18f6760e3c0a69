"""lanner.worker.run-as: scripts run as an unprivileged user that cannot reach the server's credentials.

These tests switch users, so they need root: a throwaway system user is created for the
session and removed after.  Without root they are skipped, except in CI (CI=true), where
they fail saying why: a security test that silently never runs proves nothing.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.engine.shell.service import Executions
from lanner.errors import ConfigError
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from lanner.tasks.core import run_as
from lanner.tasks.core.scripts import _open_output
from lanner.tasks.runnable import TaskFailure
from tests.acceptance.cluster_harness import wait_until
from tests.conftest import run_lanner
from tests.helpers import config_for


def _need_root() -> None:
    if os.geteuid() == 0:
        return
    reason = f"switching users (lanner.worker.run-as) needs root; these tests run as uid {os.geteuid()}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run them as root")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def scripts_user() -> Iterator[str]:
    """A throwaway unprivileged system user, removed after the session."""
    _need_root()
    name = f"lanner-test-{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


FLOW = """id: probe
namespace: lanner.security
inputs:
  - id: database
    type: STRING
  - id: config
    type: STRING
tasks:
  - id: probe
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [report.txt]
    commands:
      - id -un
      - 'env | grep -c -E "^(LANNER|SECRET)_" || true'
      - 'echo "home=$HOME"'
      - 'cat "{{ inputs.database }}" 2>&1 >/dev/null || true'
      - 'cat "{{ inputs.config }}" 2>&1 >/dev/null || true'
      - 'cat /proc/$PPID/environ 2>&1 >/dev/null || true'
      - 'echo "made by $(id -un)" > report.txt'
  - id: back
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.probe.outputFiles['report.txt']) }}"
"""


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may enter, unlike pytest's (0700): denials must come from the files' own modes."""
    folder = Path(tempfile.mkdtemp(prefix="lanner-run-as-", dir="/tmp"))
    folder.chmod(0o755)
    for step in folder.parents:  # the test proves nothing if a folder above keeps the user out
        assert step.stat().st_mode & stat.S_IXOTH, f"{step} cannot be entered by other users"
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_scripts_run_as_the_user_without_the_servers_credentials_and_their_outputs_come_back(
        scripts_user, open_folder):
    data = open_folder / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # open: only the modes the server gives its files keep the user out
    database = data / "lanner.db"
    config = open_folder / "config.yml"
    config.write_text(f"lanner:\n  database:\n    url: sqlite:///{database}\n"
                      f"  storage:\n    path: {data / 'storage'}\n"
                      f"  worker:\n    run-as: {scripts_user}\n")
    config.chmod(0o600)  # as docs/security.md asks of the operator
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LANNER_", "SECRET_"))}
    (open_folder / "tmp").mkdir(mode=0o755)  # where the worker makes the scripts' working folders
    (open_folder / "tmp").chmod(0o755)
    env.update(SECRET_API_TOKEN="dG9rLTEyMw==", LANNER_SERVER_LIVENESS_TIMEOUT="60s", TMPDIR=str(open_folder / "tmp"))
    log = open_folder / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "lanner", "server", "standalone", "-c", str(config),
                                   "--port", "0", "--worker-thread", "2"],
                                  env=env, cwd=open_folder, stdout=out, stderr=subprocess.STDOUT)
    engine = None
    try:
        wait_until(lambda: " ready (instance" in log.read_text() or server.poll() is not None, 60,
                   "the server ready")
        assert server.poll() is None, log.read_text()
        assert f"scripts run as {scripts_user}" in log.read_text()
        engine = prepare_database(config_for(f"sqlite:///{database}"), may_migrate=False)
        validation = validate_source(FLOW)
        with write_connection(engine) as connection, connection.begin():
            flow_repository.save_flow(connection, validation.flow, FLOW)
        executions = Executions(engine, Queue(engine))
        execution = executions.create("lanner.security", "probe", {"database": str(database), "config": str(config)})
        ended = executions.wait(execution.id, 90)
        messages = [entry.message for entry in executions.logs(execution.id)
                    if entry.level in ("INFO", "WARN") and entry.task_id in ("probe", "back")]
        assert ended.current is State.SUCCESS, messages
        assert messages[0] == scripts_user
        assert messages[1] == "0"  # no LANNER_ nor SECRET_ variable in its environment
        assert messages[2].startswith("home=/") and messages[2] != "home=/root"
        assert messages[3] == f"cat: {database}: Permission denied"
        assert messages[4] == f"cat: {config}: Permission denied"
        assert messages[5].endswith("Permission denied")  # nor the worker's start-up environment
        assert messages[6] == f"made by {scripts_user}\n"  # its output file came back, read by the next task
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)
        if engine is not None:
            engine.dispose()


def test_a_user_that_does_not_exist_refuses_the_worker_start(tmp_path):
    _need_root()
    refused = run_lanner("server", "worker", env={"LANNER_DATABASE_URL": f"sqlite:///{tmp_path / 'lanner.db'}",
                                                  "LANNER_WORKER_RUN_AS": "no-such-user-lanner"}, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "lanner.worker.run-as names the user 'no-such-user-lanner', which does not exist" in refused.stderr
    assert "useradd --system" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "lanner.db").exists()  # refused before anything was opened


def test_root_is_refused_as_the_scripts_user():
    _need_root()
    with pytest.raises(ConfigError, match="names 'root', the root account"):
        run_as.resolve("root")


def test_a_worker_that_cannot_switch_users_refuses_run_as(scripts_user, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    with pytest.raises(ConfigError, match=f"set to '{scripts_user}' but this worker runs as '4242' "
                                          r"\(uid 4242\), which cannot switch users") as refused:
        run_as.resolve(scripts_user)
    assert "Start the worker as root" in str(refused.value)


def test_the_resolved_user_has_its_groups_and_no_setting_means_no_switch(scripts_user, open_folder, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(open_folder))
    user = run_as.resolve(scripts_user)
    entry = pwd.getpwnam(scripts_user)
    assert (user.uid, user.gid) == (entry.pw_uid, entry.pw_gid) and entry.pw_gid in user.groups
    assert run_as.resolve(None) is None and run_as.resolve("  ") is None


def test_a_temporary_folder_the_user_cannot_enter_refuses_run_as(scripts_user, tmp_path, monkeypatch):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(closed))
    with pytest.raises(ConfigError, match=f"scripts' working folders are made in {closed}, which that user cannot "
                                          "enter") as refused:
        run_as.resolve(scripts_user)
    assert "TMPDIR" in str(refused.value)


def test_output_files_are_never_read_through_a_link_that_replaced_a_folder_or_a_file(tmp_path):
    """What a leftover process of the script could do between the listing and the read."""
    workdir, outside = tmp_path / "work", tmp_path / "outside"
    (workdir / "out").mkdir(parents=True)
    outside.mkdir()
    (outside / "data.csv").write_text("the worker's secret")
    (workdir / "out").rmdir()
    (workdir / "out").symlink_to(outside)  # the folder the listing saw is now a link
    (workdir / "direct.csv").symlink_to(outside / "data.csv")
    for relative in ("out/data.csv", "direct.csv"):
        with pytest.raises(TaskFailure, match=f"outputFiles: cannot read '{relative}': .*replaced by a symbolic link"):
            _open_output(workdir, relative, None)


def test_under_run_as_an_output_file_must_be_the_users_own(scripts_user, tmp_path):
    user = run_as.RunAs(scripts_user, pwd.getpwnam(scripts_user).pw_uid, 0, ())
    (tmp_path / "root-owned.csv").write_text("not the script's")  # e.g. a hard link to a file of the worker's
    with pytest.raises(TaskFailure, match=f"'root-owned.csv' changed while it was stored: it is no longer a "
                                          f"regular file of {scripts_user}"):
        _open_output(tmp_path, "root-owned.csv", user)
    os.chown(tmp_path / "root-owned.csv", user.uid, 0)
    with _open_output(tmp_path, "root-owned.csv", user) as handle:
        assert handle.read() == b"not the script's"
