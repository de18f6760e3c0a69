"""Namespace files: the code and data a namespace keeps beside its flows (Kestra's namespace files).

A namespace's files live in internal storage under ``kestra:///<namespace as folders>/_files/``,
where Kestra keeps them, so ``company.team``'s ``scripts/main.py`` is
``kestra:///company/team/_files/scripts/main.py``.  Paths given by users are read as Kestra reads
them: ``/scripts/main.py`` and ``scripts/main.py`` are the same file; every segment must be a plain
name (no ``..``, no empty segment; :func:`lanner.files.check_segment`).

Every write also keeps the content as a revision, under
``kestra:///<namespace>/_files_revisions/<path>/<number>``: revisions count from 1 per path, the
last :data:`KEPT_REVISIONS` are kept, and an older one can be read (``revision=``) and written back
as the current content, so a bad edit is undone like a flow's.  Deleting a file keeps its revisions
(they are listed again if the path is written anew, numbering going on); moving a file moves them.

All of it goes through the :class:`lanner.files.Storage` interface, so an object store serves them
as well as the local folder.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from lanner.files import PREFIX, Entry, Readable, Storage, StorageError, check_segment, quote_segment

FILES = "_files"
REVISIONS = "_files_revisions"
FLOWS_FOLDER = "_flows"  # a path under it in an upload is a flow to deploy, not a file (Kestra)
KEPT_REVISIONS = 10  # revisions kept per file: older ones are removed on the next write
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 1 << 30  # uncompressed bytes an uploaded ZIP may hold (a zip bomb is refused)


class NamespaceFileNotFound(StorageError):
    """No file or folder at the path."""


@dataclass(frozen=True)
class Attributes:
    """A file's or folder's attributes, as Kestra's ``FileAttributes`` gives them."""

    name: str
    folder: bool
    size: int
    modified: float
    created: float


def segments(path: str | None) -> tuple[str, ...]:
    """A user's path as checked segments (``/a/b.txt`` → ``("a", "b.txt")``; ``/`` or empty → root)."""
    raw = (path or "").strip()
    if raw.startswith("kestra:///"):
        raw = raw[len("kestra:///"):]
    parts = tuple(part for part in raw.split("/") if part)
    for part in parts:
        try:
            check_segment(part)
        except StorageError as exc:
            raise StorageError(f"namespace file path {path!r}: {exc}") from None
    return parts


def display(parts: tuple[str, ...]) -> str:
    """The path as Kestra shows it: ``/a/b.txt``."""
    return "/" + "/".join(parts)


