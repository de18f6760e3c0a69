"""Namespace files over HTTP, as Kestra's /api/v1/{tenant}/namespaces/{namespace}/files routes serve them."""

from __future__ import annotations

import io
import zipfile

import pytest

BASE = "/api/v1/main/namespaces/{ns}/files"


def _upload(api, ns, path, content, name="file"):
    return api.post(BASE.format(ns=ns), params={"path": path} if path else None,
                    files={"fileContent": (name, content)})


def test_upload_read_list_stats_and_revisions(module_api):
    api, ns = module_api, "nsfiles.basics"
    assert _upload(api, ns, "/scripts/main.py", b"print('one')").status_code == 200
    assert _upload(api, ns, "/scripts/main.py", b"print('two')").status_code == 200
    read = api.get(BASE.format(ns=ns), params={"path": "/scripts/main.py"})
    assert read.status_code == 200 and read.content == b"print('two')"
    assert read.headers["content-type"] == "application/octet-stream"
    first = api.get(BASE.format(ns=ns), params={"path": "/scripts/main.py", "revision": 1})
    assert first.content == b"print('one')"
    assert api.get(BASE.format(ns=ns) + "/revisions", params={"path": "scripts/main.py"}).json() == [
        {"revision": 1}, {"revision": 2}]
    root = api.get(BASE.format(ns=ns) + "/directory").json()
    assert [(e["fileName"], e["type"]) for e in root] == [("scripts", "Directory")]
    stats = api.get(BASE.format(ns=ns) + "/stats", params={"path": "/scripts/main.py"}).json()
    assert stats["fileName"] == "main.py" and stats["type"] == "File" and stats["size"] == len(b"print('two')")
    assert isinstance(stats["lastModifiedTime"], int) and stats["lastModifiedTime"] > 1_600_000_000_000
    assert api.get(BASE.format(ns=ns) + "/search", params={"q": "main"}).json() == ["/scripts/main.py"]
    # the 0.2x path without a tenant is the main tenant's
    assert api.get(f"/api/v1/namespaces/{ns}/files", params={"path": "/scripts/main.py"}).content == b"print('two')"


def test_folders_moves_deletes_and_their_refusals(module_api):
    api, ns = module_api, "nsfiles.moves"
    assert api.post(BASE.format(ns=ns) + "/directory", params={"path": "/empty/inner"}).status_code == 200
    _upload(api, ns, "/src/a.py", b"a")
    moved = api.put(BASE.format(ns=ns), params={"from": "/src", "to": "/code"})
    assert moved.status_code == 200, moved.text
    assert api.get(BASE.format(ns=ns), params={"path": "/code/a.py"}).content == b"a"
    assert api.get(BASE.format(ns=ns), params={"path": "/src/a.py"}).status_code == 404
    assert api.put(BASE.format(ns=ns), params={"from": "/missing", "to": "/x"}).status_code == 404
    _upload(api, ns, "/b.py", b"b")
    taken = api.put(BASE.format(ns=ns), params={"from": "/b.py", "to": "/code/a.py"})
    assert taken.status_code == 409 and "already exists" in taken.json()["message"]
    assert api.delete(BASE.format(ns=ns), params={"path": "/code"}).status_code == 200
    assert [e["fileName"] for e in api.get(BASE.format(ns=ns) + "/directory").json()] == ["b.py", "empty"]
    assert api.delete(BASE.format(ns=ns), params={"path": "/code"}).status_code == 404
    assert api.get(BASE.format(ns=ns) + "/directory", params={"path": "/nowhere"}).status_code == 404


@pytest.mark.parametrize("path", ["/a/../../etc/passwd", "/a/\x00b", "/_flows/x/y.yaml"])
def test_bad_paths_are_400s_that_say_why(module_api, path):
    answer = _upload(module_api, "nsfiles.bad", path, b"x")
    assert answer.status_code == 400 and answer.json()["message"]
    assert module_api.get(BASE.format(ns="Not A Namespace")).status_code == 400
    missing_file = module_api.post(BASE.format(ns="nsfiles.bad"), params={"path": "/x"})
    assert missing_file.status_code in (400, 415) and "fileContent" in missing_file.text


def test_zip_upload_unpacks_files_and_deploys_flows_and_export_zips_them(module_api):
    api, ns = module_api, "nsfiles.zips"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/in.csv", "a,b\n1,2\n")
        archive.writestr("_flows/hello.yaml", "id: hello\nnamespace: elsewhere\ntasks:\n"
                                              "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    assert _upload(api, ns, None, buffer.getvalue(), name="bundle.zip").status_code == 200
    assert api.get(BASE.format(ns=ns), params={"path": "/data/in.csv"}).content == b"a,b\n1,2\n"
    flow = api.get(f"/api/v1/main/flows/{ns}/hello")
    assert flow.status_code == 200 and flow.json()["namespace"] == ns  # deployed into this namespace
    exported = api.get(BASE.format(ns=ns) + "/export")
    assert exported.status_code == 200 and f"{ns}_files.zip" in exported.headers["content-disposition"]
    assert zipfile.ZipFile(io.BytesIO(exported.content)).namelist() == ["data/in.csv"]


def test_an_invalid_flow_in_a_zip_deploys_nothing_and_writes_no_file(module_api):
    api, ns = module_api, "nsfiles.badzip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/in.csv", "a\n")
        archive.writestr("_flows/broken.yaml", "id: broken\nnamespace: x\ntasks: []\n")
    answer = _upload(api, ns, None, buffer.getvalue(), name="bundle.zip")
    assert answer.status_code == 400 and "nothing deployed" in answer.json()["message"]
    assert api.get(BASE.format(ns=ns), params={"path": "/data/in.csv"}).status_code == 404
