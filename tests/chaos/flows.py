"""The chaos run's flows and what each must end as (all SUCCESS: faults must not change outcomes)."""

from __future__ import annotations

NAMESPACE = "chaos"

SOURCES = {
    "quick": """id: quick
namespace: chaos
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hi {{ execution.id }}"
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.hello.value }}"
""",
    "shell": """id: shell
namespace: chaos
inputs:
  - id: seconds
    type: FLOAT
    defaults: 0.5
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep {{ inputs.seconds }}
      - echo '::{"outputs":{"slept":{{ inputs.seconds }}}}::'
""",
    "python": """id: python
namespace: chaos
tasks:
  - id: compute
    type: io.kestra.plugin.scripts.python.Script
    script: |
      import time
      time.sleep(0.3)
      print('::{"outputs":{"answer":42}}::')
""",
    "fanout": """id: fanout
namespace: chaos
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3, 4, 5]
    concurrencyLimit: 0
    tasks:
      - id: item
        type: io.kestra.plugin.core.debug.Return
        format: "item {{ taskrun.value }}"
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["sleep 0.2"]
      - id: right
        type: io.kestra.plugin.core.debug.Return
        format: right
""",
    "child": """id: child
namespace: chaos
tasks:
  - id: inner
    type: io.kestra.plugin.core.debug.Return
    format: child
outputs:
  - id: said
    type: STRING
    value: "{{ outputs.inner.value }}"
""",
    "parent": """id: parent
namespace: chaos
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: chaos
    flowId: child
    wait: true
    transmitFailed: true
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.call.outputs.said }}"
""",
    # Not named "pause": POST /api/v1/executions/chaos/pause is the pause action of Kestra 0.2x's path.
    "awaiting": """id: awaiting
namespace: chaos
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: resumed
""",
    "ticking": """id: ticking
namespace: chaos
tasks:
  - id: tick
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: each_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
""",
    "downstream": """id: downstream
namespace: chaos
tasks:
  - id: follow
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.executionId }}"
triggers:
  - id: after_quick
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: chaos
        flowId: quick
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
""",
}

# What the load driver posts, with weights.
POSTED = {"quick": 5, "shell": 3, "python": 1, "fanout": 2, "parent": 2, "awaiting": 1}
