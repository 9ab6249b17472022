"""`watcher run` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("run")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher run is not implemented yet")
