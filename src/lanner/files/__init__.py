"""Internal storage: the files tasks produce and read, addressed by ``kestra:///`` URIs.

``kestra:///<namespace as path>/<flow>/executions/<execution>/tasks/<task>/<task run>/<file>``
names a file the way Kestra does, so flows that pass URIs between tasks (``outputFiles``,
``http.Download``, ``read()``) work unchanged.  :class:`Storage` is the interface; the
local filesystem implementation lives in :mod:`lanner.files.local`, and object stores
can come as plugins.

How a URI becomes a path (:func:`parse`), the one place that decides it:

* it must start with ``kestra:///`` exactly (lower case, empty authority);
* the rest is split on ``/`` and each segment is percent-decoded (``my%20file.csv`` is the
  file ``my file.csv``), because a URI is a URI: Kestra decodes them the same way
  (``URI.getPath()``).  Decoding happens once, *before* the checks, so an encoded
  ``%2e%2e`` or ``%2F`` is refused exactly like a written ``..`` or ``/``, and a doubly
  encoded ``%252e`` is the harmless literal name ``%2e``.  ``?`` and ``#`` have no
  meaning: they are ordinary characters of the path;
* every decoded segment must be a plain file or folder name: not empty (``//``, a
  trailing ``/``), not ``.`` or ``..``, without ``/``, ``\\``, NUL or other control
  characters, valid UTF-8 once decoded, and at most 255 bytes long.

So a checked URI can only name something *under* the storage root; what is left to an
implementation is what the path cannot show, such as a symbolic link pointing out
(:class:`lanner.files.local.LocalStorage` refuses those).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import quote, unquote_to_bytes

SCHEME = "kestra://"
PREFIX = SCHEME + "/"  # kestra:/// : no authority, the path starts at once
MAX_SEGMENT_BYTES = 255  # the longest file name common filesystems and object stores accept
# Characters a URI path segment may hold unencoded (RFC 3986 pchar, minus '%'): everything
# else is percent-encoded when a name is turned into a URI.
_SAFE = "!$&'()*+,;=:@-._~"


class StorageError(Exception):
    """A URI or file name that is malformed, escapes the storage, or names no file."""


class Readable(Protocol):
    """A binary source :meth:`Storage.put` reads to its end: a file opened ``"rb"``, or any object with ``read``."""

    def read(self, size: int = -1, /) -> bytes: ...


class Storage(Protocol):
    """What a storage backend provides; :class:`lanner.files.local.LocalStorage` is the reference.

    A plugin implementing it (an object store, say) keeps this contract, which tasks and
    the ``read()``/``fileSize()`` functions rely on:

    * check every URI with :func:`parse` before anything else, and use the segments it
      returns (decoded, checked) as the object key, never the raw URI text;
    * raise :class:`StorageError` (never a driver's own exception) with the URI in its
      message for a malformed URI, a missing file, or a failed read or write;
    * make ``put`` atomic: a reader sees the previous content or the new one in full,
      never a part, and a failed ``put`` leaves nothing behind;
    * keep every file under its own root or bucket prefix, whatever the URI says.
    """

    def put(self, uri: str, data: Readable | bytes) -> str:
        """Store ``data`` (bytes, or a binary file read to its end) under ``uri``; returns the URI."""

    def open(self, uri: str) -> BinaryIO:
        """The file at ``uri``, for reading (the caller closes it); StorageError if there is none."""

    def size(self, uri: str) -> int:
        """The size in bytes of the file at ``uri``; StorageError if there is none."""

    def exists(self, uri: str) -> bool:
        """Whether a file is stored at ``uri`` (StorageError for a malformed URI)."""

    def delete(self, uri: str) -> bool:
        """Remove the file at ``uri``; False if there was none."""

    def list(self, uri: str) -> list[Entry]:
        """What the folder ``uri`` holds, sorted by name (files and folders; [] when there is no such folder)."""

    def make_folder(self, uri: str) -> None:
        """Create the folder ``uri`` and its parents (an object store may keep a marker); nothing if it exists."""

    def is_folder(self, uri: str) -> bool:
        """Whether ``uri`` names a folder."""

    def delete_folder(self, uri: str) -> bool:
        """Remove the folder ``uri`` with everything in it; False if there was none."""


@dataclass(frozen=True)
class Entry:
    """One thing in a folder: its name, whether it is a folder, and (files) its size; times in epoch seconds."""

    name: str
    folder: bool
    size: int
    modified: float
    created: float


def task_run_prefix(namespace: str, flow_id: str, execution_id: str, task_id: str, task_run_id: str) -> str:
    """The URI folder (ending in ``/``) of one task run's files."""
    path = [*namespace.split("."), flow_id, "executions", execution_id, "tasks", task_id, task_run_id]
    return PREFIX + "/".join(quote_segment(part) for part in path) + "/"


def file_uri(prefix: str, name: str) -> str:
    """The URI of the file ``name`` (``/`` separates sub-folders) under the folder URI ``prefix``.

    Each part of ``name`` is checked and percent-encoded, so any name that is a valid file
    name (spaces, ``%``, ``#``, non-ASCII letters) round-trips: :func:`parse` gives it back.
    """
    parts = [part for part in name.split("/") if part]
    if not parts:
        raise StorageError(f"invalid file name {name!r}: it names no file; give a name such as 'result.csv'")
    return prefix.rstrip("/") + "/" + "/".join(quote_segment(part) for part in parts)


def quote_segment(segment: str) -> str:
    """``segment`` checked as a plain name, then percent-encoded for use in a URI path."""
    return quote(check_segment(segment), safe=_SAFE)


def check_segment(segment: str) -> str:
    """``segment`` if it is a plain file or folder name; StorageError saying why it is not."""
    problem = _segment_problem(segment)
    if problem:
        raise StorageError(f"invalid storage path segment {segment!r}: {problem}")
    return segment


def parse(uri: str) -> tuple[str, ...]:
    """The decoded, checked path segments of a ``kestra:///`` URI; StorageError when it is not one."""
    if not isinstance(uri, str):
        raise StorageError(f"an internal storage URI must be a string, not {type(uri).__name__}")
    if not uri.startswith(PREFIX):
        raise StorageError(
            f"not an internal storage URI: {_short(uri)} (expected kestra:///<namespace>/<flow>/...; "
            "use the URI a task gave in its outputs, unchanged)")
    path = uri[len(PREFIX):]
    if not path:
        raise StorageError(f"internal storage URI {uri!r} names no file")
    return tuple(_decoded_segment(uri, raw) for raw in path.split("/"))


def _decoded_segment(uri: str, raw: str) -> str:
    try:
        segment = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise StorageError(f"invalid internal storage URI {_short(uri)}: {raw!r} does not decode to "
                           "UTF-8 text (percent-escapes must encode UTF-8 bytes)") from None
    problem = _segment_problem(segment)
    if problem:
        shown = repr(raw) if raw == segment else f"{raw!r} (decoded: {segment!r})"
        raise StorageError(f"invalid internal storage URI {_short(uri)}: segment {shown} is refused: {problem}")
    return segment


def _segment_problem(segment: str) -> str | None:
    """Why ``segment`` is no plain file or folder name, or None when it is one."""
    if not isinstance(segment, str):
        return f"a path segment must be a string, not {type(segment).__name__}"
    if not segment:
        return "an empty segment (a doubled '/' or a trailing '/') names no file or folder"
    if segment in (".", ".."):
        return "'.' and '..' are relative steps, not names"
    if "/" in segment or "\\" in segment:
        return "a '/' or '\\' inside a name would reach another folder"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in segment):
        return "control characters (NUL, newlines...) are not allowed in names"
    try:
        encoded = segment.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode text (it holds a lone surrogate)"
    if len(encoded) > MAX_SEGMENT_BYTES:
        return f"longer than {MAX_SEGMENT_BYTES} bytes once encoded as UTF-8"
    return None


def _short(uri: str, limit: int = 200) -> str:
    """``uri`` quoted for a message, cut when it is long (an error should fit on a screen)."""
    return repr(uri) if len(uri) <= limit else repr(uri[:limit]) + "..."
