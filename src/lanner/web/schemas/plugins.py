"""Plugin catalog bodies (Kestra's ``/api/v1/plugins``): plugins and their types, documentation with schema,
icons, input types, versions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lanner.web.schemas.base import KestraModel


class PluginElement(KestraModel):
    """One type of a plugin: its class name (Kestra's ``cls``), whether it is deprecated, its title."""

    cls: str
    deprecated: bool = False
    title: str | None = None
    description: str | None = None


class Plugin(KestraModel):
    """A plugin (or one of its subgroups) with its types by kind."""

    name: str
    title: str | None = None
    description: str | None = None
    license: str | None = None
    long_description: str | None = None
    group: str
    version: str | None = None
    manifest: dict[str, str] = Field(default_factory=dict)
    guides: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    tasks: list[PluginElement] = Field(default_factory=list)
    triggers: list[PluginElement] = Field(default_factory=list)
    conditions: list[PluginElement] = Field(default_factory=list)
    controllers: list[PluginElement] = Field(default_factory=list)
    storages: list[PluginElement] = Field(default_factory=list)
    secrets: list[PluginElement] = Field(default_factory=list)
    task_runners: list[PluginElement] = Field(default_factory=list)
    apps: list[PluginElement] = Field(default_factory=list)
    app_blocks: list[PluginElement] = Field(default_factory=list)
    charts: list[PluginElement] = Field(default_factory=list)
    data_filters: list[PluginElement] = Field(default_factory=list)
    data_filters_kpi: list[PluginElement] = Field(default_factory=list, alias="dataFiltersKPI")
    log_exporters: list[PluginElement] = Field(default_factory=list)
    additional_plugins: list[PluginElement] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    sub_group: str | None = None


class PluginSchema(KestraModel):
    """``properties``: ``{"properties": {name: schema with $required}, "required", "title", "description"}``
    as Kestra sends it; ``required``, ``title`` and ``description`` are repeated beside it, for clients (as
    kestrapy's model) that read every value of ``properties`` as an object."""

    properties: dict[str, Any]
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    title: str | None = None
    description: str | None = None
    deprecated: bool = Field(False, alias="$deprecated")
    aliases: list[str] = Field(default_factory=list, alias="$aliases")


class DocumentationWithSchema(KestraModel):
    markdown: str
    schema_: PluginSchema = Field(alias="schema")


class PluginIcon(KestraModel):
    """A type's or a group's icon: Lanner ships none, so ``icon`` is null."""

    name: str
    icon: str | None = None
    flowable: bool = False
    monochrome: bool = False
    hash: str | None = None


class PluginIconResponse(KestraModel):
    icon: PluginIcon


class InputType(KestraModel):
    type: str
    cls: str


class PluginVersions(KestraModel):
    type: str
    versions: list[str]


class TriggerPlugin(KestraModel):
    """An entry of the trigger catalog: ``group`` is core (built in), realtime (fires on an event) or app."""

    type: str
    name: str
    plugin_title: str | None = None
    description: str | None = None
    group: str
    ee: bool = False
    icon: str | None = None
    deprecated: bool | None = None
