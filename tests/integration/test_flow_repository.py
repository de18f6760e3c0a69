"""Flow revisions on both backends: verbatim sources, no empty revisions, deletes kept in history."""

from __future__ import annotations

from lanner.flows.validator import validate_source
from lanner.store import flow_repository as repo
from lanner.store.database import write_connection

SOURCE = """# comments and key order are part of the source
namespace: company.team
id: orders   # trailing comment
tasks:
  - type: io.kestra.plugin.core.log.Log
    id: hello
    message: "{{ flow.id }}"
"""


def save(engine, source):
    flow = validate_source(source).flow
    with write_connection(engine) as connection, connection.begin():
        return repo.save_flow(connection, flow, source)


def test_revisions_keep_the_source_verbatim_and_skip_identical_saves(engine):
    assert save(engine, SOURCE) == repo.Saved(1, changed=True, created=True)
    assert save(engine, SOURCE) == repo.Saved(1, changed=False, created=False)
    changed = SOURCE.replace("flow.id", "flow.namespace")
    assert save(engine, changed) == repo.Saved(2, changed=True, created=False)
    with engine.connect() as connection:
        revisions = repo.list_revisions(connection, "company.team", "orders")
        current = repo.get_flow(connection, "company.team", "orders")
        first = repo.get_flow(connection, "company.team", "orders", 1)
    assert [(r.revision, r.deleted) for r in revisions] == [(1, False), (2, False)]
    assert first.source == SOURCE and current.source == changed and current.revision == 2


def test_diff_between_any_two_revisions(engine):
    save(engine, SOURCE)
    save(engine, SOURCE.replace("hello", "bonjour"))
    save(engine, SOURCE.replace("hello", "hola"))
    with engine.connect() as connection:
        one, three = (repo.get_flow(connection, "company.team", "orders", n) for n in (1, 3))
    text = repo.diff(one, three)
    assert "--- company.team.orders revision 1" in text and "+++ company.team.orders revision 3" in text
    assert "-    id: hello" in text and "+    id: hola" in text


def test_delete_is_a_revision_and_numbering_continues(engine):
    save(engine, SOURCE)
    with write_connection(engine) as connection, connection.begin():
        assert repo.delete_flow(connection, "company.team", "orders") == 2
        assert repo.delete_flow(connection, "company.team", "orders") is None
    with engine.connect() as connection:
        assert repo.get_flow(connection, "company.team", "orders") is None
        assert repo.list_flows(connection, "company.team") == []
    assert save(engine, SOURCE) == repo.Saved(3, changed=True, created=True)
    with engine.connect() as connection:
        assert [(r.revision, r.deleted) for r in repo.list_revisions(connection, "company.team", "orders")] == [
            (1, False), (2, True), (3, False)]


def test_list_flows_by_namespace_and_children(engine):
    for namespace, flow_id in [("company.team", "a"), ("company.team.sub", "b"), ("company.teamx", "c"), ("other", "d")]:
        save(engine, f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    with engine.connect() as connection:
        exact = [(f.namespace, f.flow_id) for f in repo.list_flows(connection, "company.team")]
        tree = [(f.namespace, f.flow_id) for f in repo.list_flows(connection, "company.team", with_children=True)]
    assert exact == [("company.team", "a")]
    assert tree == [("company.team", "a"), ("company.team.sub", "b")]
