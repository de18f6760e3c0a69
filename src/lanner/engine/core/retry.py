"""Whether a failed attempt is tried again, and after how long: Kestra's retry policies as pure decisions.

A task may declare ``retry``; a flow's ``retry`` applies to every task that declares
none (:func:`retry_of`).  After an attempt fails, the engine asks :func:`retry_delay`
and either schedules the next attempt that much later or lets the failure stand.  The
function reads no clock and draws no randomness of its own: the caller passes ``now``
and a ``random.Random``, so a decision can be replayed and tested.

The rules, as Kestra applies them:

- ``maxAttempt`` is the largest number of attempts, the first one included:
  ``maxAttempt: 3`` means one try and two retries.  Absent, attempts are not counted.
- ``maxDuration`` bounds the whole retrying: the next attempt must start no later than
  ``maxDuration`` after the first attempt started, otherwise there is no retry.
  Absent, time is not bounded.  With neither bound, a task is retried until it
  succeeds (or is killed), as in Kestra.
- ``constant`` waits ``interval`` every time.
- ``exponential`` waits ``interval * delayFactor ** (n - 1)`` after the n-th attempt,
  ``delayFactor`` defaulting to 2, never more than ``maxInterval``.
- ``random`` waits a uniformly drawn time from ``minInterval`` up to ``maxInterval``,
  in whole milliseconds.

Every property may be an expression (``maxAttempt: "{{ inputs.tries }}"``): it goes
through ``render`` first, then durations are parsed with
:func:`lanner.durations.parse_duration` (ISO-8601 or shorthand such as ``30s``).  A
property that renders to something unusable raises :class:`RetryError` naming it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lanner.durations import EXPECTED, parse_duration
from lanner.model.task import ConstantRetry, ExponentialRetry, RandomRetry

if TYPE_CHECKING:
    from lanner.model.flow import Flow
    from lanner.model.task import TaskSpec

DEFAULT_DELAY_FACTOR = 2.0

Render = Callable[[Any], Any]


class RetryError(ValueError):
    """A retry property whose (rendered) value cannot be used; the message names the property."""


def retry_of(task: TaskSpec, flow: Flow) -> ConstantRetry | ExponentialRetry | RandomRetry | None:
    """The policy that applies to ``task``: its own ``retry``, else the flow's (Kestra's flow-level retry)."""
    return task.retry if task.retry is not None else flow.retry


def retry_delay(
    retry: ConstantRetry | ExponentialRetry | RandomRetry,
    *,
    attempts: int,
    first_attempt_start: datetime,
    now: datetime,
    rng: random.Random,
    render: Render = lambda v: v,
) -> timedelta | None:
    """How long to wait before the next attempt, or ``None`` when the policy allows no more.

    ``attempts`` counts the attempts made so far (at least 1); ``now`` is when the last
    one ended.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts the attempts made so far and must be >= 1, got {attempts}")
    max_attempt = _max_attempt(retry, render)
    if max_attempt is not None and attempts >= max_attempt:
        return None
    delay = _policy_delay(retry, attempts, rng, render)
    max_duration = None if retry.max_duration is None else _duration(retry.max_duration, "maxDuration", render)
    if max_duration is not None and now + delay > first_attempt_start + max_duration:
        return None
    return delay


def _policy_delay(
    retry: ConstantRetry | ExponentialRetry | RandomRetry, attempts: int, rng: random.Random, render: Render
) -> timedelta:
    if isinstance(retry, ConstantRetry):
        return _duration(retry.interval, "interval", render)
    if isinstance(retry, ExponentialRetry):
        interval = _duration(retry.interval, "interval", render)
        cap = _duration(retry.max_interval, "maxInterval", render)
        factor = DEFAULT_DELAY_FACTOR if retry.delay_factor is None else retry.delay_factor
        if factor < 0:
            raise RetryError(f"retry.delayFactor: expected a positive number, got {factor!r}")
        try:
            grown = interval * factor ** (attempts - 1)
        except OverflowError:  # factor ** n beyond a float, or a timedelta beyond ~2.7 million years
            return cap
        return min(grown, cap)
    if isinstance(retry, RandomRetry):
        low = _duration(retry.min_interval, "minInterval", render)
        high = _duration(retry.max_interval, "maxInterval", render)
        if low > high:
            raise RetryError(f"retry.minInterval ({low}) must not be greater than retry.maxInterval ({high})")
        low_ms, high_ms = _milliseconds(low), _milliseconds(high)
        return timedelta(milliseconds=rng.randint(low_ms, high_ms))
    raise TypeError(f"unknown retry policy {type(retry).__name__}")


def _milliseconds(value: timedelta) -> int:
    return value // timedelta(milliseconds=1)


def _rendered(value: Any, render: Render) -> Any:
    # Only text can hold an expression; typed values (int, timedelta) are used as validated.
    return render(value) if isinstance(value, str) else value


def _max_attempt(retry: Any, render: Render) -> int | None:
    value = _rendered(retry.max_attempt, render)
    if value is None:
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < 1:
        raise RetryError(f"retry.maxAttempt: expected a whole number of at least 1, got {value!r}")
    return number


def _duration(value: Any, name: str, render: Render) -> timedelta:
    value = _rendered(value, render)
    try:
        return parse_duration(value)
    except ValueError:
        raise RetryError(f"retry.{name}: expected {EXPECTED}, got {value!r}") from None
