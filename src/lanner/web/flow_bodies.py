"""What the flow routes share: reading a YAML body, validating it, reporting its problems, finding a flow."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import Request

from lanner.flows.problems import Severity, dotted
from lanner.flows.validator import Validation, validate_source
from lanner.store import flow_repository
from lanner.web.errors import ApiError
from lanner.web.schemas.flows import ValidateConstraintViolation

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lanner.model.flow import Flow

YAML = {"requestBody": {"content": {"application/x-yaml": {"schema": {"type": "string"}}}, "required": True}}
MAX_INT = 2**31 - 1  # what a database INTEGER holds: larger numbers are a 400, not an overflow

# What a flow source may be sent as.  Browsers' "simple" types (text/plain, forms) are
# refused: a page of another site can send those without asking (cross-site forgery).
SOURCE_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "application/json")
_SEPARATOR = re.compile(r"(?m)^---[ \t]*$")


async def source(request: Request) -> str:
    """The request's body: a flow source (YAML, UTF-8); 415 for another content type."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type and content_type not in SOURCE_TYPES:
        raise ApiError(415, f"a flow source is sent as application/x-yaml, not {content_type[:100]}",
                       [f"set the Content-Type header to one of: {', '.join(SOURCE_TYPES)}"])
    return text(await request.body(), "the flow source")


def text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} is not UTF-8 text") from None


def documents(source: str) -> list[str]:
    """The flows of a multi-document YAML body (``---`` between them), empty documents left out."""
    return [part for part in _SEPARATOR.split(source) if part.strip()]


def problems(validation: Validation) -> list[dict[str, Any]]:
    return [{"message": p.message, "path": dotted(p.path), "line": p.line, "column": p.column,
             "severity": str(p.severity).lower()} for p in validation.problems]


def valid(source: str, file: str = "flow.yaml") -> tuple[Flow, str]:
    """The flow ``source`` defines and the source as stored; a 400 listing every problem otherwise."""
    validation = validate_source(source, file)
    if validation.flow is None or validation.errors:
        raise ApiError(400, "invalid flow", problems(validation))
    return validation.flow, validation.source


def violation(validation: Validation, index: int | None = None, *, current: int | None = None,
              flow: str | None = None, namespace: str | None = None) -> ValidateConstraintViolation:
    """A validation as Kestra reports it: ``constraints`` (null when valid), deprecated paths, warnings;
    ``outdated`` when ``current`` (the stored revision) is newer than the source's ``revision``."""
    found = validation.flow
    data_flow = flow or (found.id if found else None)
    data_namespace = namespace or (found.namespace if found else None)
    revision = found.revision if found else None
    return ValidateConstraintViolation(
        index=index, filename=validation.file, flow=data_flow, namespace=data_namespace,
        constraints="\n".join(p.format() for p in validation.errors) or None,
        outdated=bool(current is not None and revision is not None and revision < current),
        deprecation_paths=[dotted(p.path) for p in validation.problems if p.severity is Severity.DEPRECATION],
        warnings=[p.format() for p in validation.problems if p.severity is Severity.WARNING],
        problems=problems(validation))


def current(connection: Connection, namespace: str, flow_id: str, tenant: str) -> flow_repository.FlowRevision:
    """The flow's current revision; 404 when it does not exist or was deleted."""
    found = flow_repository.get_flow(connection, namespace, flow_id, tenant_id=tenant)
    if found is None or found.deleted:
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return found


def parsed(revision: flow_repository.FlowRevision) -> Flow:
    """A stored revision's flow, validated again (it was valid when saved); 409 when it no longer is."""
    validation = validate_source(revision.source, f"{revision.namespace}.{revision.flow_id}")
    if validation.flow is None:
        raise ApiError(409, f"flow {revision.namespace}.{revision.flow_id} revision {revision.revision} is no longer "
                            "valid in this version of Lanner", problems(validation))
    return validation.flow
