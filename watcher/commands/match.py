"""`watcher match` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("match")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher match is not implemented yet")
