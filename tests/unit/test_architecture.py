"""docs/architecture.md's map is the code's: its packages, what each may import, the files it names.

The map is a mermaid flowchart: one node per package of ``src/lanner`` (node id: the
package path with ``_`` for ``.``, so ``engine_core`` is ``lanner.engine.core``; the node
``modules`` stands for the top-level modules, ``durations.py``, ``errors.py``...), and an
arrow ``A --> B`` for "A may import B".  What A may import is what its arrows reach,
directly or through others, so the drawing stays small.  This test fails when a package
is added without a node, when a node names no package, when an import follows no path
of arrows, when the arrows make a cycle, and when a file the page names does not exist.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "lanner"
PAGE = ROOT / "docs" / "architecture.md"
TOP = "modules"


def _diagram() -> tuple[set[str], dict[str, set[str]]]:
    text = PAGE.read_text()
    found = re.search(r"```mermaid\n(flowchart[^\n]*\n.*?)```", text, re.S)
    assert found, "docs/architecture.md has no mermaid flowchart"
    nodes: set[str] = set()
    arrows: dict[str, set[str]] = {}
    for line in found.group(1).splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith(("%%", "subgraph", "end", "classDef", "class ", "direction")):
            continue
        ids = re.findall(r"(?:^|-->\s*)([A-Za-z_][A-Za-z0-9_]*)", line)
        nodes.update(ids)
        for source, target in itertools.pairwise(ids):
            arrows.setdefault(source, set()).add(target)
    return nodes, arrows


def _packages() -> set[str]:
    """Node ids of the code: top-level packages, plus the subpackages of engine (its core and shell)."""
    found = {TOP}
    for folder in SOURCE.iterdir():
        if (folder / "__init__.py").exists():
            subpackages = [sub for sub in folder.iterdir() if (sub / "__init__.py").exists()
                           and folder.name == "engine"]
            found.update(f"{folder.name}_{sub.name}" for sub in subpackages)
            if not subpackages or any(p.suffix == ".py" and p.stem != "__init__" for p in folder.iterdir()):
                found.add(folder.name)
    return found


def _node_of(module: str, nodes: set[str]) -> str | None:
    parts = module.split(".")[1:]  # without "lanner"
    if not parts or parts == ["__main__"]:
        return "cli" if parts else None
    for depth in (2, 1):
        candidate = "_".join(parts[:depth])
        if len(parts) >= depth and candidate in nodes and (SOURCE.joinpath(*parts[:depth])).is_dir():
            return candidate
    return TOP if (SOURCE / f"{parts[0]}.py").exists() else None


def _imports(nodes: set[str]) -> Iterator[tuple[str, str, str]]:
    """(importing node, imported node, file) for every import of one package by another."""
    for path in SOURCE.rglob("*.py"):
        module = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
        source = _node_of(module, nodes)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # the names imported, each resolved to its package ("from lanner.engine import core")
                names = [f"{node.module}.{alias.name}" for alias in node.names
                         if node.module == "lanner" or node.module.startswith("lanner.")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name.startswith("lanner.")]
            else:
                continue
            for name in names:
                target = _node_of(name, nodes)
                if source and target and target != source:
                    yield source, target, str(path.relative_to(ROOT))


def _reach(arrows: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in arrows.get(todo.pop(), set()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_every_package_has_a_node_and_every_node_a_package():
    nodes, _ = _diagram()
    packages = _packages()
    assert not packages - nodes, f"packages missing from docs/architecture.md's map: {sorted(packages - nodes)}"
    assert not nodes - packages, f"nodes of docs/architecture.md's map that are no package: {sorted(nodes - packages)}"


def test_the_arrows_make_no_cycle():
    nodes, arrows = _diagram()
    cyclic = sorted(node for node in nodes if node in _reach(arrows, node))
    assert not cyclic, f"the map's arrows go round through {cyclic}"


def test_every_import_follows_the_arrows_of_the_map():
    nodes, arrows = _diagram()
    reach = {node: _reach(arrows, node) for node in nodes}
    wrong = sorted({f"{source} -> {target} ({where})" for source, target, where in _imports(nodes)
                    if target not in reach[source]})
    assert not wrong, "imports that no arrow of docs/architecture.md allows:\n" + "\n".join(wrong)


def test_the_files_the_page_names_exist():
    named = set(re.findall(r"`((?:src/lanner|tests|bench|docs)/[\w./-]+\.(?:py|md|yaml|html|js))`", PAGE.read_text()))
    assert named, "the page names no file"
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
