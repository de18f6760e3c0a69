"""Retry decisions: each policy's delay, and the maxAttempt and maxDuration bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from lanner.engine.core.retry import RetryError, retry_delay
from lanner.expr import render_value
from lanner.model.task import Retry

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_RETRY = TypeAdapter(Retry)


def policy(**properties: Any) -> Any:
    # maxAttempt's ``ge=1`` cannot yet take an expression at validation, so an expression is set afterwards.
    expression = properties.pop("maxAttempt") if isinstance(properties.get("maxAttempt"), str) else None
    retry = _RETRY.validate_python(properties)
    return retry.model_copy(update={"max_attempt": expression}) if expression is not None else retry


def delay(retry: Any, attempts: int = 1, *, elapsed: timedelta = timedelta(0), seed: int = 0, **kwargs: Any):
    return retry_delay(retry, attempts=attempts, first_attempt_start=T0, now=T0 + elapsed,
                       rng=random.Random(seed), **kwargs)


def test_constant_waits_its_interval_every_time():
    retry = policy(type="constant", interval="PT15M")
    assert [delay(retry, n) for n in (1, 2, 10)] == [timedelta(minutes=15)] * 3


@pytest.mark.parametrize(("max_attempt", "attempts", "retried"), [(1, 1, False), (3, 1, True), (3, 2, True),
                                                                   (3, 3, False), (3, 4, False)])
def test_max_attempt_counts_every_attempt_the_first_included(max_attempt, attempts, retried):
    retry = policy(type="constant", interval="PT1S", maxAttempt=max_attempt)
    assert (delay(retry, attempts) is not None) is retried


def test_without_any_bound_retries_never_stop():
    retry = policy(type="constant", interval="PT1S")
    assert delay(retry, 10_000, elapsed=timedelta(days=365)) == timedelta(seconds=1)


def test_max_duration_bounds_the_next_start_from_the_first_attempt():
    retry = policy(type="constant", interval="PT10S", maxDuration="PT1M")
    assert delay(retry, 1, elapsed=timedelta(seconds=50)) == timedelta(seconds=10)  # starts at exactly 1 min
    assert delay(retry, 1, elapsed=timedelta(seconds=50, milliseconds=1)) is None


def test_max_attempt_and_max_duration_both_apply():
    retry = policy(type="constant", interval="PT1S", maxAttempt=5, maxDuration="PT1H")
    assert delay(retry, 4) == timedelta(seconds=1)
    assert delay(retry, 5) is None
    assert delay(retry, 2, elapsed=timedelta(hours=1)) is None


def test_exponential_multiplies_by_two_by_default_and_stops_at_max_interval():
    retry = policy(type="exponential", interval="PT1S", maxInterval="PT10S")
    assert [delay(retry, n).total_seconds() for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_exponential_uses_its_delay_factor():
    retry = policy(type="exponential", interval="PT30S", maxInterval="PT1H", delayFactor=1.5)
    assert [delay(retry, n).total_seconds() for n in range(1, 4)] == [30, 45, 67.5]


def test_exponential_growth_beyond_any_number_is_capped_not_an_error():
    retry = policy(type="exponential", interval="PT1S", maxInterval="PT1M", delayFactor=10.0)
    assert delay(retry, 5_000) == timedelta(minutes=1)


def test_exponential_respects_max_duration_too():
    retry = policy(type="exponential", interval="PT1M", maxInterval="PT1H", maxDuration="PT10M")
    assert delay(retry, 3, elapsed=timedelta(minutes=5)) == timedelta(minutes=4)
    assert delay(retry, 4, elapsed=timedelta(minutes=5)) is None  # 8 more minutes would end at 13


def test_random_is_reproducible_with_a_seeded_generator():
    retry = policy(type="random", minInterval="PT1S", maxInterval="PT5S")
    assert delay(retry, seed=7) == delay(retry, seed=7)
    assert len({delay(retry, seed=seed) for seed in range(50)}) > 1


def test_random_with_equal_bounds_waits_exactly_that():
    assert delay(policy(type="random", minInterval="PT2S", maxInterval="PT2S")) == timedelta(seconds=2)


@given(
    low=st.integers(min_value=0, max_value=3_600_000),
    spread=st.integers(min_value=0, max_value=3_600_000),
    seed=st.integers(),
    attempts=st.integers(min_value=1, max_value=1000),
)
def test_random_delays_always_fall_within_the_bounds(low, spread, seed, attempts):
    low_d, high_d = timedelta(milliseconds=low), timedelta(milliseconds=low + spread)
    retry = policy(type="random", minInterval=low_d, maxInterval=high_d)
    assert low_d <= delay(retry, attempts, seed=seed) <= high_d


@given(
    interval_ms=st.integers(min_value=1, max_value=600_000),
    cap_ms=st.integers(min_value=1, max_value=86_400_000),
    factor=st.floats(min_value=1.0, max_value=100.0),
    attempts=st.integers(min_value=1, max_value=10_000),
)
def test_exponential_delays_never_exceed_max_interval(interval_ms, cap_ms, factor, attempts):
    retry = policy(type="exponential", interval=timedelta(milliseconds=interval_ms),
                   maxInterval=timedelta(milliseconds=cap_ms), delayFactor=factor)
    result = delay(retry, attempts)
    assert timedelta(0) <= result <= timedelta(milliseconds=cap_ms)


def test_every_property_may_be_an_expression():
    variables = {"inputs": {"tries": 3, "every": "PT20S", "cap": "2m", "limit": "PT5M", "low": "1s", "high": "3s"}}

    def render(value: Any) -> Any:
        return render_value(value, variables)

    constant = policy(type="constant", interval="{{ inputs.every }}", maxAttempt="{{ inputs.tries }}",
                      maxDuration="{{ inputs.limit }}")
    assert delay(constant, 2, render=render) == timedelta(seconds=20)
    assert delay(constant, 3, render=render) is None
    assert delay(constant, 1, elapsed=timedelta(minutes=4, seconds=41), render=render) is None

    exponential = policy(type="exponential", interval="{{ inputs.every }}", maxInterval="{{ inputs.cap }}")
    assert delay(exponential, 3, render=render) == timedelta(minutes=1, seconds=20)
    assert delay(exponential, 4, render=render) == timedelta(minutes=2)

    rand = policy(type="random", minInterval="{{ inputs.low }}", maxInterval="{{ inputs.high }}")
    assert timedelta(seconds=1) <= delay(rand, render=render) <= timedelta(seconds=3)


@pytest.mark.parametrize(
    ("properties", "rendered", "message"),
    [
        ({"type": "constant", "interval": "{{ v }}"}, "soon", "retry.interval: expected a duration such as"),
        ({"type": "constant", "interval": "PT1S", "maxAttempt": "{{ v }}"}, "two",
         "retry.maxAttempt: expected a whole number of at least 1, got 'two'"),
        ({"type": "constant", "interval": "PT1S", "maxAttempt": "{{ v }}"}, "0",
         "retry.maxAttempt: expected a whole number of at least 1, got '0'"),
        ({"type": "constant", "interval": "PT1S", "maxDuration": "{{ v }}"}, "", "retry.maxDuration: expected"),
        ({"type": "exponential", "interval": "PT1S", "maxInterval": "{{ v }}"}, "x", "retry.maxInterval: expected"),
        ({"type": "random", "minInterval": "{{ v }}", "maxInterval": "PT1S"}, "PT2S",
         "retry.minInterval (0:00:02) must not be greater than retry.maxInterval (0:00:01)"),
    ],
)
def test_unusable_rendered_values_raise_a_retry_error_naming_the_property(properties, rendered, message):
    with pytest.raises(RetryError) as caught:
        delay(policy(**properties), render=lambda value: render_value(value, {"v": rendered}))
    assert str(caught.value).startswith(message)


def test_a_negative_delay_factor_is_refused():
    with pytest.raises(RetryError, match="retry.delayFactor: expected a positive number, got -2.0"):
        delay(policy(type="exponential", interval="PT1S", maxInterval="PT1M", delayFactor=-2.0))


def test_attempts_start_at_one():
    with pytest.raises(ValueError, match="must be >= 1, got 0"):
        delay(policy(type="constant", interval="PT1S"), 0)
