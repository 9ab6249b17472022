"""`watcher run`: the daemon (under systemd), or one pass with ``--once`` (cron)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from watcher.commands import config_option
from watcher.daemon import Daemon
from watcher.once import run_once


@click.command("run")
@config_option("config_path")
@click.option(
    "--once",
    is_flag=True,
    help="Poll every feed once, send pending alerts and a digest, then exit: 0 when nothing "
    "stays queued, 75 (EX_TEMPFAIL) when mail could not be delivered yet.",
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
        result = asyncio.run(run_once(config_path))
        sys.exit(result.exit_code)
    sys.exit(asyncio.run(Daemon(config_path).run()))
