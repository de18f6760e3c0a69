"""A problem found in a flow: what is wrong, and exactly where (file, line, column, path)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lanner.plain_yaml import Path


class Severity(StrEnum):
    ERROR = "error"
    DEPRECATION = "deprecation"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    path: Path
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """``flow.yml:12:7: error: tasks[2].then[0].message: ...``, the line a user reads."""
        where = self.file or "<flow>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        location = f"{dotted(self.path)}: " if self.path else ""
        return f"{where}: {self.severity}: {location}{self.message}"


def dotted(path: Path) -> str:
    """``("tasks", 2, "then", 0, "message")`` -> ``tasks[2].then[0].message``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text
