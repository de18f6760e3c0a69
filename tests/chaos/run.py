"""The chaos harness: a real cluster under load, faults from a seeded plan, then the invariants.

``python -m tests.chaos.run --profile long --report docs/reliability.md`` (``make chaos``)
or the short profile from the test suite (tests/chaos/test_chaos.py).  The cluster is
separate processes on PostgreSQL: 2 executors, 3 workers, 2 schedulers, 1 webserver.
Load comes through the REST API (and a per-second schedule and a flow trigger); faults
follow a plan drawn from the seed, printed first so that any failure can be replayed.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from lanner.store import settings_repository
from lanner.store.tables import executions, queue_messages, task_runs
from tests import pg_harness
from tests.acceptance.cluster_harness import Cluster, Component, wait_until
from tests.chaos import flows

TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"}
COMPONENTS = {"executor": 2, "worker": 3, "scheduler": 2, "webserver": 1}
LOCK_WAIT_GOAL = 1.0  # seconds: a timing goal of `make chaos` (its verdict), not asserted by the test suite
SETTINGS = {"LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY": "IMMEDIATELY",
            "LANNER_SERVER_TERMINATION_GRACE_PERIOD": "5s", "LANNER_SERVER_MAX_RESUBMISSIONS": "10"}


@dataclass(frozen=True)
class Profile:
    name: str
    seconds: float  # of load
    rate: float  # executions per second posted
    kills: int  # SIGKILLs of workers and executors
    rolling_restarts: int
    freezes: int  # SIGSTOP past the liveness timeout, then SIGCONT
    migration: bool
    maintenance: bool


PROFILES = {
    "short": Profile("short", seconds=60, rate=4, kills=4, rolling_restarts=1, freezes=1, migration=True,
                     maintenance=True),
    "long": Profile("long", seconds=630, rate=22, kills=55, rolling_restarts=3, freezes=3, migration=True,
                    maintenance=True),
}


@dataclass
class Plan:
    seed: int
    steps: list[tuple[float, str]]  # (seconds after the start, action)

    @classmethod
    def draw(cls, seed: int, profile: Profile) -> Plan:
        rng = random.Random(seed)
        span = profile.seconds
        steps = [(rng.uniform(0.05, 0.9) * span, rng.choice(["kill-worker", "kill-worker", "kill-executor"]))
                 for _ in range(profile.kills)]
        steps += [((i + 1) * span / (profile.rolling_restarts + 1), "rolling-restart")
                  for i in range(profile.rolling_restarts)]
        steps += [(rng.uniform(0.1, 0.8) * span, "freeze-worker") for _ in range(profile.freezes)]
        if profile.migration:
            steps.append((rng.uniform(0.2, 0.6) * span, "online-migration"))
        if profile.maintenance:
            steps.append((rng.uniform(0.3, 0.7) * span, "maintenance"))
        return cls(seed, sorted(steps))

    def describe(self) -> str:
        return f"seed {self.seed}: " + ", ".join(f"{at:.0f}s {action}" for at, action in self.steps)


@dataclass
class Record:
    created: dict[str, str] = field(default_factory=dict)  # execution id -> flow
    failures: list[tuple[float, float]] = field(default_factory=list)  # API unavailable windows (start, end)
    kills: int = 0
    restarts: int = 0
    freezes: int = 0
    kill_times: list[float] = field(default_factory=list)  # wall clock (epoch) of every SIGKILL/SIGSTOP
    lock_wait: float = 0.0  # the longest a write waited on a lock during the online migration
    lock_waiter: str = ""  # what that write was
    migration_seconds: float | None = None
    maintenance_seconds: float | None = None
    errors: list[str] = field(default_factory=list)


class Chaos:
    def __init__(self, url: str, folder: Path, profile: Profile, seed: int) -> None:
        self.profile, self.plan = profile, Plan.draw(seed, profile)
        self.cluster = Cluster(url, folder, **SETTINGS)
        self.record = Record()
        self.stop = threading.Event()
        self.rng = random.Random(seed + 1)
        self.lock = threading.Lock()
        self.port = 0

    # the cluster ---------------------------------------------------------------------------------
    def start(self) -> None:
        for source in flows.SOURCES.values():
            self.cluster.deploy(source)
        for kind, count in COMPONENTS.items():
            for _ in range(count):
                self._start(kind)

    def _start(self, kind: str) -> Component:
        extra = {"worker": ("-t", "8"), "webserver": ("--port", str(self.port))}.get(kind, ())
        component = self.cluster.start(kind, *extra)
        if kind == "webserver":
            found = wait_until(lambda: re.search(r"listening on port (\d+)", component.output()), 30, "the port")
            self.port = int(found.group(1))
        return component

    def alive(self, kind: str) -> list[Component]:
        return [c for c in self.cluster.components if c.kind == kind and c.process.poll() is None]

    # load ------------------------------------------------------------------------------------------
    def post_load(self) -> None:
        names = list(flows.POSTED)
        weights = [flows.POSTED[name] for name in names]
        rng = random.Random(self.plan.seed + 2)
        interval = 1.0 / self.profile.rate
        with httpx.Client(timeout=10) as client:
            next_at = time.monotonic()
            while not self.stop.is_set():
                flow = rng.choices(names, weights)[0]
                data = {"seconds": str(round(rng.uniform(0.1, 2.0), 2))} if flow == "shell" else None
                self._post(client, flow, data)
                next_at += interval
                self.stop.wait(max(next_at - time.monotonic(), 0))

    def _post(self, client: httpx.Client, flow: str, data: dict | None) -> None:
        began = time.time()
        while not self.stop.is_set():
            try:
                response = client.post(f"http://127.0.0.1:{self.port}/api/v1/executions/{flows.NAMESPACE}/{flow}",
                                       data=data, params={"labels": f"chaos:{uuid.uuid4().hex[:8]}"})
                if response.status_code == 200:
                    with self.lock:
                        self.record.created[response.json()["id"]] = flow
                    break
                if response.status_code < 500 and response.status_code != 503:
                    self.record.errors.append(f"POST {flow}: {response.status_code} {response.text[:200]}")
                    return
            except httpx.HTTPError:
                pass
            self.stop.wait(0.1)
        if time.time() - began > 0.5:
            with self.lock:
                self.record.failures.append((began, time.time()))

    def resume_paused(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(0.5):
                self._resume_all(client)

    def _resume_all(self, client: httpx.Client) -> None:
        try:
            found = client.get(f"http://127.0.0.1:{self.port}/api/v1/executions/search",
                               params={"state": "PAUSED", "size": 200}).json()
            for execution in found.get("results", []):
                client.post(f"http://127.0.0.1:{self.port}/api/v1/executions/{execution['id']}/resume")
        except (httpx.HTTPError, ValueError):
            pass  # the webserver restarting: next round

    # faults ---------------------------------------------------------------------------------------
    def faults(self, started: float) -> None:
        for at, action in self.plan.steps:
            if self.stop.wait(max(started + at - time.monotonic(), 0)):
                return
            try:
                getattr(self, "_" + action.replace("-", "_"))()
            except Exception as exc:  # a fault that could not be applied is a finding, not a crash
                self.record.errors.append(f"{action}: {type(exc).__name__}: {exc}")

    def _kill_worker(self) -> None:
        self._kill(self.rng.choice(self.alive("worker")))

    def _kill_executor(self) -> None:
        self._kill(self.rng.choice(self.alive("executor")))

    def _kill(self, victim: Component) -> None:
        victim.send(signal.SIGKILL)
        victim.wait_exit(30)
        self.record.kills += 1
        self.record.kill_times.append(time.time())
        self._start(victim.kind)
        self.record.restarts += 1

    def _rolling_restart(self) -> None:
        for kind in ("webserver", "scheduler", "executor", "worker"):
            for old in list(self.alive(kind)):
                old.send(signal.SIGTERM)
                code = old.wait_exit(60)
                if code != 0:
                    self.record.errors.append(f"{kind} {old.pid} exited {code} on SIGTERM")
                self._start(kind)
                self.record.restarts += 1

    def _freeze_worker(self) -> None:
        victim = self.rng.choice(self.alive("worker"))
        victim.send(signal.SIGSTOP)
        self.record.freezes += 1
        self.record.kill_times.append(time.time())
        time.sleep(4.5)  # past the 3 s liveness timeout: it is declared dead, its tasks resubmitted
        victim.send(signal.SIGCONT)
        victim.wait_exit(30)  # it fences itself and exits
        self._start("worker")
        self.record.restarts += 1

    def _maintenance(self) -> None:
        from lanner.ops import maintenance

        began = time.monotonic()
        maintenance.enter(self.cluster.engine, reason="chaos")
        maintenance.wait_quiet(self.cluster.engine, 60)
        time.sleep(2)
        maintenance.leave(self.cluster.engine)
        self.record.maintenance_seconds = time.monotonic() - began

    def _online_migration(self) -> None:
        """A test-only online migration on a large table while the load goes on: a new column
        and an index built concurrently, through the helpers real migrations use."""
        from alembic.migration import MigrationContext
        from alembic.operations import Operations

        from lanner.store import online

        engine = self.cluster.engine
        with engine.begin() as connection:  # make the table large first
            connection.execute(sa.text(
                "INSERT INTO logs (tenant_id, namespace, flow_id, execution_id, level, message, timestamp) "
                "SELECT 'main', 'chaos.bulk', 'bulk', 'bulk-' || g, 'INFO', 'filler ' || g, now() "
                "FROM generate_series(1, 300000) AS g"))
        waits: list[tuple[float, str]] = []
        done = threading.Event()

        def watch() -> None:
            with engine.connect() as connection:
                while not done.wait(0.05):
                    found = connection.execute(sa.text(
                        "SELECT extract(epoch FROM clock_timestamp() - state_change) AS waited, "
                        "wait_event || ': ' || left(query, 160) AS what "
                        "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() "
                        "AND query NOT ILIKE '%CREATE INDEX%' ORDER BY 1 DESC LIMIT 1")).first()
                    if found is not None:
                        waits.append((float(found.waited), found.what))
                    connection.commit()

        watcher = threading.Thread(target=watch)
        watcher.start()
        began = time.monotonic()
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection)
                with Operations.context(context):
                    # Metadata only, but it needs the table's exclusive lock for an instant: with a short
                    # lock_timeout it gives way (and tries again) rather than queue writers behind it.
                    for _ in range(100):
                        try:
                            connection.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
                            Operations(context).add_column("logs", sa.Column("chaos_note", sa.Text, nullable=True))
                            connection.commit()
                            break
                        except sa.exc.OperationalError:
                            connection.rollback()
                    online.create_index_online("ix_logs_chaos_note", "logs", ["chaos_note", "id"])
                connection.commit()
        finally:
            done.set()
            watcher.join()
        self.record.migration_seconds = time.monotonic() - began
        self.record.lock_wait, self.record.lock_waiter = max(waits, default=(0.0, ""))

    # the run ----------------------------------------------------------------------------------------
    def run(self) -> Report:
        print(f"chaos profile {self.profile.name}, plan {self.plan.describe()}", flush=True)
        self.start()
        started = time.monotonic()
        window_start = datetime.now(UTC)
        threads = [threading.Thread(target=self.post_load), threading.Thread(target=self.resume_paused)]
        for thread in threads:
            thread.start()
        self.faults(started)
        remaining = started + self.profile.seconds - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        self.stop.set()
        for thread in threads:
            thread.join()
        window_end = datetime.now(UTC)
        with httpx.Client(timeout=10) as client:  # settle: paused ones resumed, everything ends
            def settled() -> bool:
                self._resume_all(client)
                return self._unfinished() == 0

            try:
                wait_until(settled, 180, "every execution ended")
            except AssertionError as exc:
                self.record.errors.append(str(exc))
        return self.check(window_start, window_end)

    def _unfinished(self) -> int:
        """Executions not ended, plus messages executors have still to handle (flow triggers come from those)."""
        with self.cluster.engine.connect() as connection:
            running = connection.execute(sa.select(sa.func.count()).select_from(executions).where(
                executions.c.namespace == flows.NAMESPACE, executions.c.state.not_in(TERMINAL))).scalar_one()
            pending = connection.execute(sa.select(sa.func.count()).select_from(queue_messages).where(
                queue_messages.c.topic.in_(["executor", "ended.executions"]))).scalar_one()
        return running + pending

    # invariants -------------------------------------------------------------------------------------
    def check(self, window_start: datetime, window_end: datetime) -> Report:
        engine = self.cluster.engine
        with engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(sa.select(
                executions.c.id, executions.c.flow_id, executions.c.state, executions.c.trigger).where(
                executions.c.namespace == flows.NAMESPACE))}
            runs = connection.execute(sa.select(task_runs.c.id, task_runs.c.execution_id, task_runs.c.attempts)
                                      .where(task_runs.c.namespace == flows.NAMESPACE)).all()
            resubmissions = int(settings_repository.get(connection, "cluster.resubmissions", 0))
        lost = [e for e in self.record.created if e not in rows]
        wrong = [e for e, flow in self.record.created.items() if e in rows and rows[e].state != "SUCCESS"]
        stuck = [e for e, row in rows.items() if row.state not in TERMINAL]
        duplicated = [r.id for r in runs if sum(_last(a) == "SUCCESS" for a in _attempts(r.attempts)) > 1]
        ticks = sorted(row.trigger["variables"]["date"] for row in rows.values() if row.flow_id == "ticking")
        doubled_ticks = [date for date, count in Counter(ticks).items() if count > 1]
        seconds = sorted(datetime.fromisoformat(t) for t in ticks)
        inside = [s for s in seconds if window_start <= s <= window_end]
        missing_ticks = int((inside[-1] - inside[0]).total_seconds()) + 1 - len(inside) if inside else 0
        quick = [e for e, flow in self.record.created.items() if flow == "quick" and e in rows
                 and rows[e].state == "SUCCESS"]
        fired = Counter(row.trigger["variables"]["executionId"] for row in rows.values() if row.flow_id == "downstream")
        trigger_misses = [f"{e}: fired {fired.get(e, 0)} times" for e in quick if fired.get(e, 0) != 1]
        recovery = _recovery(runs, self.record.kill_times)
        details = [self._explain(e) for e in (stuck + wrong)[:3]]
        return Report(self.plan.seed, self.profile.name, len(self.record.created), len(rows), len(runs),
                      self.record.kills, self.record.freezes, self.record.restarts, resubmissions, len(lost),
                      len(duplicated), len(stuck), len(wrong), len(doubled_ticks), missing_ticks,
                      len(trigger_misses), recovery, _unavailable(self.record.failures), self.record.lock_wait,
                      self.record.lock_waiter,
                      self.record.migration_seconds, self.record.maintenance_seconds, list(self.record.errors),
                      self.profile.seconds, {"lost": lost[:5], "wrong": wrong[:5], "stuck": stuck[:5],
                                             "duplicated": duplicated[:5], "trigger": trigger_misses[:5],
                                             "details": details})

    def _explain(self, execution_id: str) -> str:
        """An execution's states, task runs and last log lines, for a failing report."""
        execution = self.cluster.executions.get(execution_id)
        runs = "; ".join(f"{r.task_id} {r.current} attempts {[str(a.state.current) for a in r.attempts]}"
                         for r in execution.task_runs)
        logs = " | ".join(f"{e.level} {e.message}" for e in self.cluster.executions.logs(execution_id)[-6:])
        history = [str(h.state) for h in execution.state.histories]
        return f"{execution_id} {execution.flow_id} {history}: {runs}; logs: {logs}"

    def close(self) -> None:
        self.stop.set()
        self.cluster.close()


