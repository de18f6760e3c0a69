"""JSON schemas (draft-07, Kestra's dialect) of flows and of every task, trigger and condition type, generated
from the very pydantic specifications the validator checks flows against.

What the schema says is therefore what validation does: a property is ``required`` when the spec has no
default, ``default`` is the spec's default, ``enum`` the values a ``Literal`` admits.  Kestra's annotations
are added where the specs say more than pydantic shows:

- labels admit a map or Kestra's list of ``{key, value}``, as the validator does;
- a property that also takes an expression (``Dynamic[...]``) admits a string containing ``{{ }}``
  (``anyOf`` with a ``pattern``), and carries ``$dynamic: true``;
- a type's ``type`` property lists its name and its older aliases (``enum``), the aliases again under
  ``$aliases``; a type that is itself deprecated carries ``$deprecated: true`` and ``$replacedBy``;
- a property Lanner accepts but does not act on (``IGNORED``) carries ``$deprecated: true`` and why in its
  description;
- a list of tasks, triggers or conditions (declared as their base class) admits any registered type of
  that kind (``anyOf`` of ``$ref``).

The UI editor and the API (``/api/v1/plugins/...``) read the same functions.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from lanner.flows.registry import BASES, Registry, default_registry
from lanner.model import spec
from lanner.model.flow import Flow
from lanner.model.task import ConditionSpec, PluginSpec, TaskSpec, TriggerSpec

DRAFT = "http://json-schema.org/draft-07/schema#"
REF = "#/definitions/{model}"
TEMPLATE_PATTERN = r".*\{\{.*\}\}.*"
_BASE_KINDS = {TaskSpec: "task", TriggerSpec: "trigger", ConditionSpec: "condition"}


class _KestraSchema(GenerateJsonSchema):
    """pydantic's generator, plus ``Dynamic`` properties admitting an expression."""

    def function_wrap_schema(self, schema: core_schema.WrapValidatorFunctionSchema) -> JsonSchemaValue:
        inner = super().function_wrap_schema(schema)
        function = schema.get("function", {}).get("function")
        if function is spec._keep_templates:
            return {"anyOf": [inner, {"type": "string", "pattern": TEMPLATE_PATTERN}], "$dynamic": True}
        return inner

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        inner = super().function_before_schema(schema)
        if schema.get("function", {}).get("function") is spec._labels:  # a map, or Kestra's list of {key, value}
            value = {"type": ["string", "number", "boolean", "null"]}
            pair = {"type": "object", "required": ["key", "value"], "additionalProperties": False,
                    "properties": {"key": {"type": "string"}, "value": value}}
            return {"anyOf": [inner, {"type": "array", "items": pair}]}
        return inner


def doc(cls: type) -> tuple[str | None, str | None]:
    """The class docstring as (title: its first paragraph, description: the rest)."""
    text = inspect.getdoc(cls) if cls.__doc__ else None
    if not text:
        return None, None
    title, _, rest = text.partition("\n\n")
    return " ".join(title.split()), rest.strip() or None


