"""Validator behaviours not covered by the golden files: defaults, dynamic values, the model built."""

from datetime import timedelta

import pytest

from lanner.flows.problems import dotted
from lanner.flows.validator import validate_source
from lanner.model.flow import Flow
from lanner.tasks.flowable import FlowableTask
from lanner.tasks.runnable import RunnableTask

HEADER = "id: f\nnamespace: company.team\n"


def test_plugin_defaults_fill_missing_properties():
    source = HEADER + ("pluginDefaults:\n  - type: io.kestra.plugin.core.log\n    values:\n      message: from default\n"
                       "      level: WARN\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
                       "  - id: b\n    type: io.kestra.plugin.core.log.Log\n    message: own\n")
    result = validate_source(source)
    assert result.valid, [p.format() for p in result.problems]
    a, b = result.flow.tasks
    assert (a.message, a.level, b.message, b.level) == ("from default", "WARN", "own", "WARN")


def test_forced_plugin_defaults_win():
    source = HEADER + ("pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    forced: true\n    values:\n"
                       "      level: ERROR\ntasks:\n  - id: a\n    type: io.kestra.core.tasks.log.Log\n    message: m\n"
                       "    level: DEBUG\n")
    result = validate_source(source)
    assert result.flow.tasks[0].level == "ERROR"


def test_expressions_are_accepted_where_values_are_typed():
    source = HEADER + ("tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: '{{ inputs.n }}'\n"
                       "    timeout: '{{ vars.t }}'\n    tasks:\n      - id: l\n        type: io.kestra.plugin.core.log.Log\n"
                       "        message: m\n")
    result = validate_source(source)
    assert result.valid
    assert result.flow.tasks[0].concurrent == "{{ inputs.n }}"


def test_the_flow_value_is_complete():
    source = HEADER + ("labels:\n  team: data\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Sequential\n"
                       "    tasks:\n      - id: inner\n        type: io.kestra.plugin.core.log.Log\n        message: m\n"
                       "        timeout: PT1M\nerrors:\n  - id: e\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
                       "finally:\n  - id: fin\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    flow = validate_source(source).flow
    assert isinstance(flow, Flow)
    assert flow.labels == {"team": "data"}
    assert [t.id for t in flow.all_tasks()] == ["s", "inner", "e", "fin"]
    assert flow.tasks[0].tasks[0].timeout == timedelta(minutes=1)
    assert isinstance(flow.tasks[0], FlowableTask) and isinstance(flow.tasks[0].tasks[0], RunnableTask)


def test_all_problems_are_reported_at_once():
    source = HEADER + "tasks:\n" + "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.log.Log\n    lvl: {i}\n" for i in range(5))
    result = validate_source(source)
    assert len([p for p in result.errors if "unknown property 'lvl'" in p.message]) == 5
    assert len([p for p in result.errors if "missing required property 'message'" in p.message]) == 5


