"""The age of the latest backup, for the upgrade check.

Lanner keeps no record of backups in the database: a backup is a ``*.lbak`` file
(``lanner backups create`` writes to the current folder by default, backups taken
before migrations go to ``lanner.backup.folder``, ``./data/backups`` by default).  The
newest file in those two folders (the ones ``lanner backups list`` reads) is the latest
backup; its time is the ``created_at`` of its header when the backups module can
read it, else the file's modification time.  Backups written elsewhere are not seen:
the report then says none was found, never that none exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_FOLDER = Path("./data/backups")
SUFFIX = ".lbak"


@dataclass(frozen=True)
class LatestBackup:
    folder: str
    path: str | None = None
    created_at: datetime | None = None
    source: str | None = None  # "header" | "mtime"


def folders_of(settings: Any) -> list[Path]:
    backup = getattr(settings, "backup", None)
    folder = getattr(backup, "folder", None)
    return list(dict.fromkeys([Path("."), Path(folder) if folder else DEFAULT_FOLDER]))


def latest(folders: list[Path]) -> LatestBackup:
    files: list[Path] = []
    for folder in folders:
        try:
            files += [p for p in folder.glob(f"*{SUFFIX}") if p.is_file()]
        except OSError:
            pass
    searched = ", ".join(str(f) for f in folders)
    if not files:
        return LatestBackup(searched)
    newest = max(files, key=lambda p: p.stat().st_mtime)
    created = _header_time(newest)
    if created is not None:
        return LatestBackup(searched, str(newest), created, "header")
    return LatestBackup(searched, str(newest), datetime.fromtimestamp(newest.stat().st_mtime, UTC), "mtime")


def _header_time(path: Path) -> datetime | None:
    try:
        from lanner.ops.backups.frames import read_header

        with path.open("rb") as source:
            header = read_header(source, str(path))[0]
        moment = datetime.fromisoformat(str(header.created_at).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except Exception:  # no backups module in this build, or a file it cannot read: use the file's time
        return None
