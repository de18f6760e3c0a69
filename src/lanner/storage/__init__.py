"""Internal storage: the files tasks produce and read, addressed by ``kestra:///`` URIs.

``kestra:///<namespace as path>/<flow>/executions/<execution>/tasks/<task>/<task run>/<file>``
names a file the way Kestra does, so flows that pass URIs between tasks (``outputFiles``,
``http.Download``, ``read()``) work unchanged.  :class:`Storage` is the interface; the
local filesystem implementation lives in :mod:`lanner.storage.local`, and object stores
can come as plugins.  Every URI and file name is checked: ``..``, absolute parts and
anything else that could leave the storage root are refused with :class:`StorageError`.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

SCHEME = "kestra://"


class StorageError(Exception):
    """A URI or file name that is malformed, escapes the storage, or names no file."""


class Storage(Protocol):
    def put(self, uri: str, data: BinaryIO | bytes) -> str:
        """Store ``data`` under ``uri`` (replacing what was there); returns the URI."""

    def open(self, uri: str) -> BinaryIO:
        """The file at ``uri``, for reading; StorageError if there is none."""

    def size(self, uri: str) -> int:
        """The size in bytes of the file at ``uri``; StorageError if there is none."""

    def exists(self, uri: str) -> bool: ...

    def delete(self, uri: str) -> bool:
        """Remove the file at ``uri``; False if there was none."""


def task_run_prefix(namespace: str, flow_id: str, execution_id: str, task_id: str, task_run_id: str) -> str:
    """The URI folder of one task run's files."""
    for part in (flow_id, execution_id, task_id, task_run_id):
        check_segment(part)
    path = "/".join(check_segment(segment) for segment in namespace.split("."))
    return f"{SCHEME}/{path}/{flow_id}/executions/{execution_id}/tasks/{task_id}/{task_run_id}/"


def check_segment(segment: str) -> str:
    """``segment`` if it is a plain path segment (no separator, no ``..``); StorageError otherwise."""
    if not segment or segment in (".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
        raise StorageError(f"invalid storage path segment {segment!r}")
    return segment


def parse(uri: str) -> tuple[str, ...]:
    """The path segments of a ``kestra:///`` URI, each checked; StorageError when it is not one."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME + "/"):
        raise StorageError(f"not an internal storage URI: {uri!r} (expected kestra:///...)")
    segments = tuple(uri[len(SCHEME) + 1:].split("/"))
    if not segments or segments == ("",):
        raise StorageError(f"internal storage URI {uri!r} names no file")
    for segment in segments:
        try:
            check_segment(segment)
        except StorageError:
            raise StorageError(f"invalid internal storage URI {uri!r}: {segment!r} is not allowed in a path") from None
    return segments
