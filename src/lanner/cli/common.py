"""Options every command takes (Kestra's global options) and the context they build."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lanner.log_level import LEVEL_NAMES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.loader import LoadedConfig

@dataclass
class App:
    """What a command needs from the global options; the configuration loads on first use."""

    config_path: Path | None = None
    log_level: str = "INFO"
    internal_log: bool = False
    plugins: Path | None = None
    _loaded: LoadedConfig | None = field(default=None, repr=False)

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from lanner import encryption
            from lanner.config import load_config

            self._loaded = load_config(self.config_path)
            # The process's key for SECRET inputs and outputs, as secret() reads the process's environment.
            encryption.configure(self._loaded.settings.encryption.secret_key)
            for warning in self._loaded.warnings:
                logging.getLogger("lanner.config").warning(warning)
        return self._loaded


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the global options to a command and pass it an :class:`App` as ``app``."""

    @click.option(
        "-c", "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
        help="Configuration file [default: ~/.lanner/config.yml when it exists].",
    )
    @click.option(
        "-l", "--log-level", type=click.Choice(LEVEL_NAMES, case_sensitive=False), default="INFO",
        show_default=True, help="Log level of Lanner's own messages.",
    )
    @click.option("-v", "--verbose", count=True, help="More detail: -v for DEBUG, -vv for TRACE.")
    @click.option("--internal-log", is_flag=True, help="Apply the log level to libraries too (SQLAlchemy, Alembic...).")
    @click.option(
        "-p", "--plugins", type=click.Path(path_type=Path, file_okay=False),
        help="Plugins directory (reserved for plugin loading).",
    )
    @functools.wraps(command)
    def wrapper(
        config_path: Path | None, log_level: str, verbose: int, internal_log: bool, plugins: Path | None, **kwargs: Any
    ) -> Any:
        from lanner import logs

        level = logs.effective_level(log_level, verbose)
        logs.configure(level, internal=internal_log)
        app = App(config_path=config_path, log_level=level, internal_log=internal_log, plugins=plugins)
        click.get_current_context().meta["lanner.app"] = app
        return command(app=app, **kwargs)

    return wrapper


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@contextmanager
def open_database(app: App, needed_table: str) -> Iterator[Engine]:
    """An engine on a database whose schema this Lanner can read and that has ``needed_table``.

    Exit 3 for a newer Lanner's schema, 6 when unreachable (also when it goes away while
    in use), 4 when the schema predates ``needed_table`` (migrate first).
    """
    import sqlalchemy as sa

    from lanner.errors import SchemaOutdatedError
    from lanner.store.database import create_engine, unavailable
    from lanner.store.migrator import current_state

    engine = create_engine(app.loaded.settings.database, create=False)
    try:
        current_state(engine)
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(needed_table):
                raise SchemaOutdatedError(f"the database has no {needed_table} table yet",
                                          "Run: lanner sys database migrate")
        try:
            yield engine
        except sa.exc.OperationalError as exc:
            raise unavailable(engine, exc) from None
    finally:
        engine.dispose()
