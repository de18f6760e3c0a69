"""Internal storage on the local filesystem, in the folder ``lanner.storage.path``.

A URI's checked segments (:func:`lanner.files.parse`) are the path below the root, so
``kestra:///company/team/flow/.../out.csv`` lives at ``<root>/company/team/flow/.../out.csv``.
The segment checks already keep a path under the root; the one way out left is a symbolic
link somewhere on the way, so every path is resolved and refused unless it is still
inside the (resolved) root.

Writes go to a temporary file beside the target (same folder, hence same filesystem),
which is flushed to disk and renamed over the target: a reader sees the old file or the
new one, never half of one, and a failed write leaves no temporary file behind.  Those
temporary files are named ``.lanner-part-*``; URIs naming such a file are refused, so
even a write in progress is invisible.  Files are created readable by their owner only
(the storage holds task outputs, which may be secrets).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from lanner.files import Entry, Readable, StorageError, parse

TEMP_PREFIX = ".lanner-part-"
_CHUNK = 1 << 20  # bytes copied per read when storing a stream


class LocalStorage:
    """The :class:`lanner.files.Storage` of files under one folder."""

    def __init__(self, root: Path) -> None:
        # Resolved once: paths are compared with the real root, even if it is given through a link.
        self.root = Path(root).resolve()

    def path(self, uri: str) -> Path:
        """Where ``uri`` lives on disk (whether or not it exists); always strictly under the root."""
        segments = parse(uri)
        if segments[-1].startswith(TEMP_PREFIX):
            raise StorageError(f"internal storage URI {uri!r} names a temporary file of a write in progress; "
                               f"names starting with {TEMP_PREFIX!r} are reserved")
        path = Path(os.path.realpath(self.root.joinpath(*segments)))
        if path == self.root or not path.is_relative_to(self.root):
            raise StorageError(f"internal storage URI {uri!r} leads outside the storage folder through a "
                               "symbolic link; remove the link or point it inside the storage folder")
        return path

    def put(self, uri: str, data: Readable | bytes) -> str:
        if not isinstance(data, bytes | bytearray | memoryview) and not hasattr(data, "read"):
            raise TypeError(f"cannot store a {type(data).__name__} at {uri}: give bytes or a binary file")
        target = self.path(uri)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        except OSError as exc:
            raise _failed("store", uri, exc) from exc
        try:
            with os.fdopen(handle, "wb") as out:
                _copy(data, out)
                out.flush()
                os.fsync(out.fileno())  # the rename below must not publish blocks still in memory
            os.replace(temporary, target)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _failed("store", uri, exc) from exc
            raise
        return uri

    def open(self, uri: str) -> BinaryIO:
        path = self.path(uri)
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _missing(uri) from None
        except OSError as exc:
            raise _failed("read", uri, exc) from exc

    def size(self, uri: str) -> int:
        path = self.path(uri)
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise _missing(uri) from None
        except OSError as exc:
            raise _failed("read", uri, exc) from exc
        if not stat.S_ISREG(status.st_mode):
            raise _missing(uri)
        return status.st_size

    def exists(self, uri: str) -> bool:
        return self.path(uri).is_file()

    def delete(self, uri: str) -> bool:
        path = self.path(uri)
        if path.is_dir():
            raise StorageError(f"cannot delete {uri} from internal storage: it names a folder, not a file")
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise _failed("delete", uri, exc) from exc
        return True


    def list(self, uri: str) -> list[Entry]:
        path = self.path(uri)
        try:
            children = sorted(path.iterdir(), key=lambda child: child.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _failed("list", uri, exc) from exc
        found = []
        for child in children:
            if child.name.startswith(TEMP_PREFIX) or child.is_symlink():
                continue  # a write in progress, or a link (never followed: it may lead out)
            try:
                status = child.stat()
            except FileNotFoundError:
                continue  # removed while listing
            folder = stat.S_ISDIR(status.st_mode)
            found.append(Entry(child.name, folder, 0 if folder else status.st_size, status.st_mtime,
                               getattr(status, "st_birthtime", status.st_ctime)))
        return found

    def make_folder(self, uri: str) -> None:
        path = self.path(uri)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(f"cannot create the folder {uri} in internal storage: a file has that name") from None
        except OSError as exc:
            raise _failed("create", uri, exc) from exc

    def is_folder(self, uri: str) -> bool:
        return self.path(uri).is_dir()

    def delete_folder(self, uri: str) -> bool:
        path = self.path(uri)
        if not path.is_dir():
            return False
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise _failed("delete", uri, exc) from exc
        return True


def _copy(data: Readable | bytes, out: BinaryIO) -> None:
    if isinstance(data, bytes | bytearray | memoryview):
        out.write(data)
        return
    while chunk := data.read(_CHUNK):
        out.write(chunk)


def _missing(uri: str) -> StorageError:
    return StorageError(f"no file in internal storage at {uri}: check that the task that produced it "
                        "succeeded and that the URI is used as that task gave it")


def _failed(action: str, uri: str, exc: OSError) -> StorageError:
    return StorageError(f"cannot {action} {uri} in internal storage: {exc.strerror or exc}")
