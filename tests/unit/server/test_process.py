"""Process-wide settings a server applies when its components start."""

import gc

from lanner.server.process import YOUNG_GENERATION_THRESHOLD, tune_garbage_collector


def test_the_collector_keeps_bursts_of_new_objects_young_and_leaves_the_older_generations_alone():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        tune_garbage_collector()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 11, 12)
        tune_garbage_collector()  # idempotent
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 11, 12)
    finally:
        gc.set_threshold(*before)
