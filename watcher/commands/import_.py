"""`watcher import` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("import")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher import is not implemented yet")
