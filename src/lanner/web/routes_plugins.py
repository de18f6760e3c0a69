"""The plugin catalog (Kestra's ``/api/v1/plugins``, tenant-free): plugins and their types, each type's
documentation and JSON schema, the schema of a whole flow, input types, icons (Lanner ships none: the
shapes, with null icons), versions (the server's own).

Schemas come from :mod:`lanner.flows.json_schema`, generated from the specs the validator checks flows
against.  An unknown type, input type or schema kind is a 404 naming it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from lanner import version
from lanner.flows import json_schema
from lanner.flows.registry import BASES, Registry, default_registry
from lanner.model.inputs import INPUT_TYPES
from lanner.web import plugin_catalog as catalog
from lanner.web.errors import ApiError
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.plugins import (
    DocumentationWithSchema,
    InputType,
    Plugin,
    PluginIcon,
    PluginIconResponse,
    PluginVersions,
    TriggerPlugin,
)

router = APIRouter(prefix="/api/v1/plugins", tags=["Plugins"])
KINDS = ("FLOW", "TEMPLATE", "TASK", "TRIGGER", "PLUGINDEFAULT")
ABSENT = {"DASHBOARD": "dashboards", "APPS": "apps", "TESTSUITES": "test suites"}
INPUT_CLASS = "io.kestra.core.models.flows.input.{name}"  # Kestra's input classes by their simple name
CACHE = {"Cache-Control": "public, max-age=3600"}


def registry() -> Registry:
    return default_registry()


@router.get("", response_model=None)
def list_plugins(page: int | None = Query(None, ge=1), size: int | None = Query(None, ge=1, le=10_000)
                 ) -> list[Plugin] | PagedResults[Plugin]:
    """The plugins (one per group: ``io.kestra.plugin.core``...) with their types; a page of them
    (``{results, total}``) when ``page`` or ``size`` is given."""
    found = catalog.plugins(registry())
    if page is None and size is None:
        return found
    start = ((page or 1) - 1) * (size or 10)
    return PagedResults(results=found[start:start + (size or 10)], total=len(found))


@router.get("/groups/subgroups")
def by_subgroups() -> list[Plugin]:
    """Each plugin, then each of its subgroups (a package: ``io.kestra.plugin.core.flow``) with its types."""
    return catalog.plugins(registry(), subgroups=True)


@router.get("/triggers")
def triggers() -> PagedResults[TriggerPlugin]:
    found = catalog.trigger_plugins(registry())
    return PagedResults(results=found, total=len(found))


@router.get("/icons")
def icons() -> dict[str, PluginIcon]:
    """Every type and alias with its icon: none ships with Lanner (``icon`` is null)."""
    found: dict[str, PluginIcon] = {}
    for cls in catalog.all_types(registry()):
        for name in (cls.TYPE, *cls.ALIASES):
            found[name] = PluginIcon(name=name.rsplit(".", 1)[-1], flowable=catalog.is_flowable(cls))
    return found


@router.get("/icons/groups")
def group_icons() -> dict[str, PluginIcon]:
    groups = {group for plugin in catalog.plugins(registry(), subgroups=True)
              for group in (plugin.group, plugin.sub_group) if group}
    return {group: PluginIcon(name="plugin-icon") for group in sorted(groups)}


@router.get("/icons/{cls}")
def icon(cls: str) -> PluginIconResponse:
    found = _type(cls)
    return PluginIconResponse(icon=PluginIcon(name=found.TYPE.rsplit(".", 1)[-1], flowable=catalog.is_flowable(found)))


@router.get("/icons/{cls}/icon.svg")
def icon_svg(cls: str) -> None:
    _type(cls)
    raise ApiError(404, f"type {cls[:200]} has no icon: Lanner ships no plugin icons")


@router.get("/inputs")
def input_types() -> list[InputType]:
    """The flow input types (``STRING``, ``INT``...) with their class names."""
    return [InputType(type=name, cls=INPUT_CLASS.format(name=spec.__name__)) for name, spec in INPUT_TYPES.items()]


@router.get("/inputs/{input_type}")
def input_schema(input_type: str) -> DocumentationWithSchema:
    spec = INPUT_TYPES.get(input_type.upper())
    if spec is None:
        raise ApiError(404, f"input type {input_type[:100]!r} not found: use one of {', '.join(INPUT_TYPES)}")
    return catalog.documentation(json_schema.input_schema(spec), INPUT_CLASS.format(name=spec.__name__))


def _kind(schema_type: str) -> str:
    kind = schema_type.upper()
    if kind in ABSENT:
        raise ApiError(404, f"Lanner has no {ABSENT[kind]}: no {kind} schema")
    if kind not in KINDS:
        raise ApiError(404, f"schema type {schema_type[:100]!r} not found: use one of {', '.join(KINDS)}")
    return kind


@router.get("/schemas/{schema_type}", response_model=None)
def schema(schema_type: str, array_of: bool = Query(False, alias="arrayOf"),
           include_catalog: bool = Query(False, alias="includeCatalog",
                                         description="Accepted; every registered type is always included")
           ) -> JSONResponse:
    """The JSON schema (draft-07) of a whole FLOW, a TEMPLATE, any TASK or TRIGGER, a PLUGINDEFAULT;
    ``arrayOf``: of a list of them."""
    return JSONResponse(json_schema.root_schema(_kind(schema_type), registry(), array_of), headers=CACHE)


@router.get("/properties/{schema_type}", response_model=None)
def properties(schema_type: str) -> JSONResponse:
    """The properties part of a schema: properties, required, title, description."""
    return JSONResponse(json_schema.properties_of(_kind(schema_type), registry()), headers=CACHE)


def _type(cls: str) -> Any:
    for base in BASES:
        found = registry().resolve(base, cls)
        if found is not None:
            return found.cls
    close = next((s for base in BASES if (s := registry().suggest(base, cls))), None)
    raise ApiError(404, f"plugin type {cls[:200]} not found" + (f": did you mean {close}?" if close else ""),
                   ["list the types with GET /api/v1/plugins"])


@router.get("/{cls}")
def documentation(cls: str, all_properties: bool = Query(False, alias="all",
                                                          description="Accepted; every property is always shown")
                  ) -> DocumentationWithSchema:
    """A type's documentation (markdown) and JSON schema, by its name or an older alias."""
    return _documentation(_type(cls).TYPE)


def _documentation(type_name: str) -> DocumentationWithSchema:
    schema = json_schema.type_schema(type_name, registry())
    assert schema is not None  # the name was resolved
    return catalog.documentation(schema, type_name)


@router.get("/{cls}/versions")
def versions(cls: str) -> PluginVersions:
    """The versions of a type this server has: the server's own."""
    return PluginVersions(type=_type(cls).TYPE, versions=[version()])


@router.get("/{cls}/versions/{plugin_version}")
def documentation_of_version(cls: str, plugin_version: str) -> DocumentationWithSchema:
    found = _type(cls)
    if plugin_version not in (version(), "latest", "LATEST"):
        raise ApiError(404, f"version {plugin_version[:50]} of {found.TYPE} not found: this server has {version()}")
    return _documentation(found.TYPE)
