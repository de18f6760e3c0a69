"""The short chaos profile, on every change: a fixed seed, and the run's random seed (printed, to replay a failure).

Each run starts a real cluster on PostgreSQL (2 executors, 3 workers, 2 schedulers, a
webserver) under load, kills, freezes and restarts its components, migrates a large
table online and goes through maintenance mode, then checks that nothing was lost, run
twice or left behind.  The random seed is the run's (tests/conftest.py ``seed``):
``LANNER_TEST_SEED=<seed>`` replays it, as does ``python -m tests.chaos.run --profile
short --seed <seed>``.  Timing goals (the longest lock wait during the online migration)
are measured by ``make chaos``, not asserted here.
"""

from __future__ import annotations

import pytest

from tests.chaos.run import PROFILES, run

FIXED = 1


@pytest.mark.postgres
@pytest.mark.timeout(600)
@pytest.mark.parametrize("which", ["fixed-seed", "random-seed"])
def test_short_chaos_profile_loses_nothing_and_runs_nothing_twice(which, seed, postgres_server):
    chosen = FIXED if which == "fixed-seed" else seed
    profile = PROFILES["short"]
    report = run(profile, chosen)
    print(report.table())
    replay = f"seed {chosen}: replay with python -m tests.chaos.run --profile short --seed {chosen}"
    assert report.errors == [], (replay, report.errors, report.examples)
    # The faults the plan drew all happened (a test that skipped them would prove nothing)...
    assert report.kills >= profile.kills and report.freezes >= profile.freezes, replay
    assert report.migration_seconds is not None and report.maintenance_seconds is not None, replay
    assert report.posted > 100, replay
    # ...and through them nothing was lost, doubled, left behind or ended wrongly.
    assert (report.lost, report.duplicated, report.stuck, report.wrong_state) == (0, 0, 0, 0), (replay,
                                                                                              report.examples)
    assert (report.doubled_ticks, report.missing_ticks, report.trigger_misses) == (0, 0, 0), (replay,
                                                                                            report.examples)
