"""``decide`` is pure in fact: it reaches the environment, randomness, the clock and the store only through its surroundings.

Each representative flow is run in the in-memory engine with every other door shut
while ``decide`` runs (the workers run outside it, as in the real engine):
``os.environ`` raises on any read, the ``random`` module's functions and OS entropy
raise, the clock functions raise in every Lanner module that calls them, and a
SQLAlchemy engine cannot connect.  Each decision is made twice from the same inputs
(surroundings rebuilt alike: the same ids, a random source seeded alike): the two must
be equal.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy.engine

from lanner.engine.core.decide import ChildEnded, Decision, Start, decide
from lanner.engine.core.surroundings import Surroundings
from lanner.model.state import State
from tests.unit.engine import sim as sim_module
from tests.unit.engine.sim import Simulation


class Forbidden(AssertionError):
    pass


def _forbidden(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden(f"decide reached {what}")

    return refuse


class _ShutEnviron(Mapping[str, str]):
    """``os.environ`` while decide runs: any read fails."""

    def __getitem__(self, key: str) -> str:
        raise Forbidden(f"decide read os.environ[{key!r}]")

    def __iter__(self) -> Iterator[str]:
        raise Forbidden("decide listed os.environ")

    def __len__(self) -> int:
        raise Forbidden("decide sized os.environ")

    def get(self, key: str, default: Any = None) -> Any:
        raise Forbidden(f"decide read os.environ.get({key!r})")


class _NoClock(datetime):
    now = classmethod(_forbidden("datetime.now"))  # type: ignore[assignment]
    utcnow = classmethod(_forbidden("datetime.utcnow"))  # type: ignore[assignment]
    today = classmethod(_forbidden("datetime.today"))  # type: ignore[assignment]


_RANDOM_FUNCTIONS = ("random", "randrange", "randint", "choice", "choices", "uniform", "getrandbits", "shuffle",
                     "sample", "gauss", "seed")


@contextlib.contextmanager
def shut_doors() -> Iterator[None]:
    """Every impure door raises, for the duration of the block (restored by hand: pytest reads some)."""
    saved: list[tuple[Any, str, Any]] = []

    def replace(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    replace(os, "environ", _ShutEnviron())
    replace(os, "urandom", _forbidden("os.urandom"))
    replace(os, "getenv", _forbidden("os.getenv"))
    for name in _RANDOM_FUNCTIONS:
        replace(random, name, _forbidden(f"random.{name}"))
    replace(random.Random, "seed", _forbidden("random.Random.seed (a new random source)"))
    replace(uuid, "uuid4", _forbidden("uuid.uuid4"))
    for name in ("time", "time_ns", "monotonic", "perf_counter"):
        replace(time, name, _forbidden(f"time.{name}"))
    for module in [m for name, m in sys.modules.items() if name.startswith("lanner.") and m is not None]:
        if getattr(module, "datetime", None) is datetime:
            replace(module, "datetime", _NoClock)
    for name in ("connect", "begin", "raw_connection"):
        replace(sqlalchemy.engine.Engine, name, _forbidden(f"the database (Engine.{name})"))
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


@pytest.fixture
def shut_decide(monkeypatch: pytest.MonkeyPatch) -> list[Decision]:
    """The in-memory engine's ``decide``, run with every door shut; the decisions made, in order."""
    made: list[Decision] = []

    def twin(execution: Any, around: Surroundings) -> Surroundings:
        ids = (f"tr{n}" for n in itertools.count(len(execution.task_runs) + 1))  # as the simulation makes them
        return dataclasses.replace(around, ids=lambda: next(ids), rng=random.Random(0))

    def guarded(execution: Any, flow: Any, events: Any, around: Surroundings) -> Decision:
        again = twin(execution, around)  # made before the doors shut: seeding is not decide's
        with shut_doors():
            decision = decide(execution, flow, events, around)
            assert decide(execution, flow, events, again) == decision  # the same inputs: the same decision
        made.append(decision)
        return decision

    monkeypatch.setattr(sim_module, "decide", guarded)
    return made


FLOWS = {
    "sequential": """id: f
namespace: company.team
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: "{{ flow.id }}"
  - id: b
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.a.value }}!"
""",
    "flowable": """id: f
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3]
    concurrencyLimit: 2
    tasks:
      - id: p
        type: io.kestra.plugin.core.flow.Parallel
        tasks:
          - id: x
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}"
          - id: y
            type: io.kestra.plugin.core.debug.Return
            format: "y"
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ outputs.x['1'].value == '1' }}"
    then:
      - id: yes
        type: io.kestra.plugin.core.debug.Return
        format: ok
""",
    "retry": """id: f
namespace: company.team
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: random
      minInterval: PT1S
      maxInterval: PT10S
      maxAttempts: 3
""",
    "failing": """id: f
namespace: company.team
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "no luck"
errors:
  - id: handler
    type: io.kestra.plugin.core.debug.Return
    format: "handled"
""",
    "outside": """id: f
namespace: company.team
tasks:
  - id: gated
    type: io.kestra.plugin.core.debug.Return
    runIf: "{{ kv('enabled') == 'yes' and envs.stage == 'prod' }}"
    format: "gated"
outputs:
  - id: picked
    type: STRING
    value: "{{ secret('TOKEN') | length }} {{ randomInt(1, 1000) }} {{ uuid() }} {{ now() }} {{ kv('enabled') }}"
""",
}

ENVIRON = {"ENV_STAGE": "prod", "SECRET_TOKEN": base64.b64encode(b"hunter2").decode()}


def _run(source: str) -> Simulation:
    sim = Simulation.of(source, environ=ENVIRON, kv=lambda key, namespace: {"enabled": "yes"}.get(key))
    sim.run()
    return sim


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_decide_reaches_nothing_but_its_surroundings_and_decides_the_same_twice(name, shut_decide):
    sim = _run(FLOWS[name])
    assert len(shut_decide) > 1 and sim.execution.current.terminal


def test_the_flow_using_the_outside_saw_it_through_its_surroundings(shut_decide):
    sim = _run(FLOWS["outside"])
    assert sim.execution.current is State.SUCCESS
    assert sim.run_of("gated").current is State.SUCCESS  # kv and envs read through the surroundings
    picked = sim.execution.outputs["picked"]
    assert picked.startswith("7 ") and picked.endswith(" yes")  # the secret hunter2 and the KV value
    assert "2026-01-01T00:00" in picked  # now() is the decision's time


def test_a_subflow_task_decides_purely(shut_decide):
    source = """id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs:
      stage: "{{ envs.stage }}"
"""
    sim = Simulation.of(source, environ=ENVIRON)
    started = sim.send(Start())
    child = started.children[0]
    assert child.inputs == {"stage": "prod"}
    ended = sim.send(ChildEnded(sim.run_of("call").id, child.execution_id, State.SUCCESS))
    assert ended.execution.current is State.SUCCESS


def test_the_doors_are_really_shut():
    with shut_doors():
        for attempt in (lambda: os.environ["HOME"], lambda: random.random(), lambda: random.Random(),
                        lambda: time.time(), lambda: uuid.uuid4(),
                        lambda: sqlalchemy.create_engine("sqlite://").connect()):
            with pytest.raises(Forbidden):
                attempt()
    assert os.environ.get("PATH") is not None  # open again
