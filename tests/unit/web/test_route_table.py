"""docs/api.md's route table is what `python -m lanner.web.route_table --write` writes: it cannot drift."""

from __future__ import annotations

from lanner.web import kestra_routes, route_table


def test_docs_route_table_is_up_to_date():
    current = route_table.DOC.read_text(encoding="utf-8")
    wanted = route_table.rewrite(current, route_table.render(route_table.app_routes()))
    assert wanted == current, f"docs/api.md's route table is out of date: run {route_table.COMMAND}"


def test_routes_are_matched_with_parameter_names_ignored_and_main_read_as_the_tenant():
    served = [("GET", "/api/v1/{tenant}/executions/{execution_id}"), ("GET", "/api/v1/{tenant}/lanner/only")]
    table, own = route_table.rows(served)
    by_path = {(r.method, r.path): r for r in table}
    assert by_path["GET", "/api/v1/{tenant}/executions/{executionId}"].status == "served"
    assert by_path["GET", "/api/v1/{tenant}/executions/search"].status == "not served"
    assert own == [("GET", "/api/v1/{tenant}/lanner/only")]
    assert ("GET", "/api/v1/{tenant}/flows/search") in route_table.app_routes()  # /api/v1/main/... or {tenant}


def test_a_route_has_one_entry_per_method_and_path_template():
    keys = [kestra_routes.key(r.method, r.path) for r in kestra_routes.KESTRA_0_21]
    assert len(keys) == len(set(keys)) == 170
    assert {r.family for r in kestra_routes.KESTRA_0_21} == set(kestra_routes.CONTROLLERS)
    client_keys = [kestra_routes.key(r.method, r.path) for r in kestra_routes.KESTRAPY_2_0_3]
    assert len(client_keys) == len(set(client_keys))


def test_enterprise_paths_are_marked_and_reasons_name_known_routes():
    enterprise = {r.path for r in kestra_routes.KESTRAPY_2_0_3 if r.enterprise}
    assert "/api/v1/{tenant}/namespaces/{namespace}/secrets" in enterprise
    assert "/api/v1/{tenant}/flows/search" not in enterprise
    known = {kestra_routes.key(r.method, r.path) for r in (*kestra_routes.KESTRA_0_21, *kestra_routes.KESTRAPY_2_0_3)}
    assert set(kestra_routes.REASONS) <= known and set(kestra_routes.DIFFERENCES) <= known


def test_rewrite_replaces_only_the_marked_section():
    document = f"before\n{route_table.START}\nold\n{route_table.END}\nafter\n"
    assert route_table.rewrite(document, "new") == f"before\n{route_table.START}\nnew\n{route_table.END}\nafter\n"
