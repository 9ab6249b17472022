"""`watcher demo`: run the whole pipeline on bundled sample feeds, offline."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from watcher import demo


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-run"),
    show_default=True,
    help="Where to write the demo's config, feeds, watchlists, state and outbox.",
)
def command(directory: Path) -> None:
    """Poll three bundled sample feeds, match two sample watchlists, write the mail.

    Needs no network and no mail server: the feeds are read as file:// URLs and the
    digest and alerts are written as .eml files (plus an .html copy of the digest).
    """
    # one "sent" line per alert would bury the summary; the files are the demo's output
    logging.getLogger("watcher.notify.outbox").setLevel(logging.WARNING)
    result = demo.run(directory)
    for line in demo.summary(result):
        click.echo(line)
