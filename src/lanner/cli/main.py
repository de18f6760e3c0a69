"""The ``lanner`` entry point: the command tree, and how failures become exit codes.

Expected failures (:class:`~lanner.errors.LannerError`) print what happened and how
to fix it, and exit with their documented code (``docs/cli.md``); only unexpected
ones are internal errors (exit 1), with the traceback shown at DEBUG level or below.
"""

from __future__ import annotations

import sys

import click

from lanner.cli.backups import backups
from lanner.cli.common import CONTEXT_SETTINGS
from lanner.cli.configs import configs
from lanner.cli.flow import flow
from lanner.cli.server import server
from lanner.cli.sys import sys_group
from lanner.cli.trigger import trigger


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from lanner import version

        click.echo(f"lanner {version()}")
        ctx.exit()


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option(
    "-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
    help="Print Lanner's version and exit.",
)
def cli() -> None:
    """Lanner: a Kestra-compatible orchestrator whose upgrades never lose work.

    Every command takes -c/--config, -l/--log-level, -v, --internal-log and -p/--plugins.
    Exit codes are listed in docs/cli.md.
    """


cli.add_command(backups)
cli.add_command(configs)
cli.add_command(flow)
cli.add_command(server)
cli.add_command(sys_group)
cli.add_command(trigger)


def main(argv: list[str] | None = None) -> None:
    from lanner.errors import ExitCode, LannerError

    try:
        cli.main(args=argv, prog_name="lanner", standalone_mode=False)
    except LannerError as exc:
        _fail(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: say so plainly, traceback only when asked for
        import logging

        logging.getLogger("lanner").debug("internal error", exc_info=True)
        _fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "This is a bug in Lanner. Run again with -l DEBUG to see the traceback, and report it.",
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)


def _fail(message: str, hint: str | None) -> None:
    click.secho(f"Error: {message}", err=True, fg="red")
    if hint:
        click.echo(hint, err=True)
