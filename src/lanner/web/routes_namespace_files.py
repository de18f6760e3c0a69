"""Namespace files over HTTP (Kestra's ``/api/v1/{tenant}/namespaces/{namespace}/files...``).

Paths are query parameters, as in Kestra (``?path=/scripts/main.py``); the storage rules are
:mod:`lanner.files.namespace_files`'.  A file is uploaded as the multipart part ``fileContent``; a
``.zip`` upload is unpacked into the namespace, and its ``_flows/<name>.yaml`` entries (like a
single upload to ``/_flows/<name>.yaml``) are deployed as flows of the namespace, as Kestra does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from lanner.files import StorageError
from lanner.files.namespace_files import (
    FLOWS_FOLDER,
    Attributes,
    NamespaceFileNotFound,
    NamespaceFiles,
    display,
    segments,
    zip_members,
)
from lanner.flows.validator import validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, read_form
from lanner.web.schemas.base import KestraModel

router = APIRouter(prefix="/namespaces/{namespace}/files", tags=["Files"])
UPLOAD = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"fileContent": {"type": "string", "format": "binary"}},
    "required": ["fileContent"]}}}, "required": True}}
BINARY: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


class FileAttributes(KestraModel):
    """Kestra's ``FileAttributes``: times in epoch milliseconds, ``type`` File or Directory."""

    file_name: str
    last_modified_time: int
    creation_time: int
    type: Literal["File", "Directory"]
    size: int
    metadata: dict[str, str] = {}


class NamespaceFileRevision(KestraModel):
    revision: int


NAMESPACE = re.compile(r"[a-z0-9][a-z0-9._-]{0,149}")  # Kestra's namespace rule (lanner.model.spec.Namespace)


def _files(srv: Server, namespace: str) -> NamespaceFiles:
    if not NAMESPACE.fullmatch(namespace) or ".." in namespace or namespace.endswith("."):
        raise ApiError(400, f"invalid namespace {namespace[:100]!r}: lower-case letters, digits, '.', '_' and '-', "
                            "starting with a letter or digit, parts separated by single dots")
    if srv.storage is None:
        raise ApiError(503, "this webserver has no internal storage configured (lanner.storage.path)")
    return NamespaceFiles(srv.storage, namespace)


def _path(raw: str | None) -> tuple[str, ...]:
    try:
        return segments(raw)
    except StorageError as exc:
        raise ApiError(400, str(exc), ["give a path such as /scripts/main.py: plain names separated by /"]) from None


def _shape(found: Attributes) -> FileAttributes:
    return FileAttributes(file_name=found.name, last_modified_time=int(found.modified * 1000),
                          creation_time=int(found.created * 1000), type="Directory" if found.folder else "File",
                          size=found.size)


T = TypeVar("T")


def _answer(call: Callable[[], T]) -> T:
    """``call()``, with the storage's refusals as the API's: 404 missing, 409 taken, 400 malformed."""
    try:
        return call()
    except NamespaceFileNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except FileExistsError as exc:
        raise ApiError(409, str(exc)) from None
    except StorageError as exc:
        raise ApiError(400, str(exc)) from None


@router.get("/search")
async def search(namespace: str, q: str = Query(..., description="Text the file's path contains"),
                 srv: Server = Depends(server)) -> list[str]:
    files = _files(srv, namespace)
    return await blocking(_answer, lambda: files.search(q))


@router.get("", response_class=Response, responses=BINARY)
async def content(namespace: str, path: str = Query(..., description="The file's path, e.g. /scripts/main.py"),
                  revision: int | None = Query(None, ge=1, le=2**31 - 1), srv: Server = Depends(server)) -> Response:
    files, parts = _files(srv, namespace), _path(path)
    data = await blocking(_answer, lambda: files.read(parts, revision))
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})


@router.get("/stats")
async def stats(namespace: str, path: str | None = None, srv: Server = Depends(server)) -> FileAttributes:
    files, parts = _files(srv, namespace), _path(path)
    return _shape(await blocking(_answer, lambda: files.attributes(parts)))


