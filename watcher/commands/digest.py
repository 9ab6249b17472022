"""`watcher digest`: preview the pending digest, or queue and send it now."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import click

from watcher.commands.poll import CONFIG_OPTION, single_writer
from watcher.config.schema import Config
from watcher.config.settings import load_config, resolved_state_dir
from watcher.errors import WatcherError
from watcher.notify import notifier
from watcher.notify.render import DigestPart
from watcher.service.instance import Registration, sole_writer
from watcher.state.interface import StateStore
from watcher.state.leases import LEADER
from watcher.state.open import open_state


@click.command("digest")
@CONFIG_OPTION
@click.option("--preview", is_flag=True, help="Render the pending digest; send and mark nothing.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With --preview: write the HTML part to FILE (extra parts to FILE.partN.html).",
)
@click.option(
    "--text",
    "show_text",
    is_flag=True,
    help="With --preview: print the text part (the default unless --html is given).",
)
@click.option(
    "--send", is_flag=True, help="Queue the pending matches as a digest now and send the outbox."
)
def command(
    config_path: Path | None, preview: bool, html_path: Path | None, show_text: bool, send: bool
) -> None:
    """Preview (--preview) or send (--send) the digest of matches not mailed yet."""
    if preview == send:
        raise click.UsageError("give exactly one of --preview or --send")
    if (html_path or show_text) and not preview:
        raise click.UsageError("--html and --text go with --preview")
    config = load_config(config_path)
    state_dir = resolved_state_dir(config)
    if send:
        with single_writer(state_dir, "watcher digest --send", SEND_INSTEAD):
            _with_store(config, lambda store: _send_now(store, config, time.time()))
    else:
        show_text = show_text or html_path is None
        _with_store(config, lambda store: _preview(store, config, html_path, show_text))


async def _as_leader(store: StateStore, config: Config, now: float) -> notifier.DrainResult:
    """Queue the digest and drain the outbox as a registered instance holding the leader
    role for the run (instances on other hosts sharing a PostgreSQL state build digests
    only as leader); refused, naming the leader, when a live instance leads."""
    async with Registration.of(store, config, sole=sole_writer(config)) as me:
        if not me.lead(now):
            raise WatcherError(_led_elsewhere(store, now))
        health = notifier.digest_health(store, config, now)
        digest_id = notifier.queue_digest(store, config, now, feed_health=health)
        click.echo(f"digest: {digest_id or 'nothing pending, none queued'}")
        return await notifier.drain_outbox(store, config, now, owner=me.id, lease=me.lease)


def _led_elsewhere(store: StateStore, now: float) -> str:
    with store.snapshot() as tx:
        leader = next((i for i in tx.instances(now) if LEADER in i.roles), None)
    who = (
        "another instance" if leader is None else f"{leader.id} (PID {leader.pid} on {leader.host})"
    )
    return (
        f"watcher digest --send: {who} leads the digest on this state and sends digests "
        f"itself; to send one now, signal it on its host: "
        "systemctl kill -s SIGUSR1 sanctions-watch (`watcher status` lists the instances)"
    )


SEND_INSTEAD = (
    "it sends digests itself; to send one now, signal it: "
    "systemctl kill -s SIGUSR1 sanctions-watch (or kill -USR1 with its PID)"
)


def _with_store(config: Config, work: Callable[[StateStore], None]) -> None:
    store = open_state(config)
    try:
        work(store)
    finally:
        store.close()


def _preview(store: StateStore, config: Config, html_path: Path | None, show_text: bool) -> None:
    """Render what a digest would hold now; changes nothing."""
    now = time.time()
    health = notifier.digest_health(store, config, now)
    parts = notifier.preview_digest(store, config, now, feed_health=health)
    _show_preview(parts, html_path, show_text)
    if not any(p.match_ids for p in parts) and not config.digest.send_empty:
        click.echo("nothing pending: no digest would be sent now", err=True)


def _show_preview(parts: list[DigestPart], html_path: Path | None, text: bool) -> None:
    for part in parts:
        message = part.message
        if text:
            body = message.get_body(("plain",))
            assert body is not None
            if part.parts > 1:
                click.echo(f"===== part {part.part} of {part.parts} =====")
            click.echo(f"Subject: {message['Subject']}\n")
            click.echo(body.get_content().replace("\r\n", "\n"), nl=False)
        if html_path is not None:
            target = (
                html_path if part.part == 1 else html_path.with_suffix(f".part{part.part}.html")
            )
            html = message.get_body(("html",))
            assert html is not None
            try:
                target.write_text(html.get_content().replace("\r\n", "\n"), encoding="utf-8")
            except OSError as exc:
                raise WatcherError(f"--html: cannot write {target}: {exc.strerror}") from exc
            click.echo(f"wrote {target}", err=True)


def _send_now(store: StateStore, config: Config, now: float) -> None:
    result = asyncio.run(_as_leader(store, config, now))
    click.echo(f"outbox: sent {result.sent}, failed {result.failed}, pending {result.pending}")
    if result.failed:
        for error in dict.fromkeys(result.errors):
            click.echo(f"  {error}", err=True)
        raise WatcherError(
            f"{result.failed} message(s) not delivered; they stay queued and are retried "
            "with backoff by the daemon (or the next `watcher digest --send`)"
        )
