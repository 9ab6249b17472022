"""`watcher reload`: ask the running daemon to re-read its config and watchlists (SIGHUP)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from watcher.commands import config_option
from watcher.config.settings import load_config, resolved_state_dir
from watcher.errors import WatcherError
from watcher.state.lock import running_pid


@click.command("reload")
@config_option(
    "config_path",
    help_text=(
        "Config file of the daemon to reload (it names the state_dir holding the daemon's PID)."
    ),
)
def command(config_path: Path | None) -> None:
    """Signal the daemon running on this config's state_dir to reload (SIGHUP).

    The daemon validates the new files first; if they are invalid it logs every problem
    (file:line:col) and keeps running with the previous version. Under systemd,
    `systemctl reload sanctions-watch` does the same.
    """
    state_dir = resolved_state_dir(load_config(config_path))
    pid = running_pid(state_dir)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise WatcherError(
            f"the watcher with PID {pid} has just exited; nothing to reload"
        ) from None
    except PermissionError:
        raise WatcherError(
            f"not allowed to signal PID {pid} (it runs as another user); "
            "use `systemctl reload sanctions-watch` or run this as that user"
        ) from None
    click.echo(f"reload requested: SIGHUP sent to PID {pid} (state_dir {state_dir})")
