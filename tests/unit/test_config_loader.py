"""Configuration: precedence, spellings, and every error path with its location."""

from datetime import timedelta
from pathlib import Path

import pytest

from lanner.config import load_config
from lanner.config.settings import WorkerTaskRestartStrategy
from lanner.errors import ConfigError, ExitCode


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path):
    loaded = load_config(None, {})
    s = loaded.settings
    assert s.database.url == "sqlite:///./data/lanner.db"
    assert s.database.auto_migrate is True
    assert s.server.termination_grace_period == timedelta(minutes=5)
    assert s.server.worker_task_restart_strategy is WorkerTaskRestartStrategy.AFTER_TERMINATION_GRACE_PERIOD
    assert (s.server.liveness.enabled, s.server.liveness.interval, s.server.liveness.timeout,
            s.server.liveness.initial_delay, s.server.liveness.heartbeat_interval) == (
        True, timedelta(seconds=2), timedelta(seconds=10), timedelta(seconds=10), timedelta(seconds=1))
    assert str(s.storage.path) == "data/storage"
    assert loaded.file_path is None
    assert str(loaded.source_of(("database", "url"))) == "default"


def test_default_file_in_home_is_read(_isolated_home):  # noqa: PT019 - its value is used
    (_isolated_home / ".lanner").mkdir()
    (_isolated_home / ".lanner" / "config.yml").write_text("lanner:\n  database:\n    auto-migrate: false\n")
    loaded = load_config(None, {})
    assert loaded.settings.database.auto_migrate is False
    assert loaded.explicit_path is None


def test_environment_overrides_file_which_overrides_defaults(tmp_path):
    path = write(tmp_path, "lanner:\n  database:\n    url: sqlite:///from-file.db\n  server:\n    termination-grace-period: 1m\n")
    loaded = load_config(path, {"LANNER_DATABASE_URL": "sqlite:///from-env.db"})
    assert loaded.settings.database.url == "sqlite:///from-env.db"
    assert str(loaded.source_of(("database", "url"))) == "env LANNER_DATABASE_URL"
    assert loaded.settings.server.termination_grace_period == timedelta(minutes=1)
    assert str(loaded.source_of(("server", "termination_grace_period"))) == f"file {path}:5"
    assert str(loaded.source_of(("server", "liveness", "timeout"))) == "default"


@pytest.mark.parametrize("key", ["termination-grace-period", "terminationGracePeriod", "terminateGracePeriod",
                                 "termination_grace_period"])
def test_grace_period_spellings(tmp_path, key):
    loaded = load_config(write(tmp_path, f"lanner:\n  server:\n    {key}: PT90S\n"), {})
    assert loaded.settings.server.termination_grace_period == timedelta(seconds=90)
    assert loaded.warnings == ()


def test_camel_and_kebab_case_nested_keys(tmp_path):
    text = ("lanner:\n  server:\n    workerTaskRestartStrategy: NEVER\n    liveness:\n      initialDelay: 250ms\n"
            "      heartbeat-interval: 100ms\n  database:\n    autoMigrate: false\n")
    s = load_config(write(tmp_path, text), {}).settings
    assert s.server.worker_task_restart_strategy is WorkerTaskRestartStrategy.NEVER
    assert s.server.liveness.initial_delay == timedelta(milliseconds=250)
    assert s.server.liveness.heartbeat_interval == timedelta(milliseconds=100)
    assert s.database.auto_migrate is False


def test_every_key_has_an_environment_variable():
    env = {
        "LANNER_SERVER_TERMINATION_GRACE_PERIOD": "30s",
        "LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY": "IMMEDIATELY",
        "LANNER_SERVER_LIVENESS_ENABLED": "false",
        "LANNER_SERVER_LIVENESS_HEARTBEAT_INTERVAL": "200ms",
        "LANNER_DATABASE_AUTO_MIGRATE": "false",
        "LANNER_STORAGE_PATH": "/srv/lanner",
    }
    s = load_config(None, env).settings
    assert s.server.termination_grace_period == timedelta(seconds=30)
    assert s.server.worker_task_restart_strategy is WorkerTaskRestartStrategy.IMMEDIATELY
    assert s.server.liveness.enabled is False
    assert s.server.liveness.heartbeat_interval == timedelta(milliseconds=200)
    assert s.database.auto_migrate is False
    assert str(s.storage.path) == "/srv/lanner"


def test_unknown_key_warns_with_file_line_and_closest_key(tmp_path):
    path = write(tmp_path, "lanner:\n  server:\n    livenes:\n      enabled: false\n  databse:\n    url: x\n")
    loaded = load_config(path, {})
    assert loaded.warnings == (
        f"{path}:3: unknown key 'lanner.server.livenes' ignored; did you mean 'lanner.server.liveness'?",
        f"{path}:5: unknown key 'lanner.databse' ignored; did you mean 'lanner.database'?",
    )
    assert loaded.settings.server.liveness.enabled is True


