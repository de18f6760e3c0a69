"""The plugin catalog as kestrapy 2.0.3 calls it (``/api/v1/plugins``, tenant-free), against a live webserver
on both backends: each route's answer and refusal, read by kestrapy's models with no field lost."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from lanner import version
from lanner.flows.registry import default_registry
from lanner.model.task import TaskSpec, TriggerSpec
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

with warnings.catch_warnings():  # kestrapy's models shadow BaseModel attributes (a warning pytest makes an error)
    warnings.simplefilter("ignore", UserWarning)
    from kestrapy.api.plugins_api import PluginsApi
    from kestrapy.exceptions import ApiException
    from kestrapy.models.documentation_with_schema import DocumentationWithSchema
    from kestrapy.models.input_type import InputType
    from kestrapy.models.paged_results_plugin import PagedResultsPlugin
    from kestrapy.models.paged_results_plugin_controller_api_trigger_plugin import (
        PagedResultsPluginControllerApiTriggerPlugin,
    )
    from kestrapy.models.plugin import Plugin
    from kestrapy.models.plugin_controller_api_plugin_versions import PluginControllerApiPluginVersions
    from kestrapy.models.plugin_controller_plugin_icon_response import PluginControllerPluginIconResponse
    from kestrapy.models.plugin_icon import PluginIcon

P = "/api/v1/plugins"
LOG = "io.kestra.plugin.core.log.Log"


@pytest.fixture
def served(database_url, tmp_path) -> Iterator[tuple[httpx.Client, PluginsApi]]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=1, storage_path=tmp_path / "storage", web_port=0) as runtime:
            base = f"http://127.0.0.1:{runtime.web.wait_started()}"
            with httpx.Client(base_url=base, timeout=30) as client, requests.Session() as session:
                yield client, PluginsApi(session, base, timeout=30)
    finally:
        engine.dispose()


@pytest.fixture
def api(served) -> httpx.Client:
    return served[0]


@pytest.fixture
def kestrapy(served) -> PluginsApi:
    return served[1]


def readable(answer: dict[str, Any]) -> dict[str, Any]:
    """A documentation answer as kestrapy's model can read it.  Kestra puts ``required``, ``title`` and
    ``description`` beside ``properties`` inside ``schema.properties``, and kestrapy 2.0.3's model types every
    value there as an object, so it cannot read Kestra's own answer (its plugin_documentation call returns the
    raw JSON instead).  Lanner sends Kestra's shape; the test drops those keys for the model only."""
    schema = answer["schema"]
    inner = {k: v for k, v in schema["properties"].items() if isinstance(v, dict)}
    return {**answer, "schema": {**schema, "properties": inner}}


def kept(model: Any, answer: dict[str, Any]) -> Any:
    """``model.from_dict(answer)``, asserting that every non-null field of the answer survives."""
    parsed = model.from_dict(answer)
    dumped = parsed.to_dict()
    lost = [key for key, value in answer.items() if value is not None and key not in dumped]
    assert not lost, f"{model.__name__} lost {lost}"
    return parsed


def test_the_plugins_list_every_registered_type_grouped_as_kestra_does(api, kestrapy):
    listed = kestrapy.list_plugins()
    assert isinstance(listed, list)
    plugins = [kept(Plugin, item) for item in listed]
    core = next(p for p in plugins if p.group == "io.kestra.plugin.core")
    assert core.name == "core" and core.version == version() and "CORE" in [c.value for c in core.categories]
    registry = default_registry()
    listed_tasks = {e.cls for p in plugins for e in p.tasks}
    assert listed_tasks == {cls.TYPE for cls in registry.types(TaskSpec)}
    assert {e.cls for p in plugins for e in p.triggers} == {cls.TYPE for cls in registry.types(TriggerSpec)}
    assert any(item["conditions"] for item in listed)  # Kestra 0.2x's list of conditions, beside kestrapy's
    assert "io.kestra.core.tasks.log.Log" in core.aliases
    paged = kept(PagedResultsPlugin, kestrapy.list_plugins(page=1, size=1))
    assert paged.total == len(plugins) and len(paged.results) == 1
    assert api.get(P, params={"size": 0}).status_code == 400
    subgroups = [kept(Plugin, item) for item in kestrapy.list_plugins_by_subgroups()]
    flow = next(p for p in subgroups if p.sub_group == "io.kestra.plugin.core.flow")
    assert flow.title == "Flow" and all(e.cls.startswith("io.kestra.plugin.core.flow.") for e in flow.tasks)
    assert len(subgroups) > len(plugins)