class NamespaceFiles:
    """The files of one namespace."""

    def __init__(self, storage: Storage, namespace: str) -> None:
        self.storage = storage
        self.namespace = namespace
        ns = [quote_segment(part) for part in namespace.split(".")]
        self._root = PREFIX + "/".join([*ns, FILES])
        self._revisions_root = PREFIX + "/".join([*ns, REVISIONS])

    def uri(self, parts: tuple[str, ...]) -> str:
        return "/".join([self._root, *(quote_segment(p) for p in parts)])

    def _revisions_uri(self, parts: tuple[str, ...]) -> str:
        return "/".join([self._revisions_root, *(quote_segment(p) for p in parts)])

    # Reading

    def exists(self, parts: tuple[str, ...]) -> bool:
        return not parts or self.storage.exists(self.uri(parts)) or self.storage.is_folder(self.uri(parts))

    def is_folder(self, parts: tuple[str, ...]) -> bool:
        return not parts or self.storage.is_folder(self.uri(parts))

    def read(self, parts: tuple[str, ...], revision: int | None = None) -> bytes:
        if not parts or self.storage.is_folder(self.uri(parts)):
            raise StorageError(f"{display(parts)} in namespace {self.namespace} is a folder, not a file")
        if revision is not None:
            if revision not in self.revisions(parts):
                raise NamespaceFileNotFound(f"no revision {revision} of {display(parts)} in namespace "
                                            f"{self.namespace}: its revisions are {self.revisions(parts)}")
            uri = f"{self._revisions_uri(parts)}/{revision}"
        else:
            uri = self.uri(parts)
            if not self.storage.exists(uri):
                raise NamespaceFileNotFound(f"no file {display(parts)} in namespace {self.namespace}")
        with self.storage.open(uri) as handle:
            return handle.read()

    def attributes(self, parts: tuple[str, ...]) -> Attributes:
        if not parts:
            self.storage.make_folder(self._root)
            return Attributes("", True, 0, 0.0, 0.0)
        entry = next((e for e in self.storage.list(self.uri(parts[:-1]) if len(parts) > 1 else self._root)
                      if e.name == parts[-1]), None)
        if entry is None:
            raise NamespaceFileNotFound(f"no file or folder {display(parts)} in namespace {self.namespace}")
        return _attributes(entry)

    def children(self, parts: tuple[str, ...]) -> list[Attributes]:
        """What the folder holds; the namespace's root is created when missing (as Kestra does)."""
        if not parts:
            self.storage.make_folder(self._root)
        elif not self.storage.is_folder(self.uri(parts)):
            raise NamespaceFileNotFound(f"no folder {display(parts)} in namespace {self.namespace}")
        return [_attributes(e) for e in self.storage.list(self.uri(parts) if parts else self._root)]

    def walk(self, parts: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Entry]]:
        """Every file and folder below ``parts``, depth first, with its path."""
        for entry in self.storage.list(self.uri(parts) if parts else self._root):
            path = (*parts, entry.name)
            yield path, entry
            if entry.folder:
                yield from self.walk(path)

    def search(self, text: str) -> list[str]:
        """The paths of the files whose path contains ``text`` (case-insensitive)."""
        wanted = text.lower()
        return [display(path) for path, entry in self.walk() if not entry.folder and wanted in display(path).lower()]

    def revisions(self, parts: tuple[str, ...]) -> list[int]:
        """The revision numbers kept for the file, oldest first."""
        if not parts:
            return []
        return sorted(int(e.name) for e in self.storage.list(self._revisions_uri(parts))
                      if not e.folder and e.name.isdigit())

    # Writing

    def write(self, parts: tuple[str, ...], data: Readable | bytes) -> int:
        """Store the file (creating its folders); its new revision's number."""
        if not parts:
            raise StorageError("a namespace file needs a path, e.g. /scripts/main.py")
        if parts[0] == FLOWS_FOLDER:
            raise StorageError(f"{display(parts)}: the {FLOWS_FOLDER} folder holds flows, not files; "
                               "deploy a flow through the flows API")
        uri = self.uri(parts)
        if self.storage.is_folder(uri):
            raise StorageError(f"{display(parts)} in namespace {self.namespace} is a folder; choose another name")
        for depth in range(1, len(parts)):
            if self.storage.exists(self.uri(parts[:depth])):
                raise StorageError(f"{display(parts[:depth])} in namespace {self.namespace} is a file, so it "
                                   f"cannot hold {display(parts)}")
        content = data if isinstance(data, bytes) else data.read()
        kept = self.revisions(parts)
        revision = (kept[-1] if kept else 0) + 1
        self.storage.put(f"{self._revisions_uri(parts)}/{revision}", content)
        self.storage.put(uri, content)
        for old in kept[:max(0, len(kept) + 1 - KEPT_REVISIONS)]:
            self.storage.delete(f"{self._revisions_uri(parts)}/{old}")
        return revision

    def make_folder(self, parts: tuple[str, ...]) -> None:
        for depth in range(1, len(parts) + 1):
            if self.storage.exists(self.uri(parts[:depth])):
                raise StorageError(f"{display(parts[:depth])} in namespace {self.namespace} is a file; "
                                   "a folder cannot have its name")
        self.storage.make_folder(self.uri(parts) if parts else self._root)

    def delete(self, parts: tuple[str, ...]) -> None:
        """Remove the file or the folder with everything in it (revisions are kept)."""
        if not parts:
            raise StorageError("give the path of the file or folder to delete; the namespace's root is not deleted")
        uri = self.uri(parts)
        if self.storage.is_folder(uri):
            self.storage.delete_folder(uri)
        elif not self.storage.delete(uri):
            raise NamespaceFileNotFound(f"no file or folder {display(parts)} in namespace {self.namespace}")

    def move(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        """Move a file (with its revisions) or a folder (with everything in it)."""
        if not source or not target:
            raise StorageError("moving needs a file or folder path on both sides, not the namespace's root")
        if not self.exists(source):
            raise NamespaceFileNotFound(f"no file or folder {display(source)} in namespace {self.namespace}")
        if self.exists(target):
            raise FileExistsError(f"{display(target)} already exists in namespace {self.namespace}; delete it "
                                  "first or choose another path")
        if target[:len(source)] == source:
            raise StorageError(f"cannot move {display(source)} into itself ({display(target)})")
        if self.storage.is_folder(self.uri(source)):
            files = [path for path, entry in self.walk(source) if not entry.folder]
            self.make_folder(target)
            for path in files:
                self._move_file(path, (*target, *path[len(source):]))
            self.storage.delete_folder(self.uri(source))
        else:
            self._move_file(source, target)

    def _move_file(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        for revision in self.revisions(source):
            with self.storage.open(f"{self._revisions_uri(source)}/{revision}") as handle:
                self.storage.put(f"{self._revisions_uri(target)}/{revision}", handle)
        with self.storage.open(self.uri(source)) as handle:
            self.storage.put(self.uri(target), handle)
        self.storage.delete(self.uri(source))
        self.storage.delete_folder(self._revisions_uri(source))

    def export_zip(self) -> bytes:
        """Every file of the namespace in a ZIP archive, by path."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, entry in self.walk():
                if not entry.folder:
                    archive.writestr("/".join(path), self.read(path))
        return buffer.getvalue()


def zip_members(content: bytes) -> list[tuple[tuple[str, ...], bytes]]:
    """The files of an uploaded ZIP archive, by checked path; refuses a malformed or oversized archive
    (entries, uncompressed bytes) before reading any file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise StorageError("the uploaded .zip file is not a ZIP archive") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > MAX_ZIP_ENTRIES:
            raise StorageError(f"the ZIP archive holds {len(members)} files; at most {MAX_ZIP_ENTRIES} are accepted")
        if sum(info.file_size for info in members) > MAX_ZIP_BYTES:
            raise StorageError(f"the ZIP archive unpacks to more than {MAX_ZIP_BYTES} bytes; upload it in parts")
        found = []
        total = 0
        for info in members:
            with archive.open(info) as handle:  # read at most the declared size: a lying header cannot inflate
                data = handle.read(info.file_size + 1)
            total += len(data)
            if len(data) > info.file_size or total > MAX_ZIP_BYTES:
                raise StorageError(f"ZIP entry {info.filename!r} unpacks to more than it declares; refused")
            found.append((segments(info.filename), data))
        return found


def _attributes(entry: Entry) -> Attributes:
    return Attributes(entry.name, entry.folder, entry.size, entry.modified, entry.created)
