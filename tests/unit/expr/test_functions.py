"""Functions: range, max/min, uuid, randomInt, render/renderOnce, secret, and the runtime hooks."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from lanner.expr import ExpressionError, Services, render
from tests.unit.expr.helpers import fails, r


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ range(0, 3) }}", "[0,1,2,3]"),
        ("{{ range(0, 6, 2) }}", "[0,2,4,6]"),
        ("{{ range(3, 0, -1) }}", "[3,2,1,0]"),
        ("{{ range(3, 0) }}", "[]"),
        ("{% for i in range(1, 3) %}{{ i }},{% endfor %}", "1,2,3,"),
        ("{{ max(20, 80, 5) }}{{ min(20, 80, 5) }}", "805"),
        ("{{ max(1, 2.5) }}{{ min('b', 'a') }}", "2.5a"),
    ],
)
def test_pure_functions(template: str, expected: str) -> None:
    assert r(template) == expected


def test_pure_function_errors() -> None:
    fails("{{ range(0, 10, 0) }}", "non-zero `increment`")
    fails("{{ range(0, 2000000) }}", "more than 1000000 numbers")
    fails("{{ 0..2000000 }}", "more than 1000000 numbers")
    fails("{{ range('a', 2) }}", "integer `start`")
    fails("{{ range(1) }}", "expects an argument `end`")
    fails("{{ max() }}", "at least one argument")
    fails("{{ max(1, 'a') }}", "cannot compare")
    fails("{{ max(a=1) }}", "takes no named arguments")
    fails("{{ randomInt(5, 1) }}", "`upper` to be at least `lower`")
    fails("{{ randomInt(1.5, 2) }}", "`lower` to be an integer")


def test_uuid_and_random_int() -> None:
    first, second = r("{{ uuid() }}"), r("{{ uuid() }}")
    assert uuid.UUID(first) and first != second
    for _ in range(50):
        assert 1 <= int(r("{{ randomInt(1, 10) }}")) < 10
    assert r("{{ randomInt(4, 4) }}") == "4"


def test_render_renders_a_string_again_with_the_same_context() -> None:
    variables = {"greeting": "Hello {{ inputs.name }}", "twice": "{{ vars.greeting }}!"}
    context = {"vars": variables, "inputs": {"name": "Ada"}}
    assert render("{{ vars.greeting }}", context) == "Hello {{ inputs.name }}"
    assert render("{{ render(vars.greeting) }}", context) == "Hello Ada"
    assert render("{{ render(vars.twice) }}", context) == "Hello Ada!"  # recursive by default
    assert render("{{ renderOnce(vars.twice) }}", context) == "Hello {{ inputs.name }}!"
    assert render("{{ render(vars.twice, recursive=false) }}", context) == "Hello {{ inputs.name }}!"
    assert render("{{ render(12) }}", context) == "12"
    assert render("{% set who = 'local' %}{{ render('{{ who }}') }}", context) == "local"


def test_render_recursion_is_bounded() -> None:
    loop = {"vars": {"a": "{{ render(vars.a) }}"}}
    message = fails("{{ render(vars.a) }}", "nested more than 3 levels", **loop)
    assert message.startswith("Unable to render the expression")
    grows = {"vars": {"g": "x{{ '{{ render(vars.g) }}' }}"}}
    fails("{{ render(vars.g) }}", "Unable to render", **grows)
    assert render("{{ render(t) }}", {"t": "{{ '{{ 1 }}' }}"}) == "1"
    fails("{{ render(t) }}", "still changed the text after 10 passes", t="a{{ t }}")


def test_render_reports_errors_of_the_inner_template() -> None:
    fails("{{ render('{{ nope }}') }}", "Unable to find `nope` used in the expression `{{ nope }}`")


def test_secret_reads_base64_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_MYPASSWORD", encoded("p4ss w0rd"))
    monkeypatch.setenv("SECRET_JSON", encoded('{"user": "ada", "port": 5432}'))
    seen: set[str] = set()
    assert render("{{ secret('MYPASSWORD') }}", {}, secrets=seen) == "p4ss w0rd"
    assert render("{{ secret('mypassword') }}", {}) == "p4ss w0rd"  # keys are upper-cased
    assert render("{{ secret('JSON', subkey='user') }}", {}, secrets=seen) == "ada"
    assert render("{{ secret('JSON', subkey='port') }}", {}) == "5432"
    assert seen == {"p4ss w0rd", '{"user": "ada", "port": 5432}', "ada"}


def test_secret_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_ROTATED", encoded("old"))
    assert r("{{ secret('ROTATED') }}") == "old"
    monkeypatch.setenv("SECRET_ROTATED", encoded("new"))
    assert r("{{ secret('ROTATED') }}") == "new"


def test_missing_or_malformed_secrets_name_the_variable_and_reveal_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_ABSENT", raising=False)
    monkeypatch.setenv("SECRET_OTHER", encoded("other-value"))
    message = fails("{{ secret('ABSENT') }}", "Unable to find the secret `ABSENT`", "`SECRET_ABSENT`", "base64")
    assert "other-value" not in message
    monkeypatch.setenv("SECRET_BROKEN", "***not base64***")
    message = fails("{{ secret('BROKEN') }}", "`SECRET_BROKEN`", "not valid base64")
    assert "not base64***" not in message
    monkeypatch.setenv("SECRET_PLAIN", encoded("plain"))
    fails("{{ secret('PLAIN', subkey='x') }}", "not a JSON object")
    fails("{{ secret('JSONISH', subkey='x') }}", "SECRET_JSONISH")


def test_secret_values_never_appear_in_error_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", encoded("tok-12345"))
    for template in [
        "{{ render(secret('TOKEN') ~ ' {{ nope }}') }}",  # the secret becomes template text
        "{{ {'a': 1}[secret('TOKEN')] }}",  # the secret is the missing key
        "{{ render('{{ ' ~ secret('TOKEN') ~ ' }}') }}",  # the secret in a syntax error
        "{{ fromJson(secret('TOKEN')) }}",
        "{{ secret('TOKEN') | date('yyyy') }}",
        "{{ secret('TOKEN') | number }}",
    ]:
        with pytest.raises(ExpressionError) as caught:
            render(template, {})
        assert "tok-12345" not in str(caught.value), template
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


class FakeServices:
    def __init__(self) -> None:
        self.store = {("greeting", None): "hi", ("greeting", "other.ns"): "hello"}

    def kv(self, key: str, namespace: str | None) -> Any:
        return self.store.get((key, namespace))

    def read(self, uri: str) -> str:
        if uri == "broken":
            raise OSError("disk on fire")
        return f"content of {uri}"

    def file_size(self, uri: str) -> int:
        return 42

    def error_logs(self) -> list[Any]:
        return [{"message": "boom"}]

    def current_each_output(self, outputs: Any) -> Any:
        return outputs["v1"]


def test_runtime_functions_call_the_services() -> None:
    services = FakeServices()
    assert isinstance(services, Services)

    def with_services(template: str, **context: Any) -> str:
        return render(template, context, services)

    assert with_services("{{ kv('greeting') }}") == "hi"
    assert with_services("{{ kv('greeting', namespace='other.ns') }}") == "hello"
    assert with_services("[{{ kv('absent', errorOnMissing=false) }}]") == "[]"
    assert with_services("{{ read('kestra:///a.txt') }}") == "content of kestra:///a.txt"
    assert with_services("{{ fileSize(outputs.dl.uri) }}", outputs={"dl": {"uri": "u"}}) == "42"
    assert with_services("{{ errorLogs()[0].message }}") == "boom"
    assert with_services("{{ currentEachOutput(outputs.first).value }}", outputs={"first": {"v1": {"value": 7}}}) == "7"
    with pytest.raises(ExpressionError, match="the key `absent` does not exist in the flow's namespace"):
        with_services("{{ kv('absent') }}")
    with pytest.raises(ExpressionError, match="the `read` function failed: OSError: disk on fire"):
        with_services("{{ read('broken') }}")


class PartialServices(Services):
    def read(self, uri: str) -> str:
        return "only read"


@pytest.mark.parametrize("function", ["kv('k')", "read('u')", "fileSize('u')", "errorLogs()", "currentEachOutput(1)"])
def test_runtime_functions_without_services_say_they_are_not_available(function: str) -> None:
    name = function.split("(")[0]
    fails("{{ " + function + " }}", f"the `{name}` function is not available in this context")


def test_a_services_object_may_implement_only_some_hooks() -> None:
    assert render("{{ read('x') }}", {}, PartialServices()) == "only read"
    with pytest.raises(ExpressionError, match="`kv` function is not available"):
        render("{{ kv('x') }}", {}, PartialServices())
