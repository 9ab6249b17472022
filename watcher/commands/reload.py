"""`watcher reload` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("reload")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher reload is not implemented yet")