def test_labels_as_list_or_map():
    as_list = validate_source(HEADER + "labels:\n  - key: a\n    value: 1\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    assert as_list.flow.labels == {"a": "1"}
    bad = validate_source(HEADER + "labels:\n  - a\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    assert [p.message for p in bad.errors] == ["item 0: expected a mapping with exactly 'key' and 'value'"]


def test_mapping_keys_no_property_can_have_are_reported_not_crashed_on():
    from lanner.flows.validator import validate_source

    result = validate_source('"\\x98\\e":\n- a: 1\n  ? [1, 2]\n  : 3\n')
    assert not result.valid and result.errors


SLA_FLOW = HEADER + "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\nsla:\n  - id: s\n"


@pytest.mark.parametrize(("sla", "path", "message"), [
    ("    type: MAX_DURATION\n", "sla[0]",
     "a MAX_DURATION SLA needs a duration (such as PT1H): add one, or remove the SLA"),
    ("    type: EXECUTION_ASSERTION\n    behavior: NONE\n", "sla[0]",
     "an EXECUTION_ASSERTION SLA needs an assert expression"),
    ("    type: EXECUTION_ASSERTION\n    assert: ''\n", "sla[0]",
     "an EXECUTION_ASSERTION SLA needs an assert expression"),
    ("    type: MAX_DURATION\n    duration: PT1H\n    assert: \"{{ true }}\"\n", "sla[0].assert",
     "only an EXECUTION_ASSERTION SLA checks an assertion"),
    ("    type: EXECUTION_ASSERTION\n    assert: \"{{ true }}\"\n    duration: PT1H\n", "sla[0].duration",
     "only a MAX_DURATION SLA has a duration"),
])
def test_an_sla_without_what_its_type_checks_is_refused(sla, path, message):
    # Accepted, such an SLA would never be violated: the flow's author would believe it guards the execution.
    [problem] = validate_source(SLA_FLOW + sla).errors
    assert dotted(problem.path) == path and problem.message.startswith(message)


def test_complete_slas_are_accepted():
    result = validate_source(SLA_FLOW + "    type: MAX_DURATION\n    duration: PT1H\n  - id: a\n"
                             "    type: EXECUTION_ASSERTION\n    assert: \"{{ true }}\"\n")
    assert result.valid, [p.format() for p in result.problems]


RETRY_TASK = "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"


@pytest.mark.parametrize(("source", "path"), [
    (RETRY_TASK + "    retry:\n      type: constant\n      interval: PT1S\n      behavior: CREATE_NEW_EXECUTION\n",
     "tasks[0].retry.behavior"),
    (RETRY_TASK + "retry:\n  type: random\n  minInterval: PT1S\n  maxInterval: PT2S\n"
                  "  behavior: CREATE_NEW_EXECUTION\n", "retry.behavior"),
])
def test_a_retry_creating_a_new_execution_is_refused(source, path):
    # Lanner retries a failed task in the same execution: accepting the behavior would silently do something else.
    [problem] = validate_source(HEADER + source).errors
    assert dotted(problem.path) == path
    assert problem.message == ("CREATE_NEW_EXECUTION is not supported by Lanner yet (it retries a failed task in the "
                               "same execution): remove behavior, or set RETRY_FAILED_TASK, the default")
    explicit = validate_source(HEADER + source.replace("CREATE_NEW_EXECUTION", "RETRY_FAILED_TASK"))
    assert explicit.valid, [p.format() for p in explicit.problems]


def test_a_working_directory_says_its_tasks_do_not_share_a_directory_and_refuses_shared_files():
    source = ("id: f\nnamespace: n\ntasks:\n  - id: wd\n    type: io.kestra.plugin.core.flow.WorkingDirectory\n"
              "{extra}    tasks:\n      - id: t\n        type: io.kestra.plugin.core.log.Log\n        message: m\n")
    plain = validate_source(source.format(extra=""))
    assert plain.valid
    [warning] = plain.problems
    assert warning.severity == "warning" and "do not share a working directory in Lanner yet" in warning.message
    shared = validate_source(source.format(extra="    outputFiles: ['*.csv']\n"))
    assert [p.message for p in shared.errors] == [
        "outputFiles of a WorkingDirectory are not supported by Lanner yet (its tasks do not share a directory): "
        "set them on the script tasks that use the files"]


def test_properties_lanner_does_not_act_on_are_warned_of_with_why():
    result = validate_source(
        "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "    logToFile: true\n  - id: s\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: n\n"
        "    flowId: g\n    outputs:\n      x: '{{ outputs.a.value }}'\n"
        "triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
        "    minLogLevel: WARN\n")
    assert result.valid
    assert [(dotted(p.path), p.message.split(":")[0]) for p in result.problems if p.severity == "warning"] == [
        ("tasks[0].logToFile", "`logToFile` is ignored"), ("tasks[1].outputs", "`outputs` is ignored"),
        ("triggers[0].minLogLevel", "`minLogLevel` is ignored")]
