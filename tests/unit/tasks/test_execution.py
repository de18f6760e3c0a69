"""Fail, Labels, OutputValues and Resume."""

from __future__ import annotations

import pytest

from lanner.errors import UsageError
from lanner.expr import ExpressionError
from lanner.tasks.core.execution import Fail, OutputValues, Resume, SetLabels
from lanner.tasks.runnable import TaskFailure, TaskOutput
from tests.unit.tasks.fake_context import FakeContext, task

# --- Fail ---


def test_fail_without_condition_fails_with_the_default_message():
    with pytest.raises(TaskFailure, match="^Task failure$"):
        task(Fail).run(FakeContext())


def test_fail_renders_its_error_message():
    context = FakeContext({"inputs": {"code": 42}})
    with pytest.raises(TaskFailure, match="^Bad code 42$"):
        task(Fail, errorMessage="Bad code {{ inputs.code }}").run(context)


@pytest.mark.parametrize("rendered", ["true", "1", "yes", "False", "FALSE", "0.0", " false", "[]", "null"])
def test_fail_fails_when_the_condition_renders_truthy(rendered):
    context = FakeContext({"c": rendered})
    with pytest.raises(TaskFailure, match="^stop$"):
        task(Fail, condition="{{ c }}", errorMessage="stop").run(context)


@pytest.mark.parametrize("rendered", ["false", "0", "-0", ""])
def test_fail_succeeds_when_the_condition_renders_falsy(rendered):
    context = FakeContext({"c": rendered})
    assert task(Fail, condition="{{ c }}", errorMessage="{{ never_rendered }}").run(context) == TaskOutput()


def test_fail_reads_comparisons_and_literal_booleans():
    context = FakeContext({"inputs": {"param": "FAIL"}})
    with pytest.raises(TaskFailure):
        task(Fail, condition="{{ inputs.param == 'FAIL' }}").run(context)
    assert task(Fail, condition="{{ inputs.param == 'OK' }}").run(context) == TaskOutput()
    assert task(Fail, condition=False).run(context) == TaskOutput()
    with pytest.raises(TaskFailure):
        task(Fail, condition=True).run(context)


def test_fail_with_an_undefined_variable_in_its_condition_raises_the_expression_error():
    with pytest.raises(ExpressionError, match="Unable to find `x` used in the expression `{{ x }}` at line 1"):
        task(Fail, condition="{{ x }}").run(FakeContext())


# --- Labels ---


def test_labels_from_a_map_render_keys_and_values():
    context = FakeContext({"trigger": {"body": {"customer": "c-1", "kind": "team"}}})
    result = task(SetLabels, labels={"customer": "{{ trigger.body.customer }}", "{{ trigger.body.kind }}": "x"}).run(
        context
    )
    assert result == TaskOutput(labels={"customer": "c-1", "team": "x"})


def test_labels_from_a_list_of_key_value_pairs():
    context = FakeContext({"order": 7})
    labels = [{"key": "order_id", "value": "{{ order }}"}, {"key": "kind", "value": "urgent"}]
    assert task(SetLabels, labels=labels).run(context).labels == {"order_id": "7", "kind": "urgent"}


