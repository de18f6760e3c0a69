"""Property tests: whatever the input, validation returns problems; it never crashes or stalls."""

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanner.flows.validator import validate_source

TYPES = ["io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.flow.Parallel", "io.kestra.plugin.core.flow.Dag",
         "io.kestra.plugin.core.flow.Switch", "io.kestra.plugin.core.flow.If", "io.kestra.core.tasks.log.Log",
         "io.kestra.plugin.core.trigger.Schedule", "STRING", "INT", "constant"]
KEYS = ["id", "namespace", "tasks", "type", "message", "then", "else", "cases", "task", "dependsOn", "inputs",
        "triggers", "retry", "interval", "defaults", "values", "errors", "finally", "labels", "cron", "x"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                    st.sampled_from(TYPES))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(KEYS), children, max_size=6)),
    max_leaves=40,
)


def _dump(value) -> str:
    """JSON is YAML in flow style: an unambiguous rendering of any plain tree."""
    return json.dumps(value)


def _check(source: str) -> None:
    started = time.perf_counter()
    result = validate_source(source, "fuzz.yml")
    assert time.perf_counter() - started < 1.0
    assert (result.flow is None) == bool(result.errors)  # a flow exactly when nothing is wrong
    for problem in result.problems:
        assert problem.format().startswith("fuzz.yml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=500))
def test_arbitrary_text_yields_problems_not_crashes(text):
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_arbitrary_yaml_trees_yield_problems_not_crashes(tree):
    _check(_dump(tree))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), trees, max_size=8))
def test_flow_shaped_trees(tree):
    tree = {"id": "f", "namespace": "n", **tree}
    _check(_dump(tree))
