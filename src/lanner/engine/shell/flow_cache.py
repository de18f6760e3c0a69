"""Flows by revision, validated once per process.

An execution runs the flow revision it was created with, whatever has been saved
since; revisions are immutable, so a validated revision can be cached forever.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from lanner.errors import LannerError
from lanner.flows.validator import validate_source
from lanner.model.flow import Flow
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import flow_repository

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class FlowNotFound(LannerError):
    pass


class FlowCache:
    def __init__(self, size: int = 1024) -> None:
        self._parse = lru_cache(maxsize=size)(self._validated)
        self._revisions: dict[tuple[str, str, str, int], Flow] = {}
        self._size = size

    def revision(self, connection: Connection, namespace: str, flow_id: str, revision: int,
                 tenant_id: str = DEFAULT_TENANT) -> Flow:
        key = (tenant_id, namespace, flow_id, revision)
        cached = self._revisions.get(key)
        if cached is not None:  # a revision never changes: no need to read it again
            return cached
        found = flow_repository.get_flow(connection, namespace, flow_id, revision, tenant_id)
        if found is None:
            raise FlowNotFound(f"flow {namespace}.{flow_id} revision {revision} not found")
        flow = self._parse(found.source, f"{namespace}.{flow_id} revision {revision}")
        if len(self._revisions) >= self._size:
            self._revisions.pop(next(iter(self._revisions)))
        self._revisions[key] = flow
        return flow

    def preload(self, connection: Connection, keys: Iterable[tuple[str, str, str, int]]) -> None:
        """Read the revisions (tenant, namespace, flow id, revision) not cached yet, with a few queries."""
        missing = [key for key in dict.fromkeys(keys) if key not in self._revisions]
        for found in flow_repository.get_revisions(connection, missing):
            key = (found.tenant_id, found.namespace, found.flow_id, found.revision)
            try:
                flow = self._parse(found.source, f"{found.namespace}.{found.flow_id} revision {found.revision}")
            except FlowNotFound:
                continue  # revision() says why, when it is asked for
            if len(self._revisions) >= self._size:
                self._revisions.pop(next(iter(self._revisions)))
            self._revisions[key] = flow

    def current(self, connection: Connection, namespace: str, flow_id: str,
                tenant_id: str = DEFAULT_TENANT) -> tuple[Flow, int]:
        found = flow_repository.get_flow(connection, namespace, flow_id, None, tenant_id)
        if found is None:
            raise FlowNotFound(f"flow {namespace}.{flow_id} not found",
                               "Deploy it first: lanner flow namespace update NAMESPACE DIR")
        return self._parse(found.source, f"{namespace}.{flow_id}"), found.revision

    @staticmethod
    def _validated(source: str, name: str) -> Flow:
        result = validate_source(source, name)
        if result.flow is None:
            problems = "; ".join(p.format() for p in result.errors)
            raise FlowNotFound(f"stored flow {name} is no longer valid: {problems}")
        return result.flow