def test_literal_values_become_text():
    result = task(SetLabels, labels={"n": 3, "ok": True}).run(FakeContext())
    assert result.labels == {"n": "3", "ok": "true"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "1", "b": 2, "c": true}', {"a": "1", "b": "2", "c": "true"}),
        ('[{"key": "a", "value": "x"}, {"key": "a", "value": "y"}]', {"a": "y"}),
        ('{"m": {"k": [1, 2]}}', {"m": '{"k":[1,2]}'}),
    ],
)
def test_labels_from_a_string_rendering_to_json(text, expected):
    context = FakeContext({"payload": text})
    assert task(SetLabels, labels="{{ payload }}").run(context).labels == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "The rendered labels are not JSON of a map or a list of {key, value}: "),
        ("3", "Expected labels as a map or a list of {key, value}, got int"),
        ('[{"key": "a"}]', "Labels item 0 is not a mapping with `key` and `value`"),
        ('{"a": null}', "Label `a` has no value"),
        ('{"": "x"}', "A label key is empty"),
    ],
)
def test_labels_that_cannot_be_read_fail_the_task(text, message):
    with pytest.raises(TaskFailure) as caught:
        task(SetLabels, labels="{{ payload }}").run(FakeContext({"payload": text}))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "labels",
    [{"system.correlationId": "x"}, [{"key": "system.readOnly", "value": "true"}], '{"system.x": "y"}'],
)
def test_system_labels_are_refused(labels):
    with pytest.raises(TaskFailure) as caught:
        task(SetLabels, labels=labels).run(FakeContext())
    message = str(caught.value)
    assert "is a system label: labels starting with `system.` are reserved for the server" in message


def test_a_key_rendering_to_a_system_label_is_refused_too():
    context = FakeContext({"k": "system.username"})
    with pytest.raises(TaskFailure, match="Label `system.username` is a system label"):
        task(SetLabels, labels={"{{ k }}": "v"}).run(context)


def test_labels_with_an_undefined_variable_raise_the_expression_error():
    with pytest.raises(ExpressionError, match="Unable to find `who`"):
        task(SetLabels, labels={"owner": "{{ who }}"}).run(FakeContext())


# --- OutputValues ---


def test_output_values_renders_every_value_at_any_depth():
    context = FakeContext({"inputs": {"n": 5}})
    values = {"plain": "text", "count": "{{ inputs.n }}", "nested": {"list": ["{{ inputs.n * 2 }}", 1]}}
    result = task(OutputValues, values=values).run(context)
    assert result == TaskOutput(outputs={"values": {"plain": "text", "count": "5", "nested": {"list": ["10", 1]}}})


def test_output_values_defaults_to_an_empty_map():
    assert task(OutputValues).run(FakeContext()).outputs == {"values": {}}


def test_output_values_with_an_undefined_variable_raise_the_expression_error():
    with pytest.raises(ExpressionError, match="Unable to find `gone`"):
        task(OutputValues, values={"a": "{{ gone }}"}).run(FakeContext())


# --- Resume ---


class ResumingContext(FakeContext):
    """Records what the task asks to resume; refuses with ``refusal`` when one is set."""

    def __init__(self, variables=None, refusal: str | None = None) -> None:
        super().__init__(variables or {})
        self.resumed: list[tuple[str, dict, str | None, str | None]] = []
        self.refusal = refusal

    def resume_execution(self, execution_id, inputs, *, namespace=None, flow_id=None):
        if self.refusal:
            raise UsageError(self.refusal)
        self.resumed.append((execution_id, inputs, namespace, flow_id))


def test_resume_names_the_flow_the_execution_must_belong_to():
    context = ResumingContext({"trigger": {"executionId": "e-9", "namespace": "company.ops"}})
    resume = task(Resume, executionId="{{ trigger.executionId }}", namespace="{{ trigger.namespace }}",
                  flowId="approvals", inputs={"by": "bot"})
    assert resume.run(context) == TaskOutput()
    assert context.resumed == [("e-9", {"by": "bot"}, "company.ops", "approvals")]


def test_resume_without_namespace_or_flow_id_resumes_this_execution_unqualified():
    context = ResumingContext()
    task(Resume).run(context)
    assert context.resumed == [("exec-1", {}, None, None)]


def test_resume_fails_with_the_reason_the_execution_cannot_be_resumed():
    context = ResumingContext(
        refusal="execution e-9 belongs to flow company.team.other, not to flow company.ops.approvals")
    with pytest.raises(TaskFailure) as caught:
        task(Resume, executionId="e-9", namespace="company.ops", flowId="approvals").run(context)
    assert str(caught.value) == ("cannot resume execution e-9: execution e-9 belongs to flow company.team.other, "
                                 "not to flow company.ops.approvals")
