"""Internal storage on the local filesystem (``lanner.storage.path``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from lanner.storage import StorageError, parse


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path(self, uri: str) -> Path:
        """Where ``uri`` lives on disk (whether or not it exists); always under the root."""
        path = self.root.joinpath(*parse(uri)).resolve()
        if not path.is_relative_to(self.root):  # a symlink pointing out, say
            raise StorageError(f"internal storage URI {uri!r} leads outside the storage")
        return path

    def put(self, uri: str, data: BinaryIO | bytes) -> str:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside it, then rename: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(data, bytes | bytearray):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, 1 << 20)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return uri

    def open(self, uri: str) -> BinaryIO:
        try:
            return self.path(uri).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise StorageError(f"no file in internal storage at {uri}") from None

    def size(self, uri: str) -> int:
        path = self.path(uri)
        if not path.is_file():
            raise StorageError(f"no file in internal storage at {uri}")
        return path.stat().st_size

    def exists(self, uri: str) -> bool:
        return self.path(uri).is_file()

    def delete(self, uri: str) -> bool:
        try:
            self.path(uri).unlink()
            return True
        except FileNotFoundError:
            return False
