"""``lanner configs``: inspect the effective configuration."""

from __future__ import annotations

import json
from typing import Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options


@click.group(context_settings=CONTEXT_SETTINGS)
def configs() -> None:
    """Inspect Lanner's configuration."""


@configs.command("show", context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
def show(app: App, fmt: str) -> None:
    """Print the effective configuration, where each value came from, with secrets masked.

    Sources, lowest precedence first: default, the YAML file (-c or ~/.lanner/config.yml),
    then LANNER_* environment variables.
    """
    from lanner.config.keys import display
    from lanner.config.loader import leaf_paths

    loaded = app.loaded
    rows = []
    for path in leaf_paths():
        value: Any = loaded.settings
        for part in path:
            value = getattr(value, part)
        rows.append((display(path), _render(path, value), str(loaded.source_of(path))))
    if fmt == "json":
        payload = {"file": str(loaded.file_path) if loaded.file_path else None,
                   "values": [{"key": k, "value": v, "source": s} for k, v, s in rows]}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"# configuration file: {loaded.file_path or 'none (defaults and environment only)'}")
    width = max(len(k) + len(v) for k, v, _ in rows) + 3
    for key, value, source in rows:
        click.echo(f"{f'{key} = {value}':<{width}}  # {source}")


def _render(path: tuple[str, ...], value: Any) -> str:
    from datetime import timedelta
    from enum import Enum

    from lanner.config.loader import secret_kind, shown
    from lanner.durations import format_duration
    from lanner.sizes import format_size
    from lanner.store.database import masked_url

    if secret_kind(path) == "url":
        return masked_url(value)
    if secret_kind(path) == "secret":
        return str(shown(path, value))
    if path == ("worker", "logs", "max_size_per_task"):
        return format_size(value)
    if path == ("worker", "run_as"):
        return value or "unset"
    if value is None:
        return "auto"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)