def test_the_trigger_catalog(kestrapy):
    page = kept(PagedResultsPluginControllerApiTriggerPlugin, kestrapy.plugin_triggers())
    by_type = {t.type: t for t in page.results}
    assert by_type["io.kestra.plugin.core.trigger.Schedule"].group.value == "core"
    assert by_type["io.kestra.plugin.core.trigger.Webhook"].group.value == "realtime"
    assert page.total == len(page.results) == len(default_registry().types(TriggerSpec))


def test_a_types_documentation_and_schema_by_name_or_alias(api, kestrapy):
    answer = kestrapy.plugin_documentation(LOG)
    doc = kept(DocumentationWithSchema, readable(answer))
    properties = doc.var_schema.properties["properties"]
    assert properties["message"]["$required"] is True and properties["level"]["default"] == "INFO"
    assert answer["schema"]["required"] == ["type", "id", "message"]
    assert answer["schema"]["properties"]["required"] == ["type", "id", "message"]  # where Kestra's UI reads it
    assert "## Properties" in doc.markdown and "`message`" in doc.markdown
    assert kestrapy.plugin_documentation("io.kestra.core.tasks.log.Log", all_properties=True) == answer
    missing = api.get(f"{P}/io.kestra.plugin.core.log.Lgo")
    assert missing.status_code == 404 and "did you mean io.kestra.plugin.core.log.Log" in missing.json()["message"]
    versions = kept(PluginControllerApiPluginVersions, kestrapy.plugin_versions(LOG))
    assert versions.type == LOG and versions.versions == [version()]
    assert kestrapy.plugin_documentation_for_version(LOG, version()) == answer
    assert api.get(f"{P}/{LOG}/versions/0.0.0-nope").status_code == 404
    assert api.get(f"{P}/io.kestra.plugin.nope.Nope/versions").status_code == 404


def test_whole_schemas_and_their_properties(api, kestrapy):
    flow = kestrapy.plugin_schema("FLOW")
    assert flow["$schema"].startswith("http://json-schema.org/draft-07") and flow["$ref"] == "#/definitions/Flow"
    assert set(flow["definitions"]["Flow"]["required"]) == {"id", "namespace", "tasks"}
    assert kestrapy.plugin_schema("task", array_of=True)["type"] == "array"
    assert kestrapy.plugin_schema("TEMPLATE")["title"] == "Template"
    assert "triggers" in kestrapy.plugin_properties("FLOW")["properties"]
    for kind in ("DASHBOARD", "nope"):
        for route in ("schemas", "properties"):
            refused = api.get(f"{P}/{route}/{kind}")
            assert refused.status_code == 404 and kind in refused.json()["message"]


def test_input_types_and_their_schemas(api, kestrapy):
    types = [kept(InputType, item) for item in kestrapy.plugin_input_types()]
    assert {t.type for t in types} >= {"STRING", "INT", "SELECT", "FILE"}
    string = kept(DocumentationWithSchema, readable(kestrapy.plugin_input_schema("STRING")))
    assert string.var_schema.properties["properties"]["id"]["$required"] is True
    refused = api.get(f"{P}/inputs/NOPE")
    assert refused.status_code == 404 and "STRING" in refused.json()["message"]


def test_icons_have_kestras_shape_and_no_image(api, kestrapy):
    icons = kestrapy.plugin_icons()
    log = kept(PluginIcon, icons[LOG])
    assert log.name == "Log" and log.icon is None and "io.kestra.core.tasks.log.Log" in icons
    assert icons["io.kestra.plugin.core.flow.If"]["flowable"] is True
    groups = kestrapy.plugin_group_icons()
    assert "io.kestra.plugin.core" in groups and kept(PluginIcon, groups["io.kestra.plugin.core"]).name == "plugin-icon"
    one = kept(PluginControllerPluginIconResponse, kestrapy.plugin_icon(LOG))
    assert one.icon.name == "Log"
    with pytest.raises(ApiException) as svg:
        kestrapy.plugin_icon_svg(LOG)
    assert svg.value.status == 404
    assert api.get(f"{P}/icons/io.kestra.plugin.nope.Nope").status_code == 404


def test_the_plugins_are_tenant_free(api):
    assert api.get(f"{P}/icons").status_code == 200
    assert api.get("/api/v1/main/plugins").status_code == 404  # Kestra serves them without a tenant only
