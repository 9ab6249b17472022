"""`watcher lists diff OLD NEW` and `watcher lists update --now`: the official lists that
``lists:`` keeps current.

`update --now` runs every configured list's update at once (not waiting for ``every``), prints
what changed, back-screens the stored articles against newly listed entries, and exits 0, or 1
naming every list that could not be updated (the list in force stays for those). A running
daemon notices the rewritten list files by itself (its file watcher) and reloads.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click

from watcher.commands import config_option
from watcher.config.schema import Config
from watcher.config.settings import load_config, load_watchlist_file, resolved_state_dir
from watcher.errors import WatcherError
from watcher.ingest.fetch import make_client
from watcher.lists.diff import diff_entries, format_diff
from watcher.lists.rescreen import rescreen_pending
from watcher.lists.update import ListUpdateResult, list_fetch_limits, update_due
from watcher.state.interface import StateStore
from watcher.state.open import open_state


@click.group("lists")
def command() -> None:
    """Official lists kept current by the config's lists: section."""


@command.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Show at most N entries per group."
)
def diff_command(old: Path, new: Path, as_json: bool, limit: int | None) -> None:
    """Entries added, removed and changed (names, aliases, programs) from OLD to NEW (two
    watchlist files, e.g. two versions of <state_dir>/lists/ofac.yaml)."""
    before, after = load_watchlist_file(old), load_watchlist_file(new)
    diff = diff_entries(after.name, before.entries, after.entries)
    click.echo(diff.to_json() if as_json else format_diff(diff, limit))


@command.command("update")
@click.option("--now", "now_flag", is_flag=True, help="Update every configured list now.")
@config_option()
def update_command(now_flag: bool, config_path: Path | None) -> None:
    """Download, check and swap in every list of the config's lists: section now; print the
    counts. Exit 0, or 1 naming the lists that could not be updated."""
    if not now_flag:
        raise click.UsageError("pass --now (scheduled updates are `watcher run`'s job)")
    config = load_config(config_path)
    if not config.lists:
        raise WatcherError("no lists: section in the config; nothing to update")
    state_dir = resolved_state_dir(config)
    store = open_state(config)
    try:
        now = time.time()
        results = asyncio.run(_update(config, store, state_dir, now))
        rescreened = rescreen_pending(store, config, state_dir, now)
    finally:
        store.close()
    for result in results:
        click.echo(_line(result))
        for note in result.notes:
            click.echo(f"  note: {note}")
    if rescreened:
        click.echo(f"back-screening: {rescreened} match(es) of newly listed entries in stored news")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        names = ", ".join(f"{r.name} ({r.error})" for r in failed)
        raise WatcherError(f"could not update: {names}; the lists in force are kept")


async def _update(
    config: Config, store: StateStore, state_dir: Path, now: float
) -> list[ListUpdateResult]:
    client = make_client(list_fetch_limits(config))
    try:
        return await update_due(config, store, state_dir, client, now, force=True)
    finally:
        await client.aclose()


def _line(result: ListUpdateResult) -> str:
    if result.status == "failed":
        return (
            f"{result.name}: FAILED, list in force kept ({result.entries} entries): {result.error}"
        )
    if result.status == "updated" and result.diff is not None:
        return f"{result.name}: updated, {result.entries} entries; {result.diff.counts()}"
    return f"{result.name}: {result.status}, {result.entries} entries"
