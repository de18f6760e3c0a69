"""Internal storage: URI checks, the local backend, and that nothing ever lands outside the root."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanner.files import StorageError, check_segment, file_uri, parse, task_run_prefix
from lanner.files.local import TEMP_PREFIX, LocalStorage

URI = "kestra:///company/team/flow/executions/e1/tasks/t1/r1/out.txt"


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


# -- parsing --------------------------------------------------------------------------------------
def test_a_uri_is_split_into_decoded_segments():
    assert parse(URI) == ("company", "team", "flow", "executions", "e1", "tasks", "t1", "r1", "out.txt")
    assert parse("kestra:///a/my%20file.csv") == ("a", "my file.csv")
    assert parse("kestra:///a/r%C3%A9sum%C3%A9.txt") == ("a", "résumé.txt")
    # '?' and '#' are plain characters of the path, not a query or a fragment.
    assert parse("kestra:///a/b?c#d") == ("a", "b?c#d")


@pytest.mark.parametrize("uri", [
    "kestra:///a/../b", "kestra:///..", "kestra:///a/./b", "kestra:///a/.",
    "kestra:///a//b", "kestra:///a/b/", "kestra:////etc/passwd",
    "kestra:///a/b\\c", "kestra:///a\\..\\..\\etc", "kestra:///a/b\x00c", "kestra:///a/b\nc",
    "kestra:///a/%2e%2e/b", "kestra:///a/%2E%2e", "kestra:///a/.%2e", "kestra:///a/%2e",
    "kestra:///a/%2f..%2fetc", "kestra:///a/b%2Fc", "kestra:///a/%5c..", "kestra:///a/b%00c",
    "kestra:///a/%0a", "kestra:///a/%ff", "kestra:///a/%c3",
])
def test_traversal_and_malformed_segments_are_refused(uri):
    with pytest.raises(StorageError, match="^invalid internal storage URI") as caught:
        parse(uri)
    assert "is refused" in str(caught.value) or "UTF-8" in str(caught.value)


@pytest.mark.parametrize("uri", [
    "", "kestra:///", "/etc/passwd", "etc/passwd", "file:///etc/passwd", "kestra://host/a/b", "kestra:/a/b",
    "KESTRA:///a/b", " kestra:///a/b", "http://example.com/a",
])
def test_anything_but_a_kestra_uri_is_refused(uri):
    with pytest.raises(StorageError, match="not an internal storage URI|names no file"):
        parse(uri)


def test_a_non_string_is_refused():
    with pytest.raises(StorageError, match="must be a string, not int"):
        parse(42)  # type: ignore[arg-type]


def test_a_refusal_says_what_was_decoded_and_why():
    with pytest.raises(StorageError) as caught:
        parse("kestra:///a/%2e%2e/b")
    assert str(caught.value) == ("invalid internal storage URI 'kestra:///a/%2e%2e/b': segment '%2e%2e' "
                                 "(decoded: '..') is refused: '.' and '..' are relative steps, not names")


def test_percent_escapes_are_decoded_once():
    # %252e decodes to the literal name "%2e", which is never decoded again.
    assert parse("kestra:///a/%252e%252e") == ("a", "%2e%2e")


def test_overlong_names_are_refused():
    assert parse("kestra:///a/" + "x" * 255)[-1] == "x" * 255
    with pytest.raises(StorageError, match="longer than 255 bytes"):
        parse("kestra:///a/" + "x" * 256)
    with pytest.raises(StorageError, match="longer than 255 bytes"):
        parse("kestra:///a/" + "é" * 128)  # 256 bytes in UTF-8


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "a\x00b", "\ud800"])
def test_check_segment_refuses_what_is_no_plain_name(name):
    with pytest.raises(StorageError, match="^invalid storage path segment"):
        check_segment(name)


def test_task_run_prefix_turns_namespace_dots_into_folders():
    assert task_run_prefix("company.team", "flow", "e1", "t1", "r1") == \
        "kestra:///company/team/flow/executions/e1/tasks/t1/r1/"
    with pytest.raises(StorageError):
        task_run_prefix("company..team", "flow", "e1", "t1", "r1")
    with pytest.raises(StorageError):
        task_run_prefix("company", "..", "e1", "t1", "r1")


@pytest.mark.parametrize("name", ["out.txt", "my file.csv", "100%.txt", "a%2e%2e", "x#y?z", "résumé.pdf",
                                  "sub/dir/f.json"])
def test_file_uri_round_trips_any_valid_name(name):
    uri = file_uri("kestra:///ns/flow/", name)
    assert parse(uri) == ("ns", "flow", *name.split("/"))


def test_file_uri_refuses_names_that_name_nothing_or_step_out():
    with pytest.raises(StorageError, match="names no file"):
        file_uri("kestra:///ns/", "//")
    with pytest.raises(StorageError):
        file_uri("kestra:///ns/", "../x")


# -- the local backend ----------------------------------------------------------------------------
def test_put_open_size_exists_delete(storage):
    assert not storage.exists(URI)
    assert storage.put(URI, b"hello") == URI
    assert storage.exists(URI) and storage.size(URI) == 5
    with storage.open(URI) as handle:
        assert handle.read() == b"hello"
    assert (storage.root / "company/team/flow/executions/e1/tasks/t1/r1/out.txt").read_bytes() == b"hello"
    assert storage.delete(URI) is True
    assert storage.delete(URI) is False
    assert not storage.exists(URI)


def test_put_reads_a_binary_file_to_its_end_and_replaces_what_was_there(storage):
    storage.put(URI, b"old content")
    payload = os.urandom(3 * 1024 * 1024 + 17)  # more than one copy chunk
    storage.put(URI, io.BytesIO(payload))
    assert storage.size(URI) == len(payload)
    with storage.open(URI) as handle:
        assert handle.read() == payload


def test_an_encoded_name_is_stored_under_its_decoded_name(storage):
    storage.put("kestra:///a/my%20file.txt", b"x")
    assert (storage.root / "a" / "my file.txt").read_bytes() == b"x"
    assert storage.exists("kestra:///a/my file.txt")


@pytest.mark.parametrize("action", ["open", "size"])
def test_a_missing_file_is_a_storage_error_naming_the_uri(storage, action):
    with pytest.raises(StorageError, match=f"^no file in internal storage at {URI}: check that the task"):
        getattr(storage, action)(URI)


@pytest.mark.parametrize("action", ["open", "size"])
def test_a_folder_is_no_file(storage, action):
    storage.put(URI, b"x")
    with pytest.raises(StorageError, match="^no file in internal storage at kestra:///company/team:"):
        getattr(storage, action)("kestra:///company/team")
    assert storage.exists("kestra:///company/team") is False


def test_deleting_a_folder_is_refused(storage):
    storage.put(URI, b"x")
    with pytest.raises(StorageError, match="it names a folder, not a file"):
        storage.delete("kestra:///company/team")
    assert storage.exists(URI)


def test_a_file_where_a_folder_should_be_fails_the_put_with_the_uri(storage):
    storage.put("kestra:///a/b", b"a file")
    with pytest.raises(StorageError, match="^cannot store kestra:///a/b/c in internal storage: "):
        storage.put("kestra:///a/b/c", b"x")
    assert files_under(storage.root) == ["a/b"]


def test_put_refuses_text(storage):
    with pytest.raises(TypeError, match="give bytes or a binary file"):
        storage.put(URI, "text")  # type: ignore[arg-type]
    assert not storage.root.exists() or files_under(storage.root) == []


def test_names_of_temporary_files_are_reserved(storage):
    with pytest.raises(StorageError, match="temporary file of a write in progress"):
        storage.exists(f"kestra:///a/{TEMP_PREFIX}x1y2")


# -- atomic writes --------------------------------------------------------------------------------
class _Source(io.RawIOBase):
    """A stream that calls ``during`` after its first chunk, then fails or ends."""

    def __init__(self, during, fail: bool) -> None:
        self._during, self._fail, self._reads = during, fail, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self._reads += 1
        if self._reads == 1:
            return b"new half"
        self._during()
        if self._fail:
            raise ConnectionResetError("the source broke")
        return b""


def test_a_reader_sees_the_old_file_until_the_new_one_is_complete(storage):
    storage.put(URI, b"old")
    seen = []

    def look():
        with storage.open(URI) as handle:
            seen.append(handle.read())
        seen.append(sorted(p.name for p in storage.path(URI).parent.iterdir()))

    storage.put(URI, _Source(look, fail=False))
    assert seen[0] == b"old"
    temporary, final = seen[1]  # the write in progress sits beside the file it will replace
    assert temporary.startswith(TEMP_PREFIX) and final == "out.txt"
    with storage.open(URI) as handle:
        assert handle.read() == b"new half"


def test_a_failed_put_keeps_the_old_file_and_leaves_no_temporary_file(storage):
    storage.put(URI, b"old")
    with pytest.raises(StorageError, match="cannot store .* the source broke"):
        storage.put(URI, _Source(lambda: None, fail=True))
    with storage.open(URI) as handle:
        assert handle.read() == b"old"
    assert files_under(storage.root) == ["company/team/flow/executions/e1/tasks/t1/r1/out.txt"]


def test_an_interrupted_put_of_a_new_file_leaves_nothing(storage):
    class Stop(Exception):
        pass

    def interrupt():
        raise Stop

    with pytest.raises(Stop):
        storage.put(URI, _Source(interrupt, fail=False))
    assert not storage.exists(URI)
    assert files_under(storage.root) == []


# -- symbolic links -------------------------------------------------------------------------------
def test_a_folder_link_leading_out_of_the_root_is_refused(storage, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    storage.root.mkdir(parents=True)
    (storage.root / "evil").symlink_to(outside, target_is_directory=True)
    for action in (lambda: storage.open("kestra:///evil/secret.txt"), lambda: storage.size("kestra:///evil/secret.txt"),
                   lambda: storage.put("kestra:///evil/new.txt", b"x"), lambda: storage.delete("kestra:///evil/secret.txt")):
        with pytest.raises(StorageError, match="leads outside the storage folder through a symbolic link"):
            action()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_file_link_leading_out_of_the_root_is_refused(storage, tmp_path):
    target = tmp_path / "passwd"
    target.write_bytes(b"root:x:0:0")
    (storage.root / "a").mkdir(parents=True)
    (storage.root / "a" / "f").symlink_to(target)
    with pytest.raises(StorageError, match="leads outside"):
        storage.open("kestra:///a/f")
    with pytest.raises(StorageError, match="leads outside"):
        storage.put("kestra:///a/f", b"overwritten")
    assert target.read_bytes() == b"root:x:0:0"


def test_links_inside_the_root_and_a_linked_root_work(tmp_path):
    real = tmp_path / "real"
    (real / "data").mkdir(parents=True)
    (real / "data" / "f.txt").write_bytes(b"inside")
    (real / "alias").symlink_to(real / "data", target_is_directory=True)
    (tmp_path / "root-link").symlink_to(real, target_is_directory=True)
    storage = LocalStorage(tmp_path / "root-link")
    with storage.open("kestra:///alias/f.txt") as handle:
        assert handle.read() == b"inside"


# -- the property: no URI resolves outside the root -----------------------------------------------
_PIECES = st.sampled_from(["..", ".", "", "%2e", "%2E", "%2e%2e", ".%2e", "%2f", "%2F", "%5c", "%00", "%25",
                           "%252e", "/", "\\", "\x00", "out", "in", "a", "~", "%", "%c0%ae", "%ff"])
_SEGMENT = st.lists(st.one_of(_PIECES, st.text(alphabet="./\\%25efEF0ac~", max_size=4)), max_size=4).map("".join)
_URIS = st.one_of(
    st.lists(_SEGMENT, min_size=1, max_size=6).map(lambda parts: "kestra:///" + "/".join(parts)),
    st.text(max_size=40),
    st.text(alphabet="kestra:/.%2e\\", max_size=30),
)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[LocalStorage, Path]:
    """A storage root holding links out ('out') and in ('in'), beside a folder it must never reach."""
    base = tmp_path_factory.mktemp("property")
    outside, root = base / "outside", base / "root"
    outside.mkdir()
    (root / "a").mkdir(parents=True)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "in").symlink_to(root / "a", target_is_directory=True)
    return LocalStorage(root), outside


@settings(max_examples=400, deadline=None)
@given(uri=_URIS)
def test_no_uri_resolves_outside_the_root(planted, uri):
    storage, outside = planted
    try:
        path = storage.path(uri)
    except StorageError:
        return
    assert path.is_relative_to(storage.root) and path != storage.root
    assert Path(os.path.realpath(path)) == path
    assert not path.is_relative_to(outside.resolve())


@settings(max_examples=100, deadline=None)
@given(uri=_URIS)
def test_no_put_writes_outside_the_root(planted, uri):
    storage, outside = planted
    try:
        storage.put(uri, b"x")
    except StorageError:
        pass
    assert list(outside.iterdir()) == []
