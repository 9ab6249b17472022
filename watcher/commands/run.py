"""`watcher run`: the daemon (under systemd), or one pass with ``--once`` (cron)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from watcher.commands import baseline_line, config_option
from watcher.errors import EXIT_CODES_HELP
from watcher.logs import for_journal
from watcher.progress import tally, terminal_report
from watcher.service.controller import Controller
from watcher.service.once import OnceResult, run_once


@click.command("run", epilog=EXIT_CODES_HELP)
@config_option("config_path")
@click.option(
    "--once",
    is_flag=True,
    help="Poll every feed once, send pending alerts and a digest, then exit: 0 when all went "
    "well, 69 when no feed could be polled, 75 (EX_TEMPFAIL) when mail could not be "
    "delivered yet.",
)
def command(config_path: Path | None, once: bool) -> None:
    """Run the monitor: poll feeds, match, mail alerts and digests.

    \b
    Signals: SIGHUP (or `watcher reload`) re-reads config and watchlists, keeping the old
    ones if the new ones are invalid; SIGUSR1 sends a digest now; SIGUSR2 retries queued
    mail now; SIGTERM stops cleanly (in-flight polls and sends get 10 s to finish).
    Edits to the config and watchlist files are picked up by themselves within seconds.
    """
    if once:
        with tally("polling feeds") as tick:
            result = asyncio.run(run_once(config_path, report=terminal_report(), tick=tick))
        report_once(result)
        sys.exit(result.exit_code)
    sys.exit(asyncio.run(Controller(config_path).run()))


def report_once(result: OnceResult) -> None:
    """What a person running `--once` by hand (or reading cron's mail) needs to know."""
    if result.baseline_items:
        click.echo(baseline_line(result.baseline_items, result.baseline_matches))
    if result.problem:
        level = logging.ERROR if result.no_feed_polled else logging.WARNING
        label = "error" if result.no_feed_polled else "warning"
        click.echo(for_journal(f"{label}: {result.problem}", level), err=True)
