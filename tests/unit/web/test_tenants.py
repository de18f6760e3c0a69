"""The tenant in API paths: the 0.2x paths are the main tenant's, an unknown tenant is a 404 naming it."""

from __future__ import annotations

import asyncio

import pytest

from lanner.web import tenants
from lanner.web.errors import ApiError


@pytest.mark.parametrize(("sent", "served"), [
    ("/api/v1/flows/search", "/api/v1/main/flows/search"),
    ("/api/v1/executions/webhook/a/b/key", "/api/v1/main/executions/webhook/a/b/key"),
    ("/api/v1/namespaces/a/kv/k", "/api/v1/main/namespaces/a/kv/k"),
    ("/api/v1/main/flows/search", None),  # already a tenant path
    ("/api/v1/configs", None), ("/api/v1/plugins", None), ("/api/v1/instance/maintenance", None),
    ("/health", None), ("/ui/flows", None), ("/api/v1/flowsx", None),
])
def test_which_paths_are_aliases_of_the_main_tenant(sent, served):
    assert tenants.aliased(sent) == served


def test_the_middleware_rewrites_path_and_raw_path():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": "http", "path": "/api/v1/flows/a%2Fb", "raw_path": b"/api/v1/flows/a%2Fb"}
    asyncio.run(tenants.TenantAliases(app)(scope, None, None))
    assert seen["path"] == "/api/v1/main/flows/a%2Fb" and seen["raw_path"] == b"/api/v1/main/flows/a%2Fb"
    assert scope["path"] == "/api/v1/flows/a%2Fb"  # the caller's scope is left as it was


def test_an_unknown_tenant_is_a_404_naming_it():
    assert tenants.tenant("main") == "main"
    with pytest.raises(ApiError) as raised:
        tenants.tenant("acme")
    assert raised.value.status == 404 and "'acme'" in raised.value.message and "main" in raised.value.message
