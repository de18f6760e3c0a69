"""`server standalone -f DIR`: the folder's flows are deployed, and its changes followed."""

from __future__ import annotations

import os

from lanner.engine.shell.flow_folder import FlowFolder
from lanner.store import flow_repository

FLOW = "id: {id}\nnamespace: team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"


def revisions(engine, flow_id):
    with engine.connect() as connection:
        return [(r.revision, r.deleted) for r in flow_repository.list_revisions(connection, "team", flow_id)]


def touch(path, text):
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))  # a distinct mtime even on coarse clocks


def test_deploys_follows_changes_skips_invalid_files_and_deletes_removed_ones(engine, tmp_path):
    folder = tmp_path / "flows"
    (folder / "sub").mkdir(parents=True)
    touch(folder / "a.yml", FLOW.format(id="a", message="one"))
    touch(folder / "sub" / "b.yaml", FLOW.format(id="b", message="one"))
    touch(folder / "broken.yml", "id: broken\nnamespace: team\ntasks: []\n")
    watcher = FlowFolder(engine, folder)
    assert watcher.sync() == 3
    assert revisions(engine, "a") == [(1, False)] and revisions(engine, "b") == [(1, False)]
    assert revisions(engine, "broken") == []
    assert watcher.sync() == 0  # nothing changed: nothing read, nothing stored

    touch(folder / "a.yml", FLOW.format(id="a", message="two"))
    (folder / "sub" / "b.yaml").unlink()
    assert watcher.sync() == 2
    assert revisions(engine, "a") == [(1, False), (2, False)]
    assert revisions(engine, "b") == [(1, False), (2, True)]

    touch(folder / "a.yml", FLOW.format(id="a", message="two"))  # touched, same source
    watcher.sync()
    assert revisions(engine, "a") == [(1, False), (2, False)]
