"""The ``lanner`` command as an operator drives it: real processes, real databases, exit codes."""

from __future__ import annotations

import json
import re
import socket
import uuid
from importlib.metadata import version

import pytest
import sqlalchemy as sa

from lanner.store.database import create_engine
from lanner.store.migration_scripts import VERSION_TABLE, catalog, head
from tests.conftest import run_lanner
from tests.helpers import config_for, snapshot


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"LANNER_DATABASE_URL": url, **extra}


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_comes_from_package_metadata(flag):
    result = run_lanner(flag)
    assert result.returncode == 0
    assert result.stdout == f"lanner {version('lanner')}\n"


@pytest.mark.parametrize(
    "command",
    [["configs", "show"], ["sys", "database", "migrate"], ["sys", "database", "status"], ["sys", "database", "repair"]],
)
def test_every_command_takes_the_global_options(command):
    result = run_lanner(*command, "-h")
    assert result.returncode == 0
    for option in ("-c, --config", "-l, --log-level", "-v, --verbose", "--internal-log", "-p, --plugins", "-h, --help"):
        assert option in result.stdout, (command, option)


def test_root_help_lists_the_command_groups():
    result = run_lanner("-h")
    assert result.returncode == 0
    assert "configs" in result.stdout and "sys" in result.stdout and "-V, --version" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = run_lanner("sys", "nonsense")
    assert result.returncode == 2
    assert "No such command 'nonsense'" in result.stderr


def test_status_migrate_status(database_url, tmp_path):
    env = env_for(database_url)
    before = run_lanner("sys", "database", "status", env=env, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert f"Code head:    version {head()}" in before.stdout
    assert f"Pending:      {len(catalog())} migration(s)" in before.stdout

    first = run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    for migration in catalog():
        assert re.search(rf"done {migration.revision} .* in \d+\.\d\d s", first.stdout), first.stdout
    assert f"Database schema migrated to version {head()}" in first.stdout

    second = run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path)
    assert second.returncode == 0
    assert second.stdout == f"Database schema is up to date at version {head()}.\n"

    after = run_lanner("sys", "database", "status", env=env, cwd=tmp_path)
    assert after.returncode == 0
    assert f"Schema:       version {head()} (applied by Lanner {version('lanner')})" in after.stdout
    assert "Pending:      none" in after.stdout
    assert "lanner_schema_history" in after.stdout and "success" in after.stdout


def test_status_as_json(database_url, tmp_path):
    env = env_for(database_url)
    assert run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path).returncode == 0
    result = run_lanner("sys", "database", "status", "--format", "json", env=env, cwd=tmp_path)
    info = json.loads(result.stdout)
    assert info["schemaVersion"] == info["codeHead"] == head()
    assert info["pending"] == []
    assert [row["version"] for row in info["history"]] == [m.revision for m in catalog()]
    assert all(row["success"] and row["checksumMatches"] for row in info["history"])


def test_status_of_a_database_not_created_yet_creates_nothing(tmp_path):
    result = run_lanner("sys", "database", "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sqlite:///./data/lanner.db" in result.stdout
    assert "does not exist yet" in result.stdout
    assert not (tmp_path / "data").exists()


def _pretend_a_newer_lanner_migrated(url: str) -> None:
    engine = create_engine(config_for(url).settings.database)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
            connection.execute(sa.text(
                "INSERT INTO lanner_schema_history (version, description, script, checksum, lanner_version,"
                " installed_by, installed_on, execution_time_ms, success) VALUES ('9999', 'future', '9999_f.py',"
                " 'x', '9.1.0', 'test', CURRENT_TIMESTAMP, 1, true)"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "command",
    [["sys", "database", "migrate"], ["sys", "database", "migrate", "--dry-run"], ["sys", "database", "status"],
     ["sys", "database", "repair", "--yes"]],
)
def test_every_command_refuses_a_newer_schema_with_exit_3(database_url, tmp_path, command):
    env = env_for(database_url)
    assert run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path).returncode == 0
    _pretend_a_newer_lanner_migrated(database_url)
    before = snapshot(database_url)
    result = run_lanner(*command, env=env, cwd=tmp_path)
    assert result.returncode == 3, result
    assert "schema version 9999, applied by Lanner 9.1.0" in result.stderr
    assert "restore the backup taken before the upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(database_url) == before


def test_changed_migration_blocks_until_repaired(database_url, tmp_path):
    env = env_for(database_url)
    assert run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path).returncode == 0
    engine = create_engine(config_for(database_url).settings.database)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE lanner_schema_history SET checksum = 'tampered'"))
    finally:
        engine.dispose()

    refused = run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path)
    assert refused.returncode == 5
    assert "applied migrations changed since they ran" in refused.stderr
    assert "lanner sys database repair" in refused.stderr

    status = run_lanner("sys", "database", "status", env=env, cwd=tmp_path)
    assert status.returncode == 5 and "CHECKSUM CHANGED" in status.stdout

    unconfirmed = run_lanner("sys", "database", "repair", env=env, cwd=tmp_path, input="")
    assert unconfirmed.returncode == 2
    assert "--yes" in unconfirmed.stderr

    repaired = run_lanner("sys", "database", "repair", "--yes", env=env, cwd=tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert f"Recorded new checksums for {', '.join(m.revision for m in catalog())}" in repaired.stdout
    assert run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path).returncode == 0


