"""Serving the flows of a folder (``server standalone -f DIR``): deploy them, then follow changes.

Every ``*.yml`` / ``*.yaml`` under the folder is validated and saved as a revision when
its source changed (an unchanged source stores nothing).  An invalid file is logged
with its problems and skipped; the rest still deploy.  A file that disappears deletes
the flow it had deployed.  Changes are found by polling modification times.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lanner.background import run_every
from lanner.flows.files import SUFFIXES
from lanner.flows.validator import validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


class FlowFolder:
    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine, self.folder = engine, folder
        self._seen: dict[Path, float] = {}
        self._deployed: dict[Path, tuple[str, str]] = {}

    def _files(self) -> dict[Path, float]:
        if not self.folder.is_dir():
            log.warning("flow folder %s does not exist", self.folder)
            return {}
        return {p: p.stat().st_mtime for p in self.folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()}

    def sync(self) -> int:
        """Deploy what changed since the last call; return how many files were looked at."""
        files = self._files()
        changed = [p for p, mtime in files.items() if self._seen.get(p) != mtime]
        removed = [p for p in self._seen if p not in files]
        self._seen = files
        if not changed and not removed:
            return 0
        with write_connection(self.engine) as connection, connection.begin():
            for path in sorted(changed):
                try:
                    source = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    log.error("cannot read flow file %s: %s", path, exc)
                    continue
                result = validate_source(source, str(path))
                for problem in result.problems:
                    (log.error if problem.is_error else log.warning)("%s", problem.format())
                if result.flow is None:
                    continue
                saved = flow_repository.save_flow(connection, result.flow, source)
                self._deployed[path] = (result.flow.namespace, result.flow.id)
                if saved.changed:
                    log.info("flow %s.%s deployed from %s (revision %d)", result.flow.namespace, result.flow.id,
                             path, saved.revision)
            for path in removed:
                key = self._deployed.pop(path, None)
                if key and key not in self._deployed.values():
                    flow_repository.delete_flow(connection, *key)
                    log.info("flow %s.%s deleted: %s was removed", key[0], key[1], path)
        return len(changed) + len(removed)

    def watch(self, stop: threading.Event, interval: float = 1.0) -> None:
        run_every(stop, interval, self.sync, failure=f"cannot deploy the flow folder {self.folder}; retrying",
                  logger=log)
