"""No open door by default: the webserver listens on loopback, and refuses to listen elsewhere without auth."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.acceptance.cluster_harness import wait_until
from tests.conftest import run_lanner


def _env(tmp_path, **settings: str) -> dict[str, str]:
    return {"LANNER_DATABASE_URL": f"sqlite:///{tmp_path / 'lanner.db'}", **settings}


def test_listening_beyond_loopback_without_authentication_is_refused_with_the_settings_that_fix_it(tmp_path):
    refused = run_lanner("server", "webserver", "--host", "0.0.0.0", "--port", "0", env=_env(tmp_path), timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to listen on 0.0.0.0 without authentication" in refused.stderr
    for setting in ("lanner.server.basic-auth.enabled", "lanner.server.host", "lanner.server.allow-unauthenticated"):
        assert setting in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "lanner.db").exists()  # refused before anything was opened


def _start(tmp_path, *args: str, **settings: str) -> tuple[subprocess.Popen[bytes], object]:
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "lanner", "server", "webserver", "--port", "0", *args],
                                   env={**__import__("os").environ, **_env(tmp_path, **settings)}, cwd=tmp_path,
                                   stdout=out, stderr=subprocess.STDOUT)
    return process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_the_default_listens_on_loopback_only(tmp_path):
    process, log = _start(tmp_path)
    try:
        line = wait_until(lambda: next((text for text in log.read_text().splitlines() if "listening on port" in text), None),
                          60, "the webserver listening")
        assert line.endswith("(on 127.0.0.1)"), line
    finally:
        _stop(process)


def test_allow_unauthenticated_starts_and_warns_at_every_start(tmp_path):
    process, log = _start(tmp_path, "--host", "0.0.0.0", LANNER_SERVER_ALLOW_UNAUTHENTICATED="true")
    try:
        wait_until(lambda: "listening on port" in log.read_text(), 60, "the webserver listening")
        assert "WITHOUT authentication" in log.read_text()
    finally:
        _stop(process)


def test_a_port_in_use_is_reported_as_such_not_as_a_bug(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = run_lanner("server", "webserver", "--port", str(port), env=_env(tmp_path), timeout=60)
    assert answer.returncode == 2, answer.stderr
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in answer.stderr
    assert "--port" in answer.stderr and "internal error" not in answer.stderr


def test_authentication_on_without_a_user_may_listen_beyond_loopback_and_points_at_the_setup_page(tmp_path):
    """Kestra's first run: the server starts, the API answers 401 and the log says where to create the user."""
    process, log = _start(tmp_path, "--host", "0.0.0.0", LANNER_SERVER_BASIC_AUTH_ENABLED="true")
    try:
        wait_until(lambda: "/ui/setup" in log.read_text(), 60, "the setup notice")
        text = log.read_text()
        assert "no user exists yet" in text and "http://0.0.0.0:" in text and "WITHOUT authentication" not in text
    finally:
        _stop(process)