def test_unknown_top_level_key_warns(tmp_path):
    path = write(tmp_path, "kestra:\n  server: {}\n")
    assert load_config(path, {}).warnings == (
        f"{path}:1: unknown top-level key 'kestra' ignored; Lanner reads its settings under 'lanner:'",
    )


def test_same_key_twice_in_two_spellings_warns(tmp_path):
    path = write(tmp_path, "lanner:\n  server:\n    terminationGracePeriod: 1m\n    termination-grace-period: 2m\n")
    loaded = load_config(path, {})
    assert loaded.settings.server.termination_grace_period == timedelta(minutes=2)
    assert "sets lanner.server.termination-grace-period again" in loaded.warnings[0]
    assert loaded.warnings[0].startswith(f"{path}:4:")


def test_invalid_value_names_key_value_line_and_expectation(tmp_path):
    path = write(tmp_path, "lanner:\n  server:\n    termination-grace-period: five minutes\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value) == (
        f"invalid value for lanner.server.termination-grace-period: 'five minutes' (from file {path}:3): "
        "expected a duration such as 5m, 300s, 1h30m, 250ms or ISO-8601 PT5M"
    )


def test_invalid_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"lanner\.database\.auto-migrate: 'maybe' \(from env LANNER_DATABASE_AUTO_MIGRATE\): expected true or false"):
        load_config(None, {"LANNER_DATABASE_AUTO_MIGRATE": "maybe"})


def test_invalid_enum_lists_the_choices():
    with pytest.raises(ConfigError, match="expected one of: 'AFTER_TERMINATION_GRACE_PERIOD', 'IMMEDIATELY' or 'NEVER'"):
        load_config(None, {"LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY": "SOMETIMES"})


def test_unsupported_database_url_is_explained():
    with pytest.raises(ConfigError, match="lanner.database.url: 'mysql://x' .*expected a database URL starting with sqlite:///"):
        load_config(None, {"LANNER_DATABASE_URL": "mysql://x"})


def test_several_invalid_values_are_all_reported(tmp_path):
    path = write(tmp_path, "lanner:\n  server:\n    liveness:\n      interval: often\n      enabled: 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "liveness.interval: 'often'" in str(caught.value)
    assert "liveness.enabled: 3" in str(caught.value)


def test_section_given_a_scalar_is_an_error(tmp_path):
    path = write(tmp_path, "lanner:\n  server: fast\n")
    with pytest.raises(ConfigError, match=f"{path}:2: invalid value for lanner.server: expected a mapping"):
        load_config(path, {})


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file .*nope.yml does not exist"):
        load_config(tmp_path / "nope.yml", {})


def test_invalid_yaml_points_at_the_line(tmp_path):
    path = write(tmp_path, "lanner:\n  server:\n    liveness: [unclosed\n  database: {}\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+:\d+: invalid YAML"):
        load_config(path, {})


def test_duplicate_yaml_key_is_an_error(tmp_path):
    path = write(tmp_path, "lanner:\n  server: {}\n  server: {}\n")
    with pytest.raises(ConfigError, match=rf"{path}:3:\d+: invalid YAML"):
        load_config(path, {})


def test_non_mapping_document_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="must be a mapping with a top-level 'lanner:' key"):
        load_config(write(tmp_path, "- a\n- b\n"), {})


def test_empty_file_means_defaults(tmp_path):
    loaded = load_config(write(tmp_path, ""), {})
    assert loaded.settings.database.auto_migrate is True


def test_the_log_cap_per_task_is_a_size(tmp_path):
    assert load_config(None, {}).settings.worker.logs.max_size_per_task == 10 << 20
    path = write(tmp_path, "lanner:\n  worker:\n    logs:\n      maxSizePerTask: 512KB\n")
    assert load_config(path, {}).settings.worker.logs.max_size_per_task == 512 << 10
    assert load_config(None, {"LANNER_WORKER_LOGS_MAX_SIZE_PER_TASK": "2MB"}).settings.worker.logs.max_size_per_task == 2 << 20
    with pytest.raises(ConfigError, match=r"lanner\.worker\.logs\.max-size-per-task: 'lots' \(from env "
                                          r"LANNER_WORKER_LOGS_MAX_SIZE_PER_TASK\): expected a size such as 10MB"):
        load_config(None, {"LANNER_WORKER_LOGS_MAX_SIZE_PER_TASK": "lots"})


# Secrets never appear in what configuration errors say (issue #17).
SECRET = "hunter2"