@router.get("/revisions")
async def revisions(namespace: str, path: str = Query(...), srv: Server = Depends(server)
                    ) -> list[NamespaceFileRevision]:
    files, parts = _files(srv, namespace), _path(path)

    def kept() -> list[int]:
        if not parts or not files.storage.exists(files.uri(parts)):
            raise NamespaceFileNotFound(f"no file {display(parts)} in namespace {namespace}")
        return files.revisions(parts)

    return [NamespaceFileRevision(revision=number) for number in await blocking(_answer, kept)]


@router.get("/directory")
async def directory(namespace: str, path: str | None = None, srv: Server = Depends(server)) -> list[FileAttributes]:
    files, parts = _files(srv, namespace), _path(path)
    return [_shape(found) for found in await blocking(_answer, lambda: files.children(parts))]


@router.post("/directory", status_code=200)
async def make_directory(namespace: str, path: str | None = None, srv: Server = Depends(server)) -> None:
    files, parts = _files(srv, namespace), _path(path)
    await blocking(_answer, lambda: files.make_folder(parts))


@router.post("", status_code=200, openapi_extra=UPLOAD)
async def upload(namespace: str, request: Request, path: str | None = Query(None, description=(
        "Where to store the file; ignored for a .zip upload, which is unpacked at the root")),
                 srv: Server = Depends(server)) -> None:
    files = _files(srv, namespace)
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "no file uploaded: send it as the multipart/form-data part fileContent")
    form = await read_form(request)
    try:
        upload = form.get("fileContent")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "no file uploaded: send it as the multipart/form-data part fileContent")
        data = await upload.read()
    finally:
        await form.close()
    if (upload.filename or "").lower().endswith(".zip"):
        members = _answer(lambda: zip_members(data))
    else:
        if not path:
            raise ApiError(400, "the query parameter path is required: where to store the file, e.g. /data/in.csv")
        members = [(_path(path), data)]
    await blocking(_store, srv, files, namespace, members)


def _store(srv: Server, files: NamespaceFiles, namespace: str, members: list[tuple[tuple[str, ...], bytes]]) -> None:
    """Deploy the flows (all, in one transaction, or none), then write the files."""
    flows = [(parts, data) for parts, data in members if parts and parts[0] == FLOWS_FOLDER]
    for parts, _ in flows:
        if len(parts) != 2:
            raise ApiError(400, f"invalid flow file path {display(parts)}: flows go directly under /{FLOWS_FOLDER}/")
    if flows:
        _deploy(srv, namespace, flows)
    for parts, data in members:
        if not parts or parts[0] != FLOWS_FOLDER:
            _write(files, parts, data)


def _write(files: NamespaceFiles, parts: tuple[str, ...], data: bytes) -> None:
    _answer(lambda: files.write(parts, data))


def _deploy(srv: Server, namespace: str, flows: list[tuple[tuple[str, ...], bytes]]) -> None:
    checked = []
    for parts, data in flows:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"{display(parts)} is not UTF-8 text") from None
        source = re.sub(r"(?m)^namespace:.*$", f"namespace: {namespace}", text, count=1)
        validation = validate_source(source, display(parts))
        if validation.flow is None or validation.errors:
            raise ApiError(400, f"invalid flow {display(parts)}: nothing deployed",
                           [p.format() for p in validation.errors])
        checked.append(validation)
    with write_connection(srv.engine) as connection, connection.begin():
        for validation in checked:
            assert validation.flow is not None
            flow_repository.save_flow(connection, validation.flow, validation.source)


@router.get("/export", response_class=Response, responses=BINARY)
async def export(namespace: str, srv: Server = Depends(server)) -> Response:
    files = _files(srv, namespace)
    data = await blocking(_answer, files.export_zip)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{namespace}_files.zip"',
                             "Cache-Control": "no-cache"})


@router.put("", status_code=200)
async def move(namespace: str, source: str = Query(..., alias="from"), to: str = Query(...),
               srv: Server = Depends(server)) -> None:
    files, old, new = _files(srv, namespace), _path(source), _path(to)
    await blocking(_answer, lambda: files.move(old, new))


@router.delete("", status_code=200)
async def delete(namespace: str, path: str = Query(...), srv: Server = Depends(server)) -> None:
    files, parts = _files(srv, namespace), _path(path)
    await blocking(_answer, lambda: files.delete(parts))
