"""The registry's types as Kestra's plugin catalog: plugins grouped by ``io.kestra.plugin.<name>`` (Kestra's
plugin groups), subgroups by package, each type's documentation rendered from its JSON schema."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lanner import version
from lanner.flows import json_schema
from lanner.flows.registry import BASES, Registry
from lanner.model.task import ConditionSpec, PluginSpec, TaskSpec, TriggerSpec
from lanner.tasks.flowable import FlowableTask
from lanner.web.schemas.plugins import DocumentationWithSchema, Plugin, PluginElement, PluginSchema, TriggerPlugin

REALTIME = ("io.kestra.plugin.core.trigger.Webhook", "io.kestra.plugin.core.trigger.Flow")


def group_of(type_name: str) -> str:
    """``io.kestra.plugin.core.log.Log`` → ``io.kestra.plugin.core``; a name outside ``io.kestra.plugin``:
    its package."""
    parts = type_name.split(".")
    if parts[:3] == ["io", "kestra", "plugin"] and len(parts) > 4:
        return ".".join(parts[:4])
    return ".".join(parts[:-1]) or type_name


def subgroup_of(type_name: str) -> str | None:
    package = type_name.rsplit(".", 1)[0]
    return package if package != group_of(type_name) else None


def all_types(registry: Registry) -> list[type[PluginSpec]]:
    return [cls for base in BASES for cls in registry.types(base)]


def element(cls: type[PluginSpec]) -> PluginElement:
    title, _ = json_schema.doc(cls)
    return PluginElement(cls=cls.TYPE, deprecated=cls.REPLACED_BY is not None, title=cls.TYPE.rsplit(".", 1)[-1],
                         description=title)


def plugins(registry: Registry, *, subgroups: bool = False) -> list[Plugin]:
    """One plugin per group, in name order; ``subgroups``: then one per subgroup of each."""
    types = all_types(registry)
    groups = sorted({group_of(cls.TYPE) for cls in types})
    found = [_plugin(group, None, [cls for cls in types if group_of(cls.TYPE) == group]) for group in groups]
    if subgroups:
        for group in groups:
            members = [cls for cls in types if group_of(cls.TYPE) == group]
            for sub in sorted({s for cls in members if (s := subgroup_of(cls.TYPE))}):
                found.append(_plugin(group, sub, [cls for cls in members if subgroup_of(cls.TYPE) == sub]))
    return found


def _plugin(group: str, subgroup: str | None, members: Iterable[type[PluginSpec]]) -> Plugin:
    members = list(members)
    name = group.rsplit(".", 1)[-1]
    builtin = all(cls.__module__.startswith("lanner.") for cls in members)

    def of(base: type[PluginSpec]) -> list[PluginElement]:
        return [element(cls) for cls in members if issubclass(cls, base)]

    return Plugin(
        name=name, title=(subgroup or group).rsplit(".", 1)[-1].capitalize(), group=group, sub_group=subgroup,
        description="Built into Lanner" if builtin else None, version=version(),
        aliases=sorted(alias for cls in members for alias in cls.ALIASES),
        tasks=of(TaskSpec), triggers=of(TriggerSpec), conditions=of(ConditionSpec),
        categories=["CORE"] if name == "core" else [])


def trigger_plugins(registry: Registry) -> list[TriggerPlugin]:
    """The trigger catalog: core first, then realtime, then app; by name within each."""
    order = {"core": 0, "realtime": 1, "app": 2}
    found = []
    for cls in registry.types(TriggerSpec):
        category = "realtime" if cls.TYPE in REALTIME else "core" if group_of(cls.TYPE).endswith(".core") else "app"
        title, _ = json_schema.doc(cls)
        found.append(TriggerPlugin(type=cls.TYPE, name=cls.TYPE.rsplit(".", 1)[-1], plugin_title=group_of(cls.TYPE),
                                   description=title, group=category, deprecated=True if cls.REPLACED_BY else None))
    return sorted(found, key=lambda t: (order[t.group], t.name.lower()))


def is_flowable(cls: type[PluginSpec]) -> bool:
    return issubclass(cls, FlowableTask)


def documentation(schema: dict[str, Any], type_name: str) -> DocumentationWithSchema:
    """A type's (or an input's) schema as Kestra's documentation: markdown and ``schema``."""
    required = list(schema.get("required", []))
    properties = {name: {**prop, "$required": name in required}
                  for name, prop in schema.get("properties", {}).items()}
    return DocumentationWithSchema(
        markdown=markdown(schema, type_name, properties),
        schema=PluginSchema(
            properties={"properties": properties, "required": required, "title": schema.get("title"),
                        "description": schema.get("description")},
            outputs={}, definitions=schema.get("definitions", {}),
            required=required, title=schema.get("title"), description=schema.get("description"),
            deprecated=bool(schema.get("$deprecated")), aliases=list(schema.get("$aliases", []))))


def markdown(schema: dict[str, Any], type_name: str, properties: dict[str, Any]) -> str:
    lines = [f"# {schema.get('title') or type_name}", "", f"```yaml\ntype: \"{type_name}\"\n```", ""]
    if schema.get("$deprecated"):
        lines += [f"::alert{{type=\"warning\"}}\nDeprecated: use {schema.get('$replacedBy')}.\n::", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    if schema.get("$aliases"):
        lines += ["Also known by its older names: " + ", ".join(f"`{a}`" for a in schema["$aliases"]) + ".", ""]
    lines += ["## Properties", ""]
    for name, prop in sorted(properties.items(), key=lambda item: (not item[1]["$required"], item[0])):
        if name == "type":
            continue
        lines.append(f"### `{name}`")
        facts = [f"* **Type:** {_type_text(prop)}", f"* **Required:** {'✔️' if prop['$required'] else '❌'}"]
        if "default" in prop and prop["default"] not in (None, [], {}):
            facts.append(f"* **Default:** `{json.dumps(prop['default'])}`")
        if prop.get("$dynamic"):
            facts.append("* **Dynamic:** ✔️")
        lines += [*facts, ""]
        if prop.get("description"):
            lines += [prop["description"], ""]
    return "\n".join(lines).rstrip() + "\n"


def _type_text(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "string, one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop or "oneOf" in prop:
        kinds = [_type_text(p) for p in prop.get("anyOf", prop.get("oneOf", [])) if p.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        return f"array of {_type_text(prop['items'])}"
    return str(prop.get("type", "any"))