def test_a_bad_database_url_is_shown_with_its_password_masked():
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"LANNER_DATABASE_URL": f"mysql+pymysql://u:{SECRET}@h/db"})
    assert SECRET not in str(caught.value)
    assert "'mysql+pymysql://u:******@h/db' (from env LANNER_DATABASE_URL)" in str(caught.value)


def test_an_invalid_setting_next_to_a_database_url_does_not_reveal_it(tmp_path):
    path = write(tmp_path, f"lanner:\n  database:\n    url: postgresql://u:{SECRET}@h/db\n    auto-migrate: maybe\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert SECRET not in str(caught.value) and "lanner.database.auto-migrate: 'maybe'" in str(caught.value)


def test_an_unparseable_database_url_is_masked_whole():
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"LANNER_DATABASE_URL": f"u:{SECRET}@h"})
    assert SECRET not in str(caught.value) and "'******'" in str(caught.value)


def test_a_secret_setting_of_the_wrong_type_is_masked(tmp_path):
    path = write(tmp_path, f"lanner:\n  backup:\n    encryption-key: [{SECRET}]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert SECRET not in str(caught.value) and "lanner.backup.encryption-key: '******'" in str(caught.value)


def test_an_incomplete_basic_auth_section_does_not_echo_its_password(tmp_path):
    path = write(tmp_path, f"lanner:\n  server:\n    basic-auth:\n      password: {SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert SECRET not in str(caught.value)
    assert f"invalid settings for lanner.server.basic-auth (from file {path}:4): basic authentication has a password " \
           "but no username" in str(caught.value)


def test_a_secret_misplaced_as_a_section_is_not_echoed(tmp_path):
    path = write(tmp_path, f"lanner:\n  database: postgresql://u:{SECRET}@h/db\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert SECRET not in str(caught.value) and "expected a mapping of settings, got a text value" in str(caught.value)


def test_open_urls_default_to_kestras_webhooks_and_accept_a_list_or_comma_separated_text(tmp_path):
    assert load_config(None, {}).settings.server.basic_auth.open_urls == [
        "/api/v1/executions/webhook/", "/api/v1/main/executions/webhook/"]
    env = {"LANNER_SERVER_BASIC_AUTH_OPEN_URLS": "/api/v1/executions/webhook/, /api/v1/flows/search"}
    assert load_config(None, env).settings.server.basic_auth.open_urls == [
        "/api/v1/executions/webhook/", "/api/v1/flows/search"]
    path = write(tmp_path, "lanner:\n  server:\n    basic-auth:\n      openUrls:\n        - /api/v1/flows/\n")
    assert load_config(path, {}).settings.server.basic_auth.open_urls == ["/api/v1/flows/"]
    bad = write(tmp_path, "lanner:\n  server:\n    basic-auth:\n      open-urls: [api/v1/flows]\n")
    with pytest.raises(ConfigError, match="'api/v1/flows', which is not a path"):
        load_config(bad, {})


def test_basic_auth_enabled_without_credentials_is_valid_the_setup_page_creates_the_user():
    auth = load_config(None, {"LANNER_SERVER_BASIC_AUTH_ENABLED": "true"}).settings.server.basic_auth
    assert auth.enabled and not auth.configured


def test_the_encryption_key_is_base64_of_an_aes_key_and_never_echoed():
    kestra_docs_key = "NWRhUDc5TERWY2QyMDhSSHhfeWYzbjJpNE5vb3M5NnY="  # 32 characters, base64-encoded
    loaded = load_config(None, {"LANNER_ENCRYPTION_SECRET_KEY": kestra_docs_key})
    assert loaded.settings.encryption.secret_key == kestra_docs_key
    assert load_config(None, {}).settings.encryption.secret_key == ""
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"LANNER_ENCRYPTION_SECRET_KEY": "c2hvcnQta2V5"})
    assert str(caught.value) == (
        "invalid value for lanner.encryption.secret-key: '******' (from env LANNER_ENCRYPTION_SECRET_KEY): "
        "expected a base64-encoded 32-byte key: the key is 9 bytes once base64-decoded; expected 16, 24 or 32 "
        "(make one with `openssl rand -base64 32`)")


def test_max_deliveries_is_a_count_of_at_least_one(tmp_path):
    assert load_config(None, {}).settings.queue.max_deliveries == 3
    path = write(tmp_path, "lanner:\n  queue:\n    maxDeliveries: 5\n")
    assert load_config(path, {}).settings.queue.max_deliveries == 5
    assert load_config(None, {"LANNER_QUEUE_MAX_DELIVERIES": "2"}).settings.queue.max_deliveries == 2
    with pytest.raises(ConfigError, match=r"lanner\.queue\.max-deliveries: '0' \(from env LANNER_QUEUE_MAX_DELIVERIES\)"):
        load_config(None, {"LANNER_QUEUE_MAX_DELIVERIES": "0"})
