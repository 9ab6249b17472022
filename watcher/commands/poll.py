"""`watcher poll --once`: poll due feeds once, store articles and matches, print a summary.

Exit status is non-zero only for configuration (or state) errors; feed failures are part of
the summary, since one unreachable feed is business as usual for a poller.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from watcher.commands import baseline_line, config_option
from watcher.config.indexcache import compile_lists
from watcher.config.schema import Config
from watcher.config.settings import load_config, resolved_state_dir
from watcher.ingest.poll import FeedPollResult, poll_due, prune, sync_feeds
from watcher.lists.update import screened_watchlists
from watcher.matching import CompiledWatchlists
from watcher.progress import Report, Tick, quiet, tally, terminal_report
from watcher.service.instance import Registration, sole_writer
from watcher.state.interface import StateStore
from watcher.state.lock import AlreadyRunningError, StateLock, lock_holder
from watcher.state.open import open_state

CONFIG_OPTION = config_option()


@click.command("poll")
@click.option(
    "--once", is_flag=True, help="Poll the due feeds once and exit (`watcher run` polls on)."
)
@click.option("--all", "poll_all", is_flag=True, help="Poll every feed, due or not.")
@CONFIG_OPTION
def command(once: bool, poll_all: bool, config_path: Path | None) -> None:
    """Poll feeds once: store new articles and matches, print a per-feed summary."""
    if not once:
        raise click.UsageError("pass --once (continuous polling is `watcher run`)")
    config = load_config(config_path)
    state_dir = resolved_state_dir(config)
    with single_writer(state_dir, "watcher poll --once", POLL_INSTEAD):
        compiled = compile_config_watchlists(config, terminal_report())
        store = open_state(config)
        try:
            now = time.time()
            sync_feeds(store, config, now)
            with tally("polling feeds") as tick:
                polling = _poll_claimed(store, config, compiled, now, poll_all=poll_all, tick=tick)
                results = asyncio.run(polling)
            pruned = prune(store, config, now)
        finally:
            store.close()
    click.echo(format_summary(results, now))
    baseline = sum(r.baseline_items for r in results)
    if baseline:
        click.echo(baseline_line(baseline, sum(r.new_matches for r in results if r.baseline_items)))
    if pruned:
        click.echo(f"pruned {pruned} old article(s)")


POLL_INSTEAD = "it polls the feeds itself; `watcher status` shows what it found"


async def _poll_claimed(
    store: StateStore,
    config: Config,
    compiled: CompiledWatchlists,
    now: float,
    *,
    poll_all: bool,
    tick: Tick,
) -> list[FeedPollResult]:
    """`poll_due` as a registered instance: the due feeds are claimed (and renewed while
    it runs), so instances sharing a PostgreSQL state poll none of them at the same time."""
    async with Registration.of(store, config, sole=sole_writer(config)) as me:
        return await poll_due(
            store, config, compiled, now=now, force=poll_all, tick=tick, owner=me.id, lease=me.lease
        )


@contextlib.contextmanager
def single_writer(state_dir: Path, command: str, instead: str) -> Iterator[None]:
    """Hold the state directory's single-writer lock (`StateLock`, the daemon's) while
    ``command`` changes the state; refused, saying what to do ``instead``, while a daemon
    holds it."""
    lock = StateLock(state_dir)
    try:
        lock.acquire()
    except AlreadyRunningError:
        raise AlreadyRunningError(
            f"{command}: a watcher ({lock_holder(lock.path)}) is running on state directory "
            f"{state_dir} and holds its lock {lock.path}; {instead}. To run {command} by hand, "
            "stop the daemon first (systemctl stop sanctions-watch)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def compile_config_watchlists(config: Config, report: Report = quiet) -> CompiledWatchlists:
    """The config's watchlists and ignore lists, compiled for the matcher (from the index
    cache in the state directory when current)."""
    matching = config.matching
    state_dir = resolved_state_dir(config)
    watchlists = screened_watchlists(config, state_dir)  # lists: outputs are screened too
    lists = compile_lists(watchlists, matching.ignore, matching.threshold, state_dir, report)
    return lists.compiled


def when(timestamp: float | None, now: float | None = None) -> str:
    """A UTC time for humans, with the distance from ``now`` when given."""
    if timestamp is None:
        return "-"
    text = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if now is None:
        return text
    delta = timestamp - now
    return (
        f"{text} ({'in ' if delta >= 0 else ''}{_span(abs(delta))}{'' if delta >= 0 else ' ago'})"
    )


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def format_summary(results: list[FeedPollResult], now: float) -> str:
    if not results:
        return "no feed due (use --all to poll every feed now)"
    lines = [f"{'STATUS':<13} {'NEW':>4} {'MATCHES':>7}  {'NEXT POLL':<36} FEED"]
    for r in sorted(results, key=lambda r: r.url):
        counts = f"{r.new_items:>4} {r.new_matches:>7}"
        lines.append(f"{r.status:<13} {counts}  {when(r.next_poll, now):<36} {r.url}")
        if r.error:
            lines.append(f"{'':<13} {r.error}")
    failed = sum(1 for r in results if r.status in ("failed", "refused", "disabled"))
    lines.append(
        f"{len(results)} feed(s) polled, {failed} not ok, "
        f"{sum(r.new_items for r in results)} new item(s), "
        f"{sum(r.new_matches for r in results)} new match(es)"
    )
    return "\n".join(lines)
