"""The UI's pure helpers: input widgets by type, dates and durations as shown, diff line kinds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter

from lanner.model.inputs import Input
from lanner.web.ui_flows import _line_kind
from lanner.web.ui_render import _templates, input_field, page, took, when


def spec(**values):
    return TypeAdapter(Input).validate_python({"id": "x", **values})


@pytest.mark.parametrize(("declared", "widget", "html_type"), [
    ({"type": "STRING"}, "input", "text"),
    ({"type": "INT", "min": 1, "max": 9}, "input", "number"),
    ({"type": "FLOAT"}, "input", "number"),
    ({"type": "BOOLEAN"}, "checkbox", None),
    ({"type": "DATETIME"}, "input", "datetime-local"),
    ({"type": "DATE"}, "input", "date"),
    ({"type": "SECRET"}, "input", "password"),
    ({"type": "JSON"}, "textarea", None),
    ({"type": "ARRAY", "itemType": "INT"}, "textarea", None),
    ({"type": "ENUM", "values": ["a", "b"]}, "select", None),
    ({"type": "SELECT", "values": ["a", "b"], "allowCustomValue": True}, "datalist", None),
    ({"type": "FILE"}, "unsupported", None),
    ({"type": "MULTISELECT", "values": ["a", "b"]}, "multiselect", None),
])
def test_each_input_type_gets_a_fitting_widget(declared, widget, html_type):
    field = input_field(spec(**declared))
    assert field["widget"] == widget
    assert field["attrs"].get("type") == html_type


def test_fields_carry_bounds_defaults_and_choices():
    number = input_field(spec(type="INT", min=1, max=9, defaults=3, required=False))
    assert number["attrs"] == {"type": "number", "step": "1", "min": 1, "max": 9}
    assert number["value"] == "3" and not number["required"]
    assert input_field(spec(type="BOOLEAN", defaults=True))["checked"]
    assert not input_field(spec(type="BOOLEAN"))["checked"]
    assert input_field(spec(type="ENUM", values=["a", "b"], defaults="b"))["options"] == ["a", "b"]
    assert input_field(spec(type="JSON", defaults={"k": 1}))["value"] == '{\n  "k": 1\n}'
    assert input_field(spec(type="DATETIME", defaults="2024-01-31T12:00:00+02:00"))["value"] == "2024-01-31T10:00:00"
    templated = input_field(spec(type="STRING", defaults="{{ now() }}"))
    assert templated["value"] == "" and templated["placeholder"] == "default: {{ now() }}"
    assert input_field(spec(type="FILE"))["note"]
    several = input_field(spec(type="MULTISELECT", values=["a", "b", "c"], defaults=["b"]))
    assert several["options"] == ["a", "b", "c"] and several["selected"] == ["b"]


def test_a_dependent_input_shows_when_it_is_used():
    field = input_field(spec(type="INT", dependsOn={"inputs": ["kind"], "condition": "{{ inputs.kind == 'vm' }}"}))
    assert field["condition"] == "{{ inputs.kind == 'vm' }}"
    assert input_field(spec(type="INT"))["condition"] is None
    macro = _templates.from_string('{% from "_inputs.html" import field %}{{ field(f, "in") }}')
    html = macro.render(f=field)
    assert 'name="x"' in html
    assert "only used when <code>{{ inputs.kind == &#39;vm&#39; }}</code> is true" in html


def test_dates_and_durations_as_shown():
    assert when("2024-01-31T10:00:00.123456Z") == "2024-01-31 10:00:00"
    assert when(None) == ""
    assert took({"startDate": "2024-01-31T10:00:00Z", "endDate": "2024-01-31T10:00:00.250Z"}) == "250 ms"
    assert took({"startDate": "2024-01-31T10:00:00Z", "endDate": "2024-01-31T10:02:03Z"}) == "2 min 3 s"
    assert took({"startDate": "2024-01-31T10:00:00Z", "endDate": None}) == ""


def test_diff_lines_are_classified():
    assert [_line_kind(line) for line in ("--- a", "+++ b", "@@ -1 +1 @@", "-old", "+new", " same")] == [
        "file", "file", "hunk", "del", "add", "same"]


def request(credentials: object = None, users: object = None) -> Any:
    """What ``page`` reads of a request: where the app finds its user (None: authentication is off)."""
    if credentials is not None:
        users = SimpleNamespace(current=lambda: credentials)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(users=users)))


def test_pages_escape_what_they_show():
    html = page(request(), "flow_new.html",
                source="id: x\nmessage: </textarea><script>alert(1)</script>").body.decode()
    assert "<script>alert(1)" not in html and "&lt;/textarea&gt;&lt;script&gt;" in html


def test_sign_out_is_offered_only_when_authentication_is_on():
    assert "Sign out" not in page(request(), "flow_new.html", source="").body.decode()
    assert 'href="/ui/logout"' in page(request(object()), "flow_new.html", source="").body.decode()
    assert "Sign out" not in page(request(object()), "login.html", next="/ui/flows", problem=None).body.decode()
    no_user_yet = request(users=SimpleNamespace(current=lambda: None))  # authentication on, setup pending
    assert "Sign out" not in page(no_user_yet, "flow_new.html", source="").body.decode()
    assert "Sign out" not in page(no_user_yet, "setup.html", problems=[], username="").body.decode()


def test_the_execution_page_marks_the_branches_of_the_flow_and_of_its_flowables():
    from lanner.flows.validator import validate_source
    from lanner.web.ui_executions import branches

    def step(task_id: str, pad: str = "  ") -> str:
        return f"{pad}- id: {task_id}\n{pad}  type: io.kestra.plugin.core.log.Log\n{pad}  message: x\n"

    validation = validate_source(
        "id: f\nnamespace: company.team\ntasks:\n" + step("main")
        + "  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n" + step("inner", "      ")
        + "    errors:\n" + step("seq_error", "      ") + "    finally:\n" + step("seq_finally", "      ")
        + "errors:\n" + step("on_error") + "finally:\n" + step("cleanup") + "afterExecution:\n" + step("notify"))
    assert validation.valid, [p.format() for p in validation.problems]
    assert branches(validation.flow) == {"on_error": "errors", "cleanup": "finally", "notify": "afterExecution",
                                         "seq_error": "errors", "seq_finally": "finally"}
