"""`watcher send-test` (placeholder: to be written)."""

from __future__ import annotations

import click

from watcher.errors import WatcherError


@click.command("send-test")
def command() -> None:
    """Not written yet."""
    raise WatcherError("watcher send-test is not implemented yet")
