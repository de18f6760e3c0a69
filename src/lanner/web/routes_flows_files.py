"""Flows as files (Kestra's ``/api/v1/{tenant}/flows/export...`` and ``/flows/import``).

An export is a ZIP holding one ``{namespace}.{id}.yml`` per flow, its source as written.  An import
takes such a ZIP, or one YAML file (several flows separated by ``---``), as the multipart field
``fileUpload`` (kestrapy) or ``fileContent``: each valid flow is created or updated, all in one
transaction, and the answer lists the files (or documents) that are not valid flows.  With
``failOnError=true`` one invalid flow refuses the whole import (400 naming each one).
"""

from __future__ import annotations

import io
import zipfile

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from lanner.flows.validator import Validation, validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.web import flow_bodies, query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, read_form
from lanner.web.routes_flows_bulk import IDS, filters, targets
from lanner.web.schemas.base import IdWithNamespace

router = APIRouter(prefix="/flows", tags=["Flows"])
ZIP = {"responses": {"200": {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}}}}
MAX_FILES = 10_000  # entries of an imported ZIP
MAX_UNZIPPED = 100 * 1024 * 1024  # bytes an imported ZIP may expand to
UPLOAD_FIELDS = ("fileUpload", "fileContent")


@router.post("/export/by-ids", openapi_extra=ZIP, response_class=Response)
def export_by_ids(ids: list[IdWithNamespace] = IDS, tenant: str = Depends(tenants.tenant),
                  srv: Server = Depends(server)) -> Response:
    """A ZIP of the flows' sources; 404 naming flows that do not exist."""
    keys = list(dict.fromkeys((i.namespace, i.id) for i in ids))
    return _export(srv, tenant, keys, None)


@router.get("/export/by-query", openapi_extra=ZIP, response_class=Response)
def export_by_query(group: query.Group = Depends(filters), tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> Response:
    """A ZIP of the sources of every flow the search matches (``filters[...]`` as for ``/flows/search``)."""
    return _export(srv, tenant, None, group)


def _export(srv: Server, tenant: str, keys: list[tuple[str, str]] | None, group: query.Group | None) -> Response:
    with srv.engine.connect() as connection:
        found = targets(connection, tenant, keys, group)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for revision in found:
            archive.writestr(f"{revision.namespace}.{revision.flow_id}.yml", revision.source)
    return Response(buffer.getvalue(), media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="flows.zip"'})


@router.post("/import", response_model=list[str], openapi_extra={"requestBody": {"content": {"multipart/form-data": {
    "schema": {"type": "object", "properties": {"fileUpload": {"type": "string", "format": "binary"}}}}}}})
async def import_flows(request: Request, fail_on_error: bool = Query(False, alias="failOnError"),
                       tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[str]:
    """Creates or updates the flows of an uploaded ZIP or YAML file; answers the names of the invalid ones."""
    form = await read_form(request)
    try:
        upload = next((form.get(name) for name in UPLOAD_FIELDS if isinstance(form.get(name), UploadFile)), None)
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "no file: send the flows as the multipart file field fileUpload (a .zip or .yml)")
        name, content = upload.filename or "flows.yml", await upload.read()
    finally:
        await form.close()
    return await blocking(_import, srv, tenant, name, content, fail_on_error)


def _import(srv: Server, tenant: str, name: str, content: bytes, fail_on_error: bool) -> list[str]:
    files = _unzipped(content) if content[:4] == b"PK\x03\x04" or name.lower().endswith(".zip") else \
        _documents(name, flow_bodies.text(content, name))
    results = [(file, validate_source(source, file)) for file, source in files]
    invalid = [file for file, result in results if not result.valid]
    if invalid and fail_on_error:
        raise ApiError(400, f"invalid flows: nothing imported ({', '.join(invalid[:20])})",
                       [p | {"file": file} for file, result in results if not result.valid
                        for p in flow_bodies.problems(result) if p["severity"] == "error"])
    valid = [result for _, result in results if result.valid]
    _check_unique(valid)
    with write_connection(srv.engine) as connection, connection.begin():
        for result in valid:
            assert result.flow is not None
            flow_repository.save_flow(connection, result.flow, result.source, tenant)
    return invalid


def _documents(name: str, text: str) -> list[tuple[str, str]]:
    parts = flow_bodies.documents(text)
    if len(parts) <= 1:
        return [(name, text)]
    return [(f"{name} (document {index + 1})", part) for index, part in enumerate(parts)]


def _unzipped(content: bytes) -> list[tuple[str, str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = [e for e in archive.infolist() if not e.is_dir() and e.filename.lower().endswith((".yml", ".yaml"))]
        if len(entries) > MAX_FILES or sum(e.file_size for e in entries) > MAX_UNZIPPED:
            raise ApiError(413, f"the ZIP holds more than Lanner imports at once ({MAX_FILES} files, "
                                f"{MAX_UNZIPPED // (1024 * 1024)}MB unzipped): split it")
        found: list[tuple[str, str]] = []
        for entry in entries:
            found += _documents(entry.filename, flow_bodies.text(archive.read(entry), entry.filename))
        return found
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        raise ApiError(400, f"the uploaded file is not a ZIP Lanner can read: {exc}") from None


def _check_unique(valid: list[Validation]) -> None:
    seen: dict[tuple[str, str], str | None] = {}
    for result in valid:
        assert result.flow is not None
        key = (result.flow.namespace, result.flow.id)
        if key in seen:
            raise ApiError(400, f"flow {key[0]}.{key[1]} is defined twice ({seen[key]} and {result.file}): "
                                "nothing imported")
        seen[key] = result.file
