"""The request limits' settings, and the definitions stored with flow revisions."""

from __future__ import annotations

import pytest

from lanner.config.loader import load_config
from lanner.errors import ConfigError
from lanner.store.flow_repository import definition_of
from lanner.web.limits import Limits


def test_the_limits_have_safe_defaults_and_are_configured_as_sizes():
    assert Limits.of(load_config(None, {}).settings.server) == Limits(10 << 20, 1 << 20, 1000, 10_000, 40)
    configured = load_config(None, {"LANNER_SERVER_MAX_REQUEST_SIZE": "2MB",
                                    "LANNER_SERVER_MULTIPART_MAX_PART_SIZE": "2KB",
                                    "LANNER_SERVER_MULTIPART_MAX_PARTS": "7",
                                    "LANNER_SERVER_MAX_LOG_PAGE_SIZE": "50", "LANNER_SERVER_THREADS": "3"})
    assert Limits.of(configured.settings.server) == Limits(2 << 20, 2048, 7, 50, 3)


@pytest.mark.parametrize("variable, key, value", [
    ("LANNER_SERVER_MAX_LOG_PAGE_SIZE", "lanner.server.max-log-page-size", "0"),
    ("LANNER_SERVER_THREADS", "lanner.server.threads", "0"),
    ("LANNER_SERVER_MAX_REQUEST_SIZE", "lanner.server.max-request-size", "lots")])
def test_a_limit_that_would_refuse_everything_is_a_configuration_error(variable, key, value):
    with pytest.raises(ConfigError, match=f"invalid value for {key}"):
        load_config(None, {variable: value})


def test_a_definition_is_the_source_as_a_mapping_json_can_hold():
    assert definition_of("id: a\nnamespace: b\nlabels:\n  team: data\n") == \
        {"id": "a", "namespace": "b", "labels": {"team": "data"}}
    assert definition_of("- a list\n") is None
    assert definition_of("id: [unclosed\n") is None
    assert definition_of("id: a\nratio: .nan\n") is None  # PostgreSQL's JSON holds no NaN
