"""The default tenant is named once: ``lanner.model.tenant.DEFAULT_TENANT``.

A source scan: no module of ``src/lanner`` spells the string ``"main"`` itself (the
applied migrations excepted: they are append-only history).  A string that means
something else than the tenant would need its own named constant, so this stays precise.
"""

import ast
from datetime import UTC, datetime
from pathlib import Path

import lanner
from lanner.model.execution import Execution
from lanner.model.state import State, StateHistory
from lanner.model.tenant import DEFAULT_TENANT

SOURCE = Path(lanner.__file__).parent
HOME = SOURCE / "model" / "tenant.py"


def _main_literals(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value == "main"]


def test_only_the_tenant_module_spells_the_default_tenant():
    found = {str(path.relative_to(SOURCE)): lines for path in sorted(SOURCE.rglob("*.py"))
             if path != HOME and "versions" not in path.relative_to(SOURCE).parts
             and (lines := _main_literals(path))}
    assert found == {}
    assert _main_literals(HOME)


def test_an_execution_belongs_to_the_default_tenant_unless_told():
    execution = Execution("e1", "company.team", "hello", 1, StateHistory.start(State.CREATED, datetime.now(UTC)))
    assert execution.tenant_id == DEFAULT_TENANT == "main"
