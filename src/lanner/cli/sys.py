"""``lanner sys``: system maintenance commands (database, and later maintenance mode, upgrades)."""

from __future__ import annotations

import click

from lanner.cli.common import CONTEXT_SETTINGS
from lanner.cli.sys_cluster import cluster
from lanner.cli.sys_database import database
from lanner.cli.sys_maintenance import maintenance
from lanner.cli.sys_upgrade import upgrade


@click.group("sys", context_settings=CONTEXT_SETTINGS)
def sys_group() -> None:
    """System maintenance: the database schema and migrations, the cluster's instances, maintenance mode, upgrades."""


sys_group.add_command(database)
sys_group.add_command(cluster)
sys_group.add_command(maintenance)
sys_group.add_command(upgrade)