def _attempts(value: Any) -> list[dict]:
    return value if isinstance(value, list) else []


def _histories(attempt: dict) -> list[dict]:
    return (attempt.get("state") or {}).get("histories") or []


def _last(attempt: dict) -> str | None:
    history = _histories(attempt)
    return history[-1].get("state") if history else None


def _recovery(runs: list[Any], kill_times: list[float]) -> float:
    """Worst time from a kill (or freeze) to the resubmitted attempt running elsewhere."""
    worst = 0.0
    for run in runs:
        attempts = _attempts(run.attempts)
        for before, after in itertools.pairwise(attempts):
            if _last(before) != "RESUBMITTED":
                continue
            start = _histories(after)
            if not start:
                continue
            resumed = datetime.fromisoformat(start[0]["date"]).timestamp()
            killed = [k for k in kill_times if k <= resumed]
            if killed:
                worst = max(worst, resumed - max(killed))
    return worst


def _unavailable(windows: list[tuple[float, float]]) -> float:
    """Seconds during which posting failed (overlapping windows merged)."""
    total, end = 0.0, 0.0
    for start, stop in sorted(windows):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class Report:
    seed: int
    profile: str
    posted: int
    executions: int
    task_runs: int
    kills: int
    freezes: int
    restarts: int
    resubmissions: int
    lost: int
    duplicated: int
    stuck: int
    wrong_state: int
    doubled_ticks: int
    missing_ticks: int
    trigger_misses: int
    worst_recovery: float
    api_unavailable: float
    lock_wait: float
    lock_waiter: str
    migration_seconds: float | None
    maintenance_seconds: float | None
    errors: list[str]
    seconds: float
    examples: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        """The verdict of `make chaos`: the invariants, and the timing goal."""
        return not (self.lost or self.duplicated or self.stuck or self.wrong_state or self.doubled_ticks
                    or self.missing_ticks or self.trigger_misses or self.errors or self.missed_goals)

    @property
    def missed_goals(self) -> list[str]:
        if self.lock_wait > LOCK_WAIT_GOAL:
            return [(f"a write waited {self.lock_wait:.1f} s on a lock during the migration (goal: at most "
                     f"{LOCK_WAIT_GOAL:g} s): {self.lock_waiter}")]
        return []

    def table(self) -> str:
        rate = self.posted / self.seconds if self.seconds else 0
        rows = [("seed", self.seed), ("profile", f"{self.profile} ({self.seconds:.0f} s of load)"),
                ("executions posted through the API", f"{self.posted} ({rate:.1f}/s)"),
                ("executions in all (with schedules, subflows, flow triggers)", self.executions),
                ("task runs", self.task_runs), ("SIGKILLs", self.kills), ("SIGSTOP/SIGCONT freezes", self.freezes),
                ("component restarts", self.restarts), ("resubmissions", self.resubmissions),
                ("lost", self.lost), ("duplicated (task runs with two successful attempts)", self.duplicated),
                ("stuck (not ended)", self.stuck), ("ended in another state than SUCCESS", self.wrong_state),
                ("schedule ticks fired twice / missed", f"{self.doubled_ticks} / {self.missing_ticks}"),
                ("flow-trigger misses or doubles", self.trigger_misses),
                ("worst recovery (kill -> task running elsewhere)", f"{self.worst_recovery:.1f} s"),
                ("API unavailable", f"{self.api_unavailable:.1f} s"),
                ("online migration (column + concurrent index, 300k-row table)",
                 f"{self.migration_seconds:.1f} s, longest lock wait {self.lock_wait:.2f} s"
                 if self.migration_seconds is not None else "not run"),
                ("maintenance mode (enter, quiet, exit)",
                 f"{self.maintenance_seconds:.1f} s" if self.maintenance_seconds is not None else "not run"),
                ("harness errors", len(self.errors))]
        lines = ["| measure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)


def run(profile: Profile, seed: int) -> Report:
    with pg_harness.scratch_database("lanner_chaos") as url, \
            tempfile.TemporaryDirectory(prefix="lanner-chaos-") as folder:
        chaos = Chaos(url, Path(folder), profile, seed)
        try:
            return chaos.run()
        finally:
            chaos.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Lanner's chaos run.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="long")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report", type=Path, help="Write the summary into this Markdown file.")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1_000_000)
    report = run(PROFILES[options.profile], seed)
    print(report.table())
    for error in report.errors:
        print(f"harness error: {error}")
    for missed in report.missed_goals:
        print(f"timing goal missed: {missed}")
    if not report.ok:
        for name, found in report.examples.items():
            for item in found:
                print(f"{name}: {item}")
    if options.report:
        _write(options.report, report)
    raise SystemExit(0 if report.ok else 1)


def _write(path: Path, report: Report) -> None:
    marker = "<!-- chaos:latest -->"
    text = path.read_text() if path.exists() else f"# Reliability\n\n{marker}\n"
    machine = f"{Path('/proc/cpuinfo').read_text().count('processor')} cores" if Path("/proc/cpuinfo").exists() else ""
    block = (f"{marker}\n## Latest `make chaos` run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}, "
             f"verdict {'PASS' if report.ok else 'FAIL'}\n\n{report.table()}\n")
    if marker in text:
        head, _, rest = text.partition(marker)
        tail = rest.split("\n## ", 2)
        rest_after = ("\n## " + tail[2]) if len(tail) > 2 else ""
        text = head + block + rest_after
    else:
        text += "\n" + block
    path.write_text(text)


if __name__ == "__main__":
    main()
