import pytest

from lanner.config.keys import display, env_name, normalise


@pytest.mark.parametrize(
    "spelling",
    ["terminationGracePeriod", "termination-grace-period", "termination_grace_period", "TerminationGracePeriod"],
)
def test_spellings_normalise_to_one_key(spelling):
    assert normalise(spelling) == "termination_grace_period"


def test_display_and_environment_names():
    path = ("server", "liveness", "heartbeat_interval")
    assert display(path) == "lanner.server.liveness.heartbeat-interval"
    assert env_name(path) == "LANNER_SERVER_LIVENESS_HEARTBEAT_INTERVAL"
