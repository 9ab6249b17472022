"""`watcher send-test`: send one test message the configured way and show the server's reply."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.policy import SMTP
from pathlib import Path

import click

from watcher.commands.poll import CONFIG_OPTION
from watcher.config.schema import Config
from watcher.config.settings import load_config
from watcher.errors import WatcherError
from watcher.notify.mailer import Delivered, envelope_sender, mailer_for
from watcher.notify.notifier import new_message_id
from watcher.notify.render import RenderSettings, render_test_message


@click.command("send-test")
@CONFIG_OPTION
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="ADDR",
    help="Recipient (repeatable; default: email.to from the config).",
)
def command(config_path: Path | None, recipients: tuple[str, ...]) -> None:
    """Send a test message through the configured delivery path (SMTP or directory) and
    print exactly what the server answered (reply code and text)."""
    config = load_config(config_path)
    to = recipients or config.email.to
    if not to:
        raise WatcherError("no recipient: give --to ADDR or set email.to in the config")
    reply = asyncio.run(_send(config, to))
    where = (
        f"directory {config.email.directory}"
        if config.email.delivery == "directory"
        else f"SMTP {config.smtp.host}:{config.smtp.port} ({config.smtp.security})"
    )
    click.echo(f"{where} accepted the test message for {', '.join(to)}")
    click.echo(f"server reply: {reply}")
    for recipient, why in reply.refused.items():
        click.echo(f"refused {recipient}: {why}", err=True)
    if reply.refused:
        raise WatcherError(f"{len(reply.refused)} recipient(s) refused")


async def _send(config: Config, to: tuple[str, ...]) -> Delivered:
    now = time.time()
    settings = replace(
        RenderSettings.from_config(config, datetime.fromtimestamp(now, UTC)), recipients=to
    )
    message = render_test_message(settings, new_message_id(now))  # the outbox's ids
    data = message.as_bytes(policy=SMTP)
    async with mailer_for(config) as mailer:
        return await mailer.send(envelope_sender(config), to, data, str(message["Message-ID"]))
