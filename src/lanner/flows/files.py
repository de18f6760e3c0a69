"""Finding flow files: the paths given, and ``*.yml`` / ``*.yaml`` under the folders given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lanner.errors import UsageError

SUFFIXES = (".yml", ".yaml")


def flow_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path} does not exist", "Give flow files or folders holding *.yml / *.yaml files.")
    if not found:
        raise UsageError("no flow files (*.yml, *.yaml) found in " + ", ".join(map(str, paths)))
    return found


def read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
