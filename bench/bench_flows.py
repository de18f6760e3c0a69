"""Flow validation benchmarks: a 200-task flow, and a 1 MB flow document."""

from __future__ import annotations

import statistics
import time

from lanner.flows.validator import validate_source

LOG = """  - id: log_{i}
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{{{ inputs.name }}}} from task {i}"
    retry:
      type: constant
      interval: PT1S
      maxAttempt: 3
"""
GROUP = """  - id: group_{i}
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner_{i}
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ outputs.log_1.value }}}}"
"""


def flow_source(tasks: int) -> str:
    """A flow of ``tasks`` top-level tasks, half of them flowable with a nested task."""
    body = "".join((LOG if i % 2 else GROUP).format(i=i) for i in range(tasks))
    return "id: bench\nnamespace: company.team\ninputs:\n  - id: name\n    type: STRING\n    defaults: x\ntasks:\n" + body


def _median_ms(source: str, runs: int) -> float:
    assert validate_source(source).valid
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        validate_source(source)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run() -> list[tuple[str, str, str, bool]]:
    two_hundred = _median_ms(flow_source(200), 30)
    large = flow_source(int(200 * 1_000_000 / len(flow_source(200))) + 10)  # just over 1 MB
    megabyte = _median_ms(large, 5)
    return [
        ("validate a 200-task flow (300 tasks counting nested ones)", f"{two_hundred:.1f} ms", "<= 50 ms", two_hundred <= 50),
        (f"validate a {len(large) / 1e6:.2f} MB flow document", f"{megabyte:.0f} ms", "<= 1000 ms", megabyte <= 1000),
    ]
