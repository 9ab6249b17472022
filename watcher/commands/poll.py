"""`watcher poll` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("poll")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher poll is not implemented yet")
