"""An execution's files in internal storage: download, size, preview (Kestra's ``/executions/{id}/file...``).

Only the execution's own files are served: a ``kestra:///`` URI under
``<namespace as path>/<flow>/executions/<this execution>/``; any other URI is a 422 naming the
prefix it must have, before storage is touched (a caller cannot read another execution's, or another
namespace's, files by naming them here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from lanner.files import StorageError, parse
from lanner.files import access as file_access
from lanner.files.preview import PreviewError, preview
from lanner.web import tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking
from lanner.web.schemas.executions import FileMetas, FilePreview

if TYPE_CHECKING:
    from lanner.files import Storage

router = APIRouter(tags=["Executions"])
PREVIEW_ROWS = 100  # lines a preview shows when maxRows is not given (Kestra's initial-rows)
MAX_PREVIEW_ROWS = 5000  # at most (Kestra's max-rows)
CHUNK = 64 * 1024
PATH = Query(description="The file's internal storage URI: kestra:///<namespace>/<flow>/executions/<id>/...")


def _checked(srv: Server, execution_id: str, uri: str, tenant: str) -> tuple[Storage, str]:
    """The storage and the URI, once the URI is known to name a file of this execution that exists."""
    execution = srv.executions.get(execution_id, tenant)  # 404 for an unknown execution
    owner = file_access.Execution(execution.namespace, execution.flow_id, execution.id)
    prefix = "kestra:///" + "/".join(quote(part, safe="") for part in
                                     (*execution.namespace.split("."), execution.flow_id, "executions", execution.id))
    try:
        segments = parse(uri)
    except StorageError as exc:
        raise ApiError(422, str(exc)) from None
    if not owner.holds(segments):
        raise ApiError(422, f"{uri[:200]!r} is not a file of execution {execution_id}: its files are under "
                            f"{prefix}/")
    if srv.storage is None:
        raise ApiError(409, "this server has no access to internal storage (lanner.storage.path)")
    if not srv.storage.exists(uri):
        raise ApiError(404, f"no file at {uri[:200]} in internal storage")
    return srv.storage, uri


@router.get("/executions/{execution_id}/file", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
async def download(execution_id: str, path: str = PATH, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> StreamingResponse:
    """The file's bytes, as an attachment named after it."""
    storage, uri = await blocking(_checked, srv, execution_id, path, tenant)
    stream = await blocking(storage.open, uri)

    def chunks() -> Iterator[bytes]:
        with stream:
            while data := stream.read(CHUNK):
                yield data

    name = parse(uri)[-1]
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"})


@router.get("/executions/{execution_id}/file/metas", response_model=FileMetas)
def metas(execution_id: str, path: str = PATH, tenant: str = Depends(tenants.tenant),
          srv: Server = Depends(server)) -> FileMetas:
    """The file's size in bytes."""
    storage, uri = _checked(srv, execution_id, path, tenant)
    try:
        return FileMetas(size=storage.size(uri))
    except StorageError as exc:
        raise ApiError(404, str(exc)) from None


@router.get("/executions/{execution_id}/file/preview", response_model=FilePreview)
def file_preview(execution_id: str, path: str = PATH,
                 max_rows: int | None = Query(None, alias="maxRows", ge=1,
                                              description=f"Lines to show (default {PREVIEW_ROWS}, at most "
                                                          f"{MAX_PREVIEW_ROWS})"),
                 encoding: str = Query("UTF-8", max_length=50), tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> FilePreview:
    """The file's first lines: TEXT, a LIST for Ion files, IMAGE or PDF as base64 (see lanner.files.preview)."""
    storage, uri = _checked(srv, execution_id, path, tenant)
    rows = min(max_rows or PREVIEW_ROWS, MAX_PREVIEW_ROWS)
    try:
        with storage.open(uri) as stream:
            shown = preview(stream, uri, rows, encoding)
    except PreviewError as exc:
        raise ApiError(422, str(exc)) from None
    except StorageError as exc:
        raise ApiError(404, str(exc)) from None
    return FilePreview(extension=shown.extension, type=shown.type, content=shown.content,
                       truncated=shown.truncated, max_line=shown.max_line)
