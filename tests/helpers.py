"""Small helpers for tests that build configurations and inspect databases in-process."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from lanner.config import LoadedConfig, load_config
from lanner.store.database import create_engine


def config_for(url: str, **env: str) -> LoadedConfig:
    """A configuration on ``url``; extra keyword arguments are LANNER_* variables without the prefix."""
    return load_config(None, {"LANNER_DATABASE_URL": url, **{f"LANNER_{k.upper()}": v for k, v in env.items()}})


def snapshot(url: str) -> Mapping[str, list[tuple]]:
    """Every row of every table, to prove a command wrote nothing."""
    engine = create_engine(config_for(url).settings.database, create=False)
    try:
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            return {
                name: sorted(map(tuple, connection.execute(sa.text(f'SELECT * FROM "{name}"'))), key=repr)
                for name in sorted(names)
            }
    finally:
        engine.dispose()


def processes_with(text: str) -> list[int]:
    """Pids of the processes whose command line contains ``text`` (to prove none was left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # ended meanwhile
                pass
    return found


def form_token(client, path: str = "/ui/login") -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of a UI form (its cookie stays in the client), as a browser gets it by opening the page."""
    import re

    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no form token on {path}: {page.status_code} {page.text[:200]}"
    return match.group(1)
