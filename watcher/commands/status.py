"""`watcher status` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("status")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher status is not implemented yet")
