"""Dashboard and chart YAML: what Lanner cannot compute, or cannot read, is a list of problems, never an
exception of another kind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lanner.dashboards.definition import DefinitionError, read_chart, read_dashboard

C = "io.kestra.plugin.core.dashboard.chart."
D = "io.kestra.plugin.core.dashboard.data."
EXECUTIONS = f"{{type: {D}Executions, columns: {{s: {{field: STATE}}, t: {{agg: COUNT}}}}}}"


@pytest.mark.parametrize(("source", "problem"), [
    (f"id: c\ntype: {C}Bar\nchartOptions: {{column: [1]}}\ndata: {EXECUTIONS}", "chartOptions.column"),
    (f"id: c\ntype: {C}Pie\nchartOptions: {{colorByColumn: {{a: 1}}}}\ndata: {EXECUTIONS}", "colorByColumn"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Logs, columns: {{s: {{field: LEVEL}}}}, orderBy: [{{column: [1]}}]}}",
     "orderBy[0].column"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Logs, columns: {{s: {{field: LEVEL}}}}, where: [{{type: [1]}}]}}",
     "is not a filter type"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Logs, columns: {{s: {{field: LEVEL}}}}, where: "
     + "[{type: OR, values: " * 8 + "[{field: LEVEL, type: EQUAL_TO, value: X}]" + "}]" * 8 + "}", "nest 5 deep"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Executions, columns: {{s: {{field: START_DATE}}}}, "
     "where: [{field: START_DATE, type: GREATER_THAN, value: '2025-01-01'}]}", "is not a date"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Executions, columns: {{s: {{field: STATE, interval: DAY}}}}}}",
     "only a date column"),
    (f"id: c\ntype: {C}Table\ndata: {{type: {D}Metrics, columns: {{s: {{field: NAME, agg: AVG}}}}}}",
     "AVG needs a numeric field"),
    (f"id: c\ntype: {C}Markdown", "needs its `content`"),
    ("[1, 2]", "expected a YAML mapping"),
    ("{a: [}", "not valid YAML"),
])
def test_a_chart_lanner_cannot_compute_is_a_problem_naming_its_place(source, problem):
    with pytest.raises(DefinitionError) as refused:
        read_chart(source)
    assert any(problem in p for p in refused.value.problems), refused.value.problems


def test_a_dashboard_without_a_default_window_takes_thirty_days_or_its_max():
    assert read_dashboard("id: x\ntitle: t\n").default_window == timedelta(days=30)
    assert read_dashboard("id: x\ntitle: t\ntimeWindow: {max: P7D}").default_window == timedelta(days=7)
    with pytest.raises(DefinitionError) as refused:
        read_dashboard("id: x\ntitle: t\ntimeWindow: {default: P2D, max: P1D}")
    assert refused.value.problems == ["timeWindow: `default` is longer than `max`"]


def test_every_problem_of_a_dashboard_is_listed():
    with pytest.raises(DefinitionError) as refused:
        read_dashboard("id: [x]\ntitle: {a: 1}\ncharts: {a: 1}\nfoo: 1")
    assert [p.split(":")[0] for p in refused.value.problems] == ["foo", "id", "title", "charts"]
