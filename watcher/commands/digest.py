"""`watcher digest` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("digest")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher digest is not implemented yet")
