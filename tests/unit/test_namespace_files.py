"""Namespace files in internal storage: paths, folders, revisions, moves, ZIP archives."""

from __future__ import annotations

import io
import zipfile

import pytest

from lanner.files import StorageError
from lanner.files.local import LocalStorage
from lanner.files.namespace_files import (
    KEPT_REVISIONS,
    NamespaceFileNotFound,
    NamespaceFiles,
    segments,
    zip_members,
)


@pytest.fixture
def files(tmp_path):
    return NamespaceFiles(LocalStorage(tmp_path), "company.team")


def test_paths_are_read_as_kestra_reads_them():
    assert segments("/scripts/main.py") == segments("scripts/main.py") == ("scripts", "main.py")
    assert segments("/") == segments(None) == ()
    for bad in ("/a/../b", "/a/./b", "a\\b", "/a/\x00"):
        with pytest.raises(StorageError):
            segments(bad)


def test_a_file_lives_where_kestra_keeps_it_and_reads_back(files, tmp_path):
    assert files.write(("scripts", "main.py"), b"print(1)") == 1
    assert (tmp_path / "company" / "team" / "_files" / "scripts" / "main.py").read_bytes() == b"print(1)"
    assert files.read(("scripts", "main.py")) == b"print(1)"
    assert [a.name for a in files.children(())] == ["scripts"] and files.children(())[0].folder
    child = files.children(("scripts",))[0]
    assert (child.name, child.folder, child.size) == ("main.py", False, 8)
    assert files.search("MAIN") == ["/scripts/main.py"] and files.search("nothing") == []


def test_each_write_is_a_revision_the_last_ones_kept_and_readable(files):
    for number in range(1, KEPT_REVISIONS + 3):
        assert files.write(("a.txt",), f"v{number}".encode()) == number
    kept = files.revisions(("a.txt",))
    assert kept == list(range(3, KEPT_REVISIONS + 3))
    assert files.read(("a.txt",), revision=3) == b"v3"
    assert files.read(("a.txt",)) == f"v{KEPT_REVISIONS + 2}".encode()
    with pytest.raises(NamespaceFileNotFound, match="no revision 1"):
        files.read(("a.txt",), revision=1)


def test_delete_keeps_revisions_and_numbering_goes_on(files):
    files.write(("a.txt",), b"one")
    files.delete(("a.txt",))
    with pytest.raises(NamespaceFileNotFound):
        files.read(("a.txt",))
    assert files.write(("a.txt",), b"two") == 2
    with pytest.raises(NamespaceFileNotFound):
        files.delete(("missing",))


def test_moving_a_folder_moves_its_files_and_revisions(files):
    files.write(("src", "a.py"), b"a1")
    files.write(("src", "a.py"), b"a2")
    files.write(("src", "lib", "b.py"), b"b")
    files.move(("src",), ("code",))
    assert not files.exists(("src",))
    assert files.read(("code", "a.py")) == b"a2" and files.read(("code", "lib", "b.py")) == b"b"
    assert files.revisions(("code", "a.py")) == [1, 2] and files.read(("code", "a.py"), revision=1) == b"a1"
    files.write(("other.py",), b"o")
    with pytest.raises(FileExistsError):
        files.move(("other.py",), ("code", "a.py"))
    with pytest.raises(StorageError, match="into itself"):
        files.move(("code",), ("code", "inner"))


def test_files_and_folders_cannot_share_a_name(files):
    files.write(("a",), b"file")
    with pytest.raises(StorageError, match="is a file"):
        files.write(("a", "b.txt"), b"x")
    with pytest.raises(StorageError, match="is a file"):
        files.make_folder(("a", "sub"))
    files.make_folder(("dir",))
    with pytest.raises(StorageError, match="is a folder"):
        files.write(("dir",), b"x")
    with pytest.raises(StorageError, match="_flows"):
        files.write(("_flows", "x.yaml"), b"id: x")


def test_export_and_zip_upload_round_trip(files):
    files.write(("a.txt",), b"A")
    files.write(("d", "b.txt"), b"B")
    archive = zipfile.ZipFile(io.BytesIO(files.export_zip()))
    assert sorted(archive.namelist()) == ["a.txt", "d/b.txt"] and archive.read("d/b.txt") == b"B"
    assert sorted(zip_members(files.export_zip())) == [(("a.txt",), b"A"), (("d", "b.txt"), b"B")]


def test_a_malicious_zip_is_refused_before_anything_is_written():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.txt", b"x")
    with pytest.raises(StorageError):
        zip_members(buffer.getvalue())
    with pytest.raises(StorageError, match="not a ZIP"):
        zip_members(b"plain text")
