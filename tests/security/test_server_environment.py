"""A server's credentials are not in its start-up environment (/proc/<pid>/environ), nor in its scripts'."""

from __future__ import annotations

import base64

from lanner.model.state import State
from tests.acceptance.cluster_harness import Cluster, wait_until

FLOW = """id: peek
namespace: lanner.security
tasks:
  - id: peek
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      TOKEN: "{{ secret('API_TOKEN') }}"
    commands:
      - 'cat /proc/$PPID/environ | tr "\\\\0" "\\\\n" | grep -c -E "^(LANNER|SECRET)_" || true'
      - 'env | grep -c -E "^(LANNER|SECRET)_" || true'
      - 'test "$TOKEN" = "tok-123" && echo token-given'
"""


def test_credentials_are_not_in_the_servers_start_up_environment_nor_in_scripts(sqlite_url, tmp_path):
    cluster = Cluster(sqlite_url, tmp_path, LANNER_SERVER_LIVENESS_TIMEOUT="60s",
                      SECRET_API_TOKEN=base64.b64encode(b"tok-123").decode(),
                      LANNER_BACKUP_ENCRYPTION_KEY="backup-key-not-to-be-seen")
    try:
        cluster.deploy(FLOW)
        server = cluster.start("standalone", "--port", "0", "--worker-thread", "2")
        with open(f"/proc/{server.pid}/environ", "rb") as start_up:
            environ = start_up.read().split(b"\0")
        assert not [entry for entry in environ if entry.startswith((b"LANNER_", b"SECRET_"))]
        assert b"backup-key-not-to-be-seen" not in b"".join(environ)
        execution = cluster.executions.create("lanner.security", "peek")
        ended = cluster.wait_ended(execution.id)
        assert ended.current is State.SUCCESS
        printed = [entry.message for entry in cluster.executions.logs(execution.id) if entry.level == "INFO"]
        # Nothing in the server's start-up block nor in the script's own environment; the secret its env names.
        assert printed[:3] == ["0", "0", "token-given"], printed
    finally:
        cluster.close()



def test_what_a_server_creates_is_its_users_alone(tmp_path):
    """The database, its folder and its journal files: 0600 files, 0700 folders."""
    import stat

    data = tmp_path / "data"
    cluster = Cluster(f"sqlite:///{tmp_path / 'harness.db'}", tmp_path)
    try:
        server = cluster.start("standalone", "--port", "0", "--worker-thread", "1", wait=False,
                               LANNER_DATABASE_URL=f"sqlite:///{data / 'lanner.db'}",
                               LANNER_STORAGE_PATH=str(data / "storage"), LANNER_SERVER_LIVENESS_TIMEOUT="60s")
        wait_until(lambda: " ready (instance" in server.output(), 60, "the server ready")
        created = [data, *data.rglob("*")]
        assert data / "lanner.db" in created
        for path in created:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    finally:
        cluster.close()
