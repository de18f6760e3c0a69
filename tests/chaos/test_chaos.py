"""The short chaos profile, on every change: a fixed seed, and a random one (printed, to replay a failure).

Each run starts a real cluster on PostgreSQL (2 executors, 3 workers, 2 schedulers, a
webserver) under load, kills, freezes and restarts its components, migrates a large
table online and goes through maintenance mode, then checks that nothing was lost, run
twice or left behind.  ``make chaos`` runs the long profile.
"""

from __future__ import annotations

import random

import pytest

from tests.chaos.run import PROFILES, run

SEEDS = [1, random.SystemRandom().randrange(1_000_000)]


@pytest.mark.postgres
@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", SEEDS, ids=["fixed-seed", "random-seed"])
def test_short_chaos_profile_loses_nothing_and_runs_nothing_twice(seed, postgres_server):
    report = run(PROFILES["short"], seed)
    print(report.table())
    assert report.errors == [], (report.errors, report.examples)
    assert (report.lost, report.duplicated, report.stuck, report.wrong_state) == (0, 0, 0, 0), report.examples
    assert (report.doubled_ticks, report.missing_ticks, report.trigger_misses) == (0, 0, 0), report.examples
    assert report.lock_wait <= 1.0
    assert report.kills >= PROFILES["short"].kills and report.posted > 100