def _polish(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """Kestra's annotations on one model's schema (in place)."""
    title, description = doc(cls)
    schema["title"] = title or cls.__name__
    if description:
        schema["description"] = description
    elif "description" in schema and title:
        schema.pop("description")
    properties: dict[str, Any] = schema.get("properties", {})
    for name, field in cls.model_fields.items():
        alias = field.alias or name
        prop = properties.get(alias)
        if prop is None:
            continue
        if prop.get("title") == alias.replace("_", " ").title() or prop.get("title", "").lower() == alias.lower():
            prop.pop("title", None)
        if field.description:
            prop["description"] = field.description
    if isinstance(cls, type) and issubclass(cls, PluginSpec) and cls.TYPE:
        names = [cls.TYPE, *cls.ALIASES]
        properties["type"] = {"type": "string", "enum": names} if len(names) > 1 else {"const": cls.TYPE}
        if cls.ALIASES:
            schema["$aliases"] = list(cls.ALIASES)
        if cls.REPLACED_BY:
            schema["$deprecated"] = True
            schema["$replacedBy"] = cls.REPLACED_BY
        for name, why in cls.IGNORED.items():
            if name in properties:
                properties[name]["$deprecated"] = True
                properties[name]["description"] = f"Accepted, not acted on: {why}."
        kind = next((label for base, label in _BASE_KINDS.items() if issubclass(cls, base)), None)
        if kind:
            schema["$kind"] = kind


@functools.lru_cache(maxsize=4)
def _catalog(registry: Registry) -> tuple[dict[str, Any], dict[str, str]]:
    """Every definition (flow, bases, types and what they use), and each type's definition name."""
    types = [cls for base in BASES for cls in registry.types(base)]
    models: list[type[BaseModel]] = [Flow, TaskSpec, TriggerSpec, ConditionSpec, *types]
    refs, top = models_json_schema([(m, "validation") for m in models], by_alias=True, ref_template=REF,
                                   schema_generator=_KestraSchema)
    definitions: dict[str, Any] = top.get("$defs", {})
    name_of = {m: refs[(m, "validation")]["$ref"].rsplit("/", 1)[-1] for m in models}
    for model, name in name_of.items():
        _polish(definitions[name], model)
    # The base classes are placeholders: any registered type of their kind goes there.
    for base in (TaskSpec, TriggerSpec, ConditionSpec):
        kind = [cls for cls in types if issubclass(cls, base)]
        definitions[name_of[base]] = {
            "title": f"Any {_BASE_KINDS[base]} type", "type": "object", "required": ["type"],
            "anyOf": [{"$ref": REF.format(model=name_of[cls])} for cls in kind]}
    return definitions, {cls.TYPE: name_of[cls] for cls in types} | {"$flow": name_of[Flow]}


def definitions(registry: Registry | None = None) -> dict[str, Any]:
    """Every definition the schemas refer to (by their ``#/definitions/`` name)."""
    return _catalog(registry or default_registry())[0]


def type_schema(type_name: str, registry: Registry | None = None) -> dict[str, Any] | None:
    """One task, trigger or condition type's schema (its own properties; ``definitions`` those it refers to),
    by its name or an alias; None when no type has that name."""
    registry = registry or default_registry()
    cls = _resolve(registry, type_name)
    if cls is None:
        return None
    defs, names = _catalog(registry)
    own = dict(defs[names[cls.TYPE]])
    return own | {"definitions": _referenced(own, defs)}


def _resolve(registry: Registry, type_name: str) -> type[PluginSpec] | None:
    for base in BASES:
        found = registry.resolve(base, type_name)
        if found is not None:
            return found.cls
    return None


def _referenced(schema: Any, defs: dict[str, Any], found: dict[str, Any] | None = None) -> dict[str, Any]:
    """The definitions ``schema`` refers to, transitively."""
    found = {} if found is None else found
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in found and name in defs:
                found[name] = defs[name]
                _referenced(defs[name], defs, found)
        for value in schema.values():
            _referenced(value, defs, found)
    elif isinstance(schema, list):
        for value in schema:
            _referenced(value, defs, found)
    return found


def root_schema(kind: str, registry: Registry | None = None, array_of: bool = False) -> dict[str, Any]:
    """The whole schema of a ``FLOW``, a ``TEMPLATE`` (a flow's id, namespace, tasks and errors), any ``TASK``,
    any ``TRIGGER`` or a ``PLUGINDEFAULT``; ``array_of``: a list of them.  A KeyError for another kind."""
    registry = registry or default_registry()
    defs, names = _catalog(registry)
    flow_name = names["$flow"]
    flow = defs[flow_name]
    if kind == "FLOW":
        root: dict[str, Any] = {"$ref": REF.format(model=flow_name)}
    elif kind == "TEMPLATE":
        kept = ("id", "namespace", "description", "tasks", "errors")
        root = {"type": "object", "title": "Template", "required": ["id", "namespace", "tasks"],
                "properties": {k: v for k, v in flow["properties"].items() if k in kept}}
    elif kind in ("TASK", "TRIGGER"):
        root = {"$ref": REF.format(model=_base_name(flow, "tasks" if kind == "TASK" else "triggers"))}
    elif kind == "PLUGINDEFAULT":
        root = {"$ref": flow["properties"]["pluginDefaults"]["items"]["$ref"]}
    else:
        raise KeyError(kind)
    if array_of:
        root = {"type": "array", "items": root}
    return {"$schema": DRAFT, **root, "definitions": _referenced(root, defs)}


def _base_name(flow: dict[str, Any], field: str) -> str:
    ref: str = flow["properties"][field]["items"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def properties_of(kind: str, registry: Registry | None = None) -> dict[str, Any]:
    """The properties part of a root schema (``FLOW``, ``TEMPLATE``, ...): its properties, required ones,
    title and description."""
    schema = root_schema(kind, registry)
    target = schema
    if "$ref" in schema:
        target = schema["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return {key: target[key] for key in ("type", "title", "description", "properties", "required", "anyOf")
            if key in target}


def input_schema(cls: type[BaseModel]) -> dict[str, Any]:
    """An input type's schema (``StringInput`` ...), its definitions under ``definitions``."""
    schema = cls.model_json_schema(by_alias=True, ref_template=REF, schema_generator=_KestraSchema)
    defs = schema.pop("$defs", {})
    _polish(schema, cls)
    return schema | {"definitions": defs}
