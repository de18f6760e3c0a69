"""What every UI page shares: the autoescaping templates, dates as people read them, and input widgets.

A flow input (or a Pause's ``onResume`` input) becomes one form field whose HTML widget
fits its type: a number box for INT and FLOAT, a checkbox for BOOLEAN, a list for ENUM
and SELECT, a text area for JSON, YAML and ARRAY, date and time pickers (in UTC).  The
browser sends the field's text; the API converts and checks it, as for any client.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lanner import version
from lanner.model.inputs import InputSpec
from lanner.model.spec import is_template
from lanner.web.context import Server
from lanner.web.deps import server

HERE = Path(__file__).parent
Srv = Annotated[Server, Depends(server)]

# type -> (widget, HTML input type); anything else is a one-line text box.
_WIDGETS = {
    "INT": ("input", "number"), "FLOAT": ("input", "number"), "BOOLEAN": ("checkbox", "checkbox"),
    "DATETIME": ("input", "datetime-local"), "DATE": ("input", "date"), "TIME": ("input", "time"),
    "EMAIL": ("input", "email"), "URI": ("input", "url"), "SECRET": ("input", "password"),
    "JSON": ("textarea", ""), "YAML": ("textarea", ""), "ARRAY": ("textarea", ""),
    "FILE": ("unsupported", ""), "MULTISELECT": ("multiselect", ""),
}
_UNSUPPORTED = {
    "FILE": "file inputs cannot be sent from this form yet (the API does not take uploads)",
}
_PLACEHOLDERS = {"DURATION": "PT5M", "JSON": '{"key": "value"}', "ARRAY": '["a", "b"]', "URI": "https://",
                 "DATETIME": "UTC"}


def when(moment: str | datetime | None) -> str:
    """An ISO-8601 instant as ``2024-01-31 10:00:00`` (UTC, to the second)."""
    if moment is None:
        return ""
    text = moment.isoformat() if isinstance(moment, datetime) else moment
    return text.replace("T", " ").replace("+00:00", "").rstrip("Z").split(".")[0]


def took(state: dict[str, Any]) -> str:
    """How long a shaped state (``{startDate, endDate}``) lasted, as ``1.25 s``; empty while it runs."""
    if not state.get("endDate") or not state.get("startDate"):
        return ""
    seconds = (datetime.fromisoformat(state["endDate"])
               - datetime.fromisoformat(state["startDate"])).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.{2 if seconds < 10 else 1}f} s"
    return f"{int(seconds // 60)} min {round(seconds % 60)} s"


_templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
_templates.filters["when"] = when
_templates.filters["took"] = took


def page(request: Request, name: str, **values: Any) -> HTMLResponse:
    """A rendered page; ``signs_in``: authentication is on and its user exists, so the header offers to sign out."""
    users = getattr(request.app.state, "users", None)
    signs_in = users is not None and users.current() is not None
    return HTMLResponse(_templates.get_template(name).render(version=version(), signs_in=signs_in, **values))


def input_field(spec: InputSpec) -> dict[str, Any]:
    """The form field for one declared input: its widget, HTML attributes, default text and choices."""
    kind = spec.TYPE_NAME
    widget, html_type = _WIDGETS.get(kind, ("input", "text"))
    attrs: dict[str, Any] = {"type": html_type} if widget == "input" else {}
    if kind in ("INT", "FLOAT"):
        attrs["step"] = "1" if kind == "INT" else "any"
        for bound in ("min", "max"):
            if isinstance(getattr(spec, bound, None), int | float):
                attrs[bound] = getattr(spec, bound)
    if kind in ("DATETIME", "TIME"):
        attrs["step"] = "1"
    default = spec.defaults
    field: dict[str, Any] = {
        "id": spec.id, "type": kind, "required": spec.required, "widget": widget, "attrs": attrs,
        "label": spec.display_name or spec.id, "description": spec.description, "note": _UNSUPPORTED.get(kind),
        "value": "", "checked": default is True or str(default).lower() == "true", "options": [],
        "placeholder": _PLACEHOLDERS.get(kind, ""),
        # Shown, not evaluated here: the API skips the input when the condition is not true.
        "condition": spec.depends_on.condition if spec.depends_on else None,
    }
    if is_template(default):  # rendered when the execution starts: shown, not filled in
        field["placeholder"] = f"default: {default}"
    elif default is not None:
        field["value"] = _text(kind, default)
    values = getattr(spec, "values", None)
    if kind == "MULTISELECT":
        values = values if isinstance(values, list) else getattr(spec, "options", None)
        field["options"] = [str(v) for v in values or []]
        field["selected"] = [str(v) for v in default] if isinstance(default, list) else []
        field["value"] = ""
        if not field["options"]:  # free values (allowCustomValue without a list): a JSON array
            field.update(widget="textarea", placeholder='["a", "b"]',
                         value=json.dumps(default) if isinstance(default, list) else "")
    elif kind in ("ENUM", "SELECT") and isinstance(values, list):
        field["options"] = [str(v) for v in values]
        field["widget"] = "datalist" if getattr(spec, "allow_custom_value", False) else "select"
        field["attrs"] = {}
    return field


def _text(kind: str, value: Any) -> str:
    if kind in ("JSON", "ARRAY") or isinstance(value, dict | list):
        return json.dumps(value, indent=2) if isinstance(value, dict | list) else str(value)
    if kind == "DATETIME":  # datetime-local shows UTC without its Z; the page adds it back when sending
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)
