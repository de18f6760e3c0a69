"""The JSON schemas of lanner.flows.json_schema say what the validator does: every registered type has one,
its required properties are those the validator asks for, its defaults those the validator fills in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticUndefined, to_jsonable_python

from lanner.flows import json_schema
from lanner.flows.registry import BASES, default_registry
from lanner.flows.validator import validate_source
from lanner.model.task import ConditionSpec, TaskSpec, TriggerSpec

REGISTRY = default_registry()
TYPES = [cls for base in BASES for cls in REGISTRY.types(base)]
MISSING = re.compile(r"missing required property '([^']+)'")


def _by_name(cls: type) -> str:
    return cls.TYPE  # type: ignore[attr-defined, no-any-return]


def test_every_registered_type_and_alias_has_a_schema_naming_it():
    assert len(TYPES) > 40
    for cls in TYPES:
        for name in (cls.TYPE, *cls.ALIASES):
            schema = json_schema.type_schema(name)
            assert schema is not None, name
            assert schema["properties"]["type"].get("const", None) == cls.TYPE or \
                schema["properties"]["type"]["enum"] == [cls.TYPE, *cls.ALIASES]
            assert schema["title"] and schema["type"] == "object"
    assert json_schema.type_schema("io.kestra.plugin.core.log.Nope") is None


def _document(cls: type) -> str:
    """A flow using the type with no property but its id and type."""
    if issubclass(cls, TaskSpec):
        return f"id: f\nnamespace: n\ntasks:\n  - id: t\n    type: {cls.TYPE}\n"
    log = "tasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    if issubclass(cls, TriggerSpec):
        return f"id: f\nnamespace: n\n{log}triggers:\n  - id: t\n    type: {cls.TYPE}\n"
    assert issubclass(cls, ConditionSpec)
    return (f"id: f\nnamespace: n\n{log}triggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Flow\n"
            f"    conditions:\n      - type: {cls.TYPE}\n")


@pytest.mark.parametrize("cls", TYPES, ids=_by_name)
def test_the_required_properties_are_those_the_validator_asks_for(cls):
    schema = json_schema.type_schema(cls.TYPE)
    assert schema is not None
    given = {"type"} if issubclass(cls, ConditionSpec) else {"type", "id"}  # what _document writes
    declared = set(schema.get("required", [])) - given
    # The validator names one missing property per mapping (it merges the errors at one place): the one it
    # names is declared required, and the spec it checks with misses exactly the declared ones.
    asked = {match.group(1) for problem in validate_source(_document(cls)).errors
             if (match := MISSING.search(problem.message))}
    assert asked <= declared and bool(asked) == bool(declared)
    try:
        cls.model_validate({"type": cls.TYPE} if given == {"type"} else {"type": cls.TYPE, "id": "t"})
        missing: set[str] = set()
    except ValidationError as exc:
        missing = {str(error["loc"][0]) for error in exc.errors() if error["type"] == "missing"}
    assert missing == declared


@pytest.mark.parametrize("cls", TYPES, ids=_by_name)
def test_the_defaults_are_the_specs_own(cls):
    schema = json_schema.type_schema(cls.TYPE)
    assert schema is not None
    for name, field in cls.model_fields.items():
        prop = schema["properties"][field.alias or name]
        if field.default is PydanticUndefined:
            assert "default" not in prop, (cls.TYPE, name)
            continue
        if field.default_factory is None:
            assert prop.get("default", PydanticUndefined) == _json(field.default), (cls.TYPE, name)


def _json(value: Any) -> Any:
    """A default as the schema shows it (JSON: enums by value, models by alias, durations as ISO text)."""
    return to_jsonable_python(value, by_alias=True)


def test_a_default_in_the_schema_is_what_the_validated_flow_gets():
    schema = json_schema.type_schema("io.kestra.plugin.core.log.Log")
    assert schema is not None
    result = validate_source("id: f\nnamespace: n\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n"
                             "    message: m\n")
    assert result.valid
    assert result.flow.tasks[0].level == schema["properties"]["level"]["default"] == "INFO"


def test_dynamic_properties_admit_an_expression_and_ignored_ones_say_why():
    log = json_schema.type_schema("io.kestra.plugin.core.log.Log")
    assert log is not None
    level = log["properties"]["level"]
    assert level["$dynamic"] is True and {"type": "string", "pattern": json_schema.TEMPLATE_PATTERN} in level["anyOf"]
    assert log["properties"]["workerGroup"]["$deprecated"] is True
    assert "Accepted, not acted on" in log["properties"]["workerGroup"]["description"]
    assert log["$aliases"] == ["io.kestra.core.tasks.log.Log"] and log["$kind"] == "task"


def test_the_flow_schema_admits_every_type_where_tasks_and_triggers_go():
    flow = json_schema.root_schema("FLOW")
    definitions = flow["definitions"]
    tasks_ref = definitions["Flow"]["properties"]["tasks"]["items"]["$ref"].rsplit("/", 1)[-1]
    admitted = {ref["$ref"].rsplit("/", 1)[-1] for ref in definitions[tasks_ref]["anyOf"]}
    assert len(admitted) == len(REGISTRY.types(TaskSpec))
    assert set(definitions["Flow"]["required"]) == {"id", "namespace", "tasks"}
    assert json_schema.root_schema("TASK", array_of=True)["type"] == "array"
    assert set(json_schema.properties_of("TEMPLATE")["properties"]) == {"id", "namespace", "description", "tasks",
                                                                         "errors"}
    with pytest.raises(KeyError):
        json_schema.root_schema("DASHBOARD")


def test_labels_admit_a_map_or_kestras_list_as_the_validator_does():
    labels = json_schema.root_schema("FLOW")["definitions"]["Flow"]["properties"]["labels"]
    assert {"additionalProperties": True, "type": "object"} in labels["anyOf"]
    listed = next(alternative for alternative in labels["anyOf"] if alternative.get("type") == "array")
    assert listed["items"]["required"] == ["key", "value"]
    source = "id: f\nnamespace: n\nlabels:\n  - key: team\n    value: data\ntasks:\n  - id: l\n" \
             "    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    assert validate_source(source).flow.labels == {"team": "data"}
