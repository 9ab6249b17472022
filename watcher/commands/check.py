"""`watcher check` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("check")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher check is not implemented yet")