def test_dry_run_prints_sql_and_touches_nothing(database_url, tmp_path):
    env = env_for(database_url)
    result = run_lanner("sys", "database", "migrate", "--dry-run", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE flows" in result.stdout and "INSERT INTO lanner_schema_history" in result.stdout
    if database_url.startswith("sqlite"):
        assert not list(tmp_path.rglob("*.db"))
        assert "JSONB" not in result.stdout
    else:
        assert "JSONB" in result.stdout
        assert snapshot(database_url) == {}


def test_configs_show_masks_secrets_and_names_sources(tmp_path):
    config_file = tmp_path / "lanner.yml"
    config_file.write_text("lanner:\n  server:\n    terminationGracePeriod: 90s\n")
    env = {"LANNER_DATABASE_URL": "postgresql://lanner:s3cret@db.internal:5432/lanner",
           "LANNER_ENCRYPTION_SECRET_KEY": "NWRhUDc5TERWY2QyMDhSSHhfeWYzbjJpNE5vb3M5NnY="}
    result = run_lanner("configs", "show", "-c", str(config_file), env=env)
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout and "NWRhUDc5" not in result.stdout
    assert re.search(r"lanner\.encryption\.secret-key = \*\*\*\*\*\*\s+# env LANNER_ENCRYPTION_SECRET_KEY", result.stdout)
    assert re.search(r"lanner\.database\.url = postgresql\+psycopg://lanner:\*\*\*\*\*\*@db\.internal:5432/lanner\s+# env LANNER_DATABASE_URL", result.stdout)
    assert re.search(rf"lanner\.server\.termination-grace-period = 1m30s\s+# file {re.escape(str(config_file))}:3", result.stdout)
    assert re.search(r"lanner\.server\.liveness\.timeout = 10s\s+# default", result.stdout)

    as_json = json.loads(run_lanner("configs", "show", "--format", "json", "-c", str(config_file), env=env).stdout)
    values = {row["key"]: row for row in as_json["values"]}
    assert values["lanner.database.url"]["source"] == "env LANNER_DATABASE_URL"
    assert "s3cret" not in json.dumps(as_json)


def test_invalid_configuration_exits_2_without_traceback(tmp_path):
    config_file = tmp_path / "lanner.yml"
    config_file.write_text("lanner:\n  server:\n    liveness:\n      timeout: soon\n")
    result = run_lanner("sys", "database", "status", "-c", str(config_file), cwd=tmp_path)
    assert result.returncode == 2
    assert f"invalid value for lanner.server.liveness.timeout: 'soon' (from file {config_file}:4)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_key_is_a_warning_not_a_failure(tmp_path):
    config_file = tmp_path / "lanner.yml"
    config_file.write_text("lanner:\n  database:\n    autoMigrat: false\n")
    result = run_lanner("configs", "show", "-c", str(config_file), cwd=tmp_path)
    assert result.returncode == 0
    assert f"{config_file}:3: unknown key 'lanner.database.autoMigrat' ignored; did you mean 'lanner.database.auto-migrate'?" in result.stderr


def test_missing_explicit_config_file_exits_2(tmp_path):
    result = run_lanner("configs", "show", "-c", str(tmp_path / "missing.yml"))
    assert result.returncode == 2
    assert "missing.yml does not exist" in result.stderr


def test_unreachable_database_exits_6(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    url = f"postgresql://lanner:pw@127.0.0.1:{port}/lanner"
    result = run_lanner("sys", "database", "migrate", env=env_for(url), cwd=tmp_path)
    assert result.returncode == 6
    assert f"cannot connect to the database postgresql+psycopg://lanner:******@127.0.0.1:{port}/lanner" in result.stderr
    assert "pw@" not in result.stderr and "Traceback" not in result.stderr


def test_log_levels_for_lanner_and_for_libraries(database_url, tmp_path):
    env = env_for(database_url)
    default = run_lanner("sys", "database", "migrate", "--dry-run", env=env, cwd=tmp_path)
    assert default.returncode == 0 and "DEBUG" not in default.stderr and "Running upgrade" not in default.stderr

    verbose = run_lanner("sys", "database", "migrate", "-v", env=env, cwd=tmp_path)
    assert verbose.returncode == 0
    assert "DEBUG lanner.store.migrator - schema at none" in verbose.stderr
    assert "Running upgrade" not in verbose.stderr  # libraries stay quiet without --internal-log

    internal = run_lanner("sys", "database", "status", "--internal-log", "-l", "DEBUG", env=env, cwd=tmp_path)
    assert internal.returncode == 0
    assert "sqlalchemy" in internal.stderr or "alembic" in internal.stderr

    quiet = run_lanner("sys", "database", "migrate", "-l", "ERROR", env=env, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def _database_named(server: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://")) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def test_a_postgresql_database_that_does_not_exist_is_created_by_migrate(postgres_server, tmp_path):
    from tests import pg_harness

    name = f"lanner_missing_{uuid.uuid4().hex[:8]}"
    env = env_for(postgres_server.rsplit("/", 1)[0] + f"/{name}")
    try:
        status = run_lanner("sys", "database", "status", env=env, cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert "the database does not exist yet; 'lanner sys database migrate' creates it" in status.stdout
        assert not _database_named(postgres_server, name)  # status creates nothing
        migrated = run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        assert f"created the PostgreSQL database {name}" in migrated.stderr
        assert f"Database schema migrated to version {head()}" in migrated.stdout
        assert _database_named(postgres_server, name)
    finally:
        pg_harness.drop_database(postgres_server, name)


def test_a_missing_database_the_user_may_not_create_names_the_commands_to_run(postgres_server, tmp_path):
    import psycopg

    role, name = f"lanner_nocreate_{uuid.uuid4().hex[:8]}", f"lanner_missing_{uuid.uuid4().hex[:8]}"
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    try:
        host = postgres_server.split("@", 1)[1].rsplit("/", 1)[0]  # host:port
        result = run_lanner("sys", "database", "migrate", env=env_for(f"postgresql://{role}@{host}/{name}"),
                            cwd=tmp_path)
        assert result.returncode == 6, result.stdout
        assert f"the PostgreSQL database '{name}' does not exist" in result.stderr
        assert "permission denied to create database" in result.stderr
        hostname, port = host.rsplit(":", 1)
        assert f"createdb -h {hostname} -p {port} -U {role} {name}" in result.stderr
        assert f'CREATE DATABASE "{name}" OWNER "{role}";' in result.stderr
        assert "Traceback" not in result.stderr and not _database_named(postgres_server, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_a_busy_sqlite_database_is_reported_as_busy_not_as_a_bug(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'lanner.db'}"
    assert run_lanner("sys", "database", "migrate", env={"LANNER_DATABASE_URL": url}).returncode == 0
    holder = sqlite3.connect(tmp_path / "lanner.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        busy = run_lanner("sys", "maintenance", "enter",
                          env={"LANNER_DATABASE_URL": url, "LANNER_DATABASE_BUSY_TIMEOUT": "200ms"})
    finally:
        holder.close()
    assert busy.returncode == 6, busy.stderr
    assert "is busy" in busy.stderr and "lanner.database.busy-timeout" in busy.stderr
    assert "internal error" not in busy.stderr


def test_configs_show_masks_every_secret_setting(tmp_path):
    config_file = tmp_path / "lanner.yml"
    config_file.write_text("lanner:\n  backup:\n    encryption-key: k3y-hunter2\n")
    env = {"LANNER_DATABASE_URL": "postgresql+psycopg://u:hunter2@h/db?sslpassword=hunter2",
           "LANNER_SERVER_BASIC_AUTH_USERNAME": "admin@example.com", "LANNER_SERVER_BASIC_AUTH_PASSWORD": "hunter2"}
    for fmt in ("text", "json"):
        result = run_lanner("configs", "show", "--format", fmt, "-c", str(config_file), env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout + result.stderr, fmt
    text = run_lanner("configs", "show", "-c", str(config_file), env=env, cwd=tmp_path).stdout
    assert "lanner.database.url = postgresql+psycopg://u:******@h/db?sslpassword=******" in text
    assert re.search(r"lanner\.server\.basic-auth\.password = \*\*\*\*\*\*\s+# env", text)
    assert re.search(r"lanner\.backup\.encryption-key = \*\*\*\*\*\*\s+# file", text)
