"""Stored flows that use deprecated or removed syntax, at their current revision.

Every current flow of every tenant is validated with this Lanner's validator; its
deprecation warnings (aliases, ``taskDefaults``, deprecated types) become findings with
namespace, flow, revision, path and line, tied to their ``changes.yaml`` entry, and a
note of whether ``lanner flow migrate`` can rewrite the flow.  Types and properties a
release *removed* are looked for by name in the parsed flow: those are blockers.  So are
the validation errors of a flow this Lanner no longer accepts (a property it now checks,
a type it refuses): after the upgrade, that flow's executions could not start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lanner.flows.problems import Severity, dotted
from lanner.flows.registry import Registry, default_registry
from lanner.store.flow_repository import FlowRevision
from lanner.upgrade.changes import ALIAS_WILDCARD, AffectsKind, Change, ChangesFile, Kind


@dataclass(frozen=True)
class FlowFinding:
    tenant_id: str
    namespace: str
    flow_id: str
    revision: int
    path: str
    line: int | None
    message: str
    change_id: str | None
    kind: str  # deprecation | removal | invalid
    auto_fix: bool  # lanner flow migrate rewrites this flow


def scan(flows: list[FlowRevision], changes: ChangesFile, registry: Registry | None = None) -> list[FlowFinding]:
    from lanner.flows.validator import validate_source
    from lanner.upgrade.rewrite import rewrite_source

    registry = registry or default_registry()
    typed = [c for c in changes.for_kind(AffectsKind.TASK_TYPE) if c.affects.name != ALIAS_WILDCARD]
    removed = [c for c in changes.all_changes() if c[1].kind is Kind.REMOVAL
               and c[1].affects.kind in (AffectsKind.TASK_TYPE, AffectsKind.TASK_PROPERTY)]
    aliases = next((c for c in changes.for_kind(AffectsKind.TASK_TYPE) if c.affects.name == ALIAS_WILDCARD), None)
    defaults = next((c for c in changes.for_kind(AffectsKind.TASK_PROPERTY) if c.affects.name == "taskDefaults"), None)
    found: list[FlowFinding] = []
    for flow in flows:
        result = validate_source(flow.source, None, registry)
        for problem in result.errors:
            found.append(FlowFinding(flow.tenant_id, flow.namespace, flow.flow_id, flow.revision,
                                     dotted(problem.path), problem.line, problem.message, None, "invalid", False))
        deprecations = [p for p in result.problems if p.severity is Severity.DEPRECATION]
        fixable = bool(deprecations) and rewrite_source(flow.source, registry).changed
        for problem in deprecations:
            change = _change_of(problem.message, typed, aliases, defaults)
            auto = fixable and bool(change and change.fix)
            found.append(FlowFinding(flow.tenant_id, flow.namespace, flow.flow_id, flow.revision,
                                     dotted(problem.path), problem.line, problem.message,
                                     change.id if change else None, "deprecation", auto))
        if removed:
            for path, name in _names_used(_parsed(flow.source)):
                for _, change in removed:
                    if change.affects.name.lower() == name.lower():
                        found.append(FlowFinding(flow.tenant_id, flow.namespace, flow.flow_id, flow.revision, path,
                                                 None, f"`{name}` was removed: {change.action}", change.id,
                                                 "removal", False))
    return found


def _change_of(message: str, typed: list[Change], aliases: Change | None, defaults: Change | None) -> Change | None:
    if "`taskDefaults`" in message:
        return defaults
    for change in typed:
        if message.startswith(f"`{change.affects.name}` is deprecated"):
            return change
    return aliases if " is replaced by " in message else None


def _parsed(source: str) -> Any:
    from lanner.plain_yaml import YamlError, parse

    try:
        return parse(source).data
    except YamlError:
        return None


def _names_used(data: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, name) for every type value and every mapping key in the flow."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            found.append((here, str(key)))
            if key == "type" and isinstance(value, str):
                found.append((here, value))
            found.extend(_names_used(value, here))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_names_used(item, f"{path}[{index}]"))
    return found
