"""One pass of the whole pipeline: `watcher run --once` (cron), and `watcher demo`.

Poll every feed once, match, queue alerts and a digest, then send everything pending,
retrying earlier failures at once (each run is a retry: cron's cadence is the backoff).
The exit code says how it went: 0; 69 (EX_UNAVAILABLE) when no feed could be polled; 75
(EX_TEMPFAIL) when mail stays queued. A state database that cannot take what was fetched
raises a `StateError` (65, 73 or 74) instead (`watcher.state.sqlite`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watcher.config import settings
from watcher.config.snapshot import Loaded, load
from watcher.errors import EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE
from watcher.ingest import poll
from watcher.lists.runner import rescreen_once, update_lists_once
from watcher.logs import kv
from watcher.notify import notifier
from watcher.progress import Report, Tick, no_tick, quiet
from watcher.service.instance import Instance, Registration, sole_writer
from watcher.state.interface import StateStore
from watcher.state.lock import StateLock
from watcher.state.open import open_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnceResult:
    feeds: int
    failed_feeds: int
    digest_id: str | None
    digest_matches: int  # matches the digest lists (0 when no digest was queued)
    digest_high: int  # of which high severity
    sent: int
    failed: int
    pending: int
    first_error: str = ""  # of the first failed feed: "url: reason"
    baseline_items: int = 0  # recorded on feeds' first polls, not mailed (no backfill)
    baseline_matches: int = 0  # matches among them (kept, not mailed)

    @property
    def no_feed_polled(self) -> bool:
        return self.feeds > 0 and self.failed_feeds == self.feeds

    @property
    def exit_code(self) -> int:
        if self.no_feed_polled:
            return EX_UNAVAILABLE
        return EX_TEMPFAIL if self.pending else EX_OK

    @property
    def problem(self) -> str:
        """One line saying why the exit code is not 0 ("" when it is)."""
        if self.no_feed_polled:
            return (
                f"no feed could be polled ({self.failed_feeds} of {self.feeds} failed; first: "
                f"{self.first_error}); see `watcher status` for each feed's error"
            )
        if self.pending:
            return (
                f"{self.pending} message(s) stay queued: the mail server did not take them "
                "(see the log above); the next run retries them"
            )
        return ""


async def run_once(
    config_path: Path | None,
    *,
    now: float | None = None,
    report: Report = quiet,
    tick: Tick = no_tick,
) -> OnceResult:
    """Poll every feed once, match, queue alerts and a digest, send everything pending.
    ``report`` hears the steps of loading the watchlists, ``tick`` each feed polled
    (`watcher.progress`)."""

    def clock() -> float:  # the injected time, else the wall clock (read afresh per step)
        return time.time() if now is None else now

    loaded = await asyncio.to_thread(load, config_path, None, report)
    config = loaded.config
    state_dir = settings.resolved_state_dir(config)
    with StateLock(state_dir):
        store = open_state(config)
        try:
            async with Registration.of(store, config, clock, sole=sole_writer(config)) as me:
                # official lists (lists:) due for an update first, so this run screens with
                # them (each host keeps its own files at the version the state records)
                loaded = await update_lists_once(store, loaded, clock())
                return await _once(store, loaded, clock, tick, me)
        finally:
            store.close()


async def _once(
    store: StateStore, loaded: Loaded, clock: Callable[[], float], tick: Tick, me: Instance
) -> OnceResult:
    config = loaded.config

    poll.sync_feeds(store, config, clock())
    results = await poll.poll_due(
        store,
        config,
        loaded.compiled,
        now=clock(),
        force=True,
        tick=tick,
        owner=me.id,
        lease=me.lease,
    )
    failures = [r for r in results if r.status not in ("ok", "not-modified")]
    rescreen_once(store, loaded, clock())  # stored news against newly listed entries
    notifier.queue_alerts(store, config, clock())
    digest_id = None
    if me.lead_for("digest", "once", clock()):  # beside daemons, the leader's work
        health = notifier.digest_health(store, config, clock())  # feeds and official lists
        digest_id = notifier.queue_digest(store, config, clock(), feed_health=health)
    with store.transaction() as tx:
        listed, high = tx.digest_counts(digest_id) if digest_id else (0, 0)
        # each run is a retry: cron's cadence is the backoff (never another's live claim)
        tx.retry_unsent_now(clock(), me.id)
    drained = await notifier.drain_outbox(
        store, config, clock(), owner=me.id, lease=me.lease, clock=clock
    )
    result = OnceResult(
        feeds=len(results),
        failed_feeds=len(failures),
        digest_id=digest_id,
        digest_matches=listed,
        digest_high=high,
        sent=drained.sent,
        failed=drained.failed,
        pending=drained.pending,
        first_error=f"{failures[0].url}: {failures[0].error}" if failures else "",
        baseline_items=sum(r.baseline_items for r in results),
        baseline_matches=sum(r.new_matches for r in results if r.baseline_items),
    )
    level = logging.WARNING if result.pending or failures else logging.INFO
    log.log(
        level,
        "%s",
        kv(
            event="once",
            feeds=result.feeds,
            failed_feeds=len(failures),
            digest=digest_id or "none",
            sent=result.sent,
            failed=result.failed,
            pending=result.pending,
        ),
    )
    return result
