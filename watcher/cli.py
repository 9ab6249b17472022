"""The `watcher` command line. Each verb lives in `watcher.commands.<verb>`.

`WatcherError` is caught here, once: its message is printed to stderr and its exit code used.
Logging is configured here too (never at import time).
"""

from __future__ import annotations

import logging
import sys

import click

from watcher import __version__
from watcher.commands import (
    check,
    demo,
    digest,
    import_,
    lists,
    match,
    poll,
    reload,
    run,
    send_test,
    state,
    status,
)
from watcher.errors import WatcherError
from watcher.logs import configure_logging, for_journal

LOG_LEVELS = ["debug", "info", "warning", "error"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    help="Least severe log level printed to stderr.",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str) -> None:
    """sanctions-watch: find watchlist entities in news feeds, mail digests and alerts."""
    ctx.obj = {"log_level": log_level}
    configure_logging(log_level)


for _module in (check, match, poll, status, digest, send_test, import_, run, reload, demo):
    cli.add_command(_module.command)
cli.add_command(lists.command)
cli.add_command(state.command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="watcher", standalone_mode=False)
    except WatcherError as exc:
        click.echo(for_journal(f"error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # `watcher match --json ... | head` closes the pipe early; that is not an error
        sys.stderr.close()
        sys.exit(0)
    logging.shutdown()
