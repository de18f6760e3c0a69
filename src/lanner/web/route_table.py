"""The route table of docs/api.md: every route Kestra's clients call, and what Lanner does with it.

The table is computed, never written by hand: the routes of Kestra 0.21 and of kestrapy 2.0.3
(:mod:`lanner.web.kestra_routes`) are matched against the routes the app declares (paths compared with
their parameters' names ignored, the ``main`` tenant read as ``{tenant}``), and each is marked served,
served with differences (:data:`~lanner.web.kestra_routes.DIFFERENCES`), or not served with the reason
(:data:`~lanner.web.kestra_routes.REASONS`). Lanner's own routes, which no Kestra client calls, follow.

``python -m lanner.web.route_table --write`` rewrites the table between the markers of docs/api.md;
``--check`` exits 1 when it is out of date; with neither, the table is printed. A unit test fails when
docs/api.md differs from what ``--write`` would write.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from lanner.web import kestra_routes
from lanner.web.kestra_routes import NOT_SERVED_YET, key

START = "<!-- routes:start -->"
END = "<!-- routes:end -->"
DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
COMMAND = "PYTHONPATH=src python -m lanner.web.route_table --write"

# Paths of the app that are not part of the API: the web UI, its assets and the API's docs page.
NOT_API = ("/ui", "/api/docs")


class Row(NamedTuple):
    method: str
    path: str
    family: str
    sources: str  # "0.21", "kestrapy" or "0.21, kestrapy"
    status: str  # "served", "differs", "not served", "Enterprise"
    note: str


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every API route, through the routers included with a prefix."""
    from fastapi.routing import APIRoute

    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI >= 0.16x keeps included routers as such
            yield from _walk(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            for method in route.methods or ():
                yield method, prefix + route.path


def app_routes() -> list[tuple[str, str]]:
    """The app's API routes (method, path), the ``main`` tenant written ``{tenant}``; built without a
    database (the routes are declared before any is needed)."""
    from lanner.web.app import create_app
    from lanner.web.context import Server

    app = create_app(Server(engine=None, queue=None))  # type: ignore[arg-type]
    found = set()
    for method, path in _walk(app.routes):
        if method == "HEAD" or path == "/" or path.startswith(NOT_API):
            continue
        found.add((method, path.replace("/api/v1/main/", "/api/v1/{tenant}/")))
    return sorted(found, key=lambda r: (r[1], r[0]))


def rows(served: Iterable[tuple[str, str]]) -> tuple[list[Row], list[tuple[str, str]]]:
    """Kestra's routes with their status, and Lanner's own routes (those no Kestra route matches)."""
    served_keys = {key(m, p) for m, p in served}
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for route in kestra_routes.KESTRA_0_21:
        merged[key(route.method, route.path)] = {"route": route, "sources": ["0.21"], "enterprise": None}
    for client in kestra_routes.KESTRAPY_2_0_3:
        entry = merged.setdefault(key(client.method, client.path),
                                  {"route": client, "sources": [], "enterprise": client.enterprise})
        entry["sources"].append("kestrapy")
    families = list(dict.fromkeys(e["route"].family for e in merged.values()))
    table = []
    for k, entry in merged.items():
        route = entry["route"]
        if k in served_keys:
            difference = kestra_routes.DIFFERENCES.get(k)
            status, note = ("differs", difference) if difference else ("served", "")
        elif entry["enterprise"]:
            status, note = "Enterprise", entry["enterprise"]
        else:
            status, note = "not served", kestra_routes.REASONS.get(k, NOT_SERVED_YET)
        table.append(Row(route.method, route.path, route.family, ", ".join(entry["sources"]), status, note))
    table.sort(key=lambda r: (families.index(r.family), r.path, r.method))
    own = [(m, p) for m, p in served if key(m, p) not in merged]
    return table, own


def _status(row: Row) -> str:
    if row.status == "served":
        return "served"
    if row.status == "differs":
        return f"served, differs: {row.note}"
    if row.status == "Enterprise":
        return f"not served: Enterprise edition ({row.note})"
    return row.note if row.note == NOT_SERVED_YET else f"not served: {row.note}"


def render(served: Iterable[tuple[str, str]]) -> str:
    """The text between the markers: the summary line, Kestra's routes, Lanner's own."""
    table, own = rows(served)

    def count(source: str, *statuses: str) -> int:
        return sum(1 for r in table if source in r.sources and r.status in statuses)

    summary = (
        f"Kestra 0.21: {count('0.21', 'served', 'differs', 'not served')} open-source routes, "
        f"{count('0.21', 'served', 'differs')} served ({count('0.21', 'differs')} with differences), "
        f"{count('0.21', 'not served')} not served. "
        f"kestrapy 2.0.3: {count('kestrapy', 'served', 'differs', 'not served', 'Enterprise')} paths, "
        f"{count('kestrapy', 'served', 'differs')} served ({count('kestrapy', 'differs')} with differences), "
        f"{count('kestrapy', 'not served')} open-source paths not served, "
        f"{count('kestrapy', 'Enterprise')} Enterprise-only. Lanner's own routes: {len(own)}."
    )
    lines = [
        "<!-- Generated by `python -m lanner.web.route_table --write` from src/lanner/web/kestra_routes.py"
        " and the app's routes: do not edit by hand. -->",
        "",
        summary,
        "",
        "| method | path | family | called by | Lanner |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.method} | `{r.path}` | {r.family} | {r.sources} | {_status(r)} |" for r in table]
    lines += ["", "Lanner's own routes, which no Kestra client calls:", "", "| method | path |", "|---|---|"]
    lines += [f"| {m} | `{p}` |" for m, p in own]
    return "\n".join(lines)


def rewrite(document: str, section: str) -> str:
    """The document with the text between the markers replaced by ``section``."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"docs/api.md has no {START} ... {END} section")
    return f"{document[:start + len(START)]}\n{section}\n{document[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lanner.web.route_table", description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the table in docs/api.md")
    action.add_argument("--check", action="store_true", help="exit 1 when docs/api.md's table is out of date")
    args = parser.parse_args(argv)
    section = render(app_routes())
    if not (args.write or args.check):
        print(section)
        return 0
    current = DOC.read_text(encoding="utf-8")
    try:
        wanted = rewrite(current, section)
    except ValueError as missing:
        print(missing, file=sys.stderr)
        return 2
    if args.check:
        if wanted != current:
            print(f"docs/api.md's route table is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
