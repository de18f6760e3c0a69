"""Kestra's search syntax: filters[field][OPERATION]=value, sort, and what an unknown filter gets."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from lanner.web import query
from lanner.web.errors import ApiError
from lanner.web.query import Filter, Group, Op


def _request(pairs: list[tuple[str, str]]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                    "query_string": urlencode(pairs).encode()})


def _get(record: dict, name: str):
    return record.get(name)


def test_a_leaf_filter_is_read_with_its_field_operation_and_value():
    group = query.parse(_request([("filters[namespace][EQUALS]", "company.team")]), "FLOW")
    assert group.children == (Filter("namespace", Op.EQUALS, "company.team"),)
    assert group.find("namespace")[0].value == "company.team"


def test_an_unknown_field_is_a_400_naming_it_never_ignored():
    with pytest.raises(ApiError) as raised:
        query.parse(_request([("filters[colour][EQUALS]", "red")]), "FLOW")
    assert raised.value.status == 400 and "'colour'" in raised.value.message
    assert "namespace" in raised.value.message  # says which fields exist


def test_an_operation_the_field_does_not_admit_is_a_400_naming_both():
    with pytest.raises(ApiError) as raised:
        query.parse(_request([("filters[state][STARTS_WITH]", "FAIL")]), "EXECUTION")
    assert raised.value.status == 400 and "STARTS_WITH" in raised.value.message and "'state'" in raised.value.message
    with pytest.raises(ApiError, match="unknown"):
        query.parse(_request([("filters[state][LIKE]", "x")]), "EXECUTION")


def test_a_field_of_another_resource_is_refused():
    with pytest.raises(ApiError, match="not supported when searching flows"):
        query.parse(_request([("filters[state][EQUALS]", "FAILED")]), "FLOW")


def test_malformed_parameters_and_bad_regexes_are_400s():
    for key, value in (("filters[namespace]", "x"), ("filters", "x"), ("filters[a][b][c][d]", "x"),
                       ("filters[or][x][state][EQUALS]", "x")):
        with pytest.raises(ApiError) as raised:
            query.parse(_request([(key, value)]), "EXECUTION")
        assert raised.value.status == 400, key
    with pytest.raises(ApiError, match="not a regular expression"):
        query.parse(_request([("filters[namespace][REGEX]", "(")]), "FLOW")


def test_labels_as_a_map_and_lists_for_in():
    group = query.parse(_request([("filters[labels][EQUALS][team]", "data"), ("filters[labels][EQUALS][env]", "prod"),
                                  ("filters[state][IN]", "FAILED,KILLED")]), "EXECUTION")
    labels, state = group.children
    assert labels.value == {"team": "data", "env": "prod"}
    assert state.values() == ["FAILED", "KILLED"]
    assert query.matches(group, {"labels": {"team": "data", "env": "prod", "x": "y"}, "state": "KILLED"}, _get)
    assert not query.matches(group, {"labels": {"team": "data"}, "state": "KILLED"}, _get)
    assert not query.matches(group, {"labels": {"team": "data", "env": "prod"}, "state": "SUCCESS"}, _get)


def test_or_groups_and_the_top_level_and():
    group = query.parse(_request([("filters[namespace][PREFIX]", "company"),
                                  ("filters[or][0][state][EQUALS]", "FAILED"),
                                  ("filters[or][1][state][EQUALS]", "KILLED")]), "EXECUTION")
    assert group.logical == "and" and isinstance(group.children[1], Group) and group.children[1].logical == "or"
    assert query.matches(group, {"namespace": "company.team", "state": "KILLED"}, _get)
    assert not query.matches(group, {"namespace": "company2", "state": "KILLED"}, _get)  # PREFIX: the namespace or a child
    assert not query.matches(group, {"namespace": "company", "state": "SUCCESS"}, _get)


@pytest.mark.parametrize(("op", "value", "expected"), [
    (Op.EQUALS, "a.b", True), (Op.NOT_EQUALS, "a.b", False), (Op.CONTAINS, "B", True),
    (Op.STARTS_WITH, "a.", True), (Op.ENDS_WITH, ".b", True), (Op.REGEX, r"^a\.\w$", True),
    (Op.IN, "x,a.b", True), (Op.NOT_IN, "x,a.b", False), (Op.PREFIX, "a", True), (Op.PREFIX, "a.b.c", False),
])
def test_text_operations(op, value, expected):
    assert query.matches(Group("and", (Filter("namespace", op, value),)), {"namespace": "a.b"}, _get) is expected


def test_date_operations_need_a_time_zone():
    moment = {"startDate": datetime(2025, 1, 31, 12, tzinfo=UTC)}
    after = Group("and", (Filter("startDate", Op.GREATER_THAN_OR_EQUAL_TO, "2025-01-31T12:00:00Z"),))
    before = Group("and", (Filter("startDate", Op.LESS_THAN, "2025-01-31T12:00:00+00:00"),))
    assert query.matches(after, moment, _get) and not query.matches(before, moment, _get)
    with pytest.raises(ApiError, match="no time zone"):
        query.matches(Group("and", (Filter("startDate", Op.LESS_THAN, "2025-01-31T12:00:00"),)), moment, _get)


def test_legacy_flat_parameters_become_filters():
    assert query.legacy(namespace="a", state=["FAILED", "KILLED"], flowId=None) == [
        Filter("namespace", Op.EQUALS, "a"), Filter("state", Op.IN, ["FAILED", "KILLED"])]
    group = query.parse(_request([("filters[flowId][EQUALS]", "f")]), "EXECUTION", extra=query.legacy(namespace="a"))
    assert [c.field for c in group.children] == ["namespace", "flowId"]


def test_sort_parameters():
    assert query.sorts(["state.startDate:desc"], ("state.startDate", "id"), "id:asc") == [
        query.Sort("state.startDate", True)]
    assert query.sorts(None, ("id",), "id:asc") == [query.Sort("id", False)]
    with pytest.raises(ApiError, match="cannot sort by 'colour:asc'"):
        query.sorts(["colour:asc"], ("id",), "id")
