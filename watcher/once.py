"""One pass of the whole pipeline: `watcher run --once` (cron), and `watcher demo`.

Poll every feed once, match, queue alerts and a digest, then send everything pending,
retrying earlier failures at once (each run is a retry: cron's cadence is the backoff).
The exit code says whether mail stayed queued: 0, or 75 (EX_TEMPFAIL).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from watcher import notify, poll, settings
from watcher.lists.health import lists_in_health
from watcher.lists.runner import rescreen_once, update_lists_once
from watcher.lock import StateLock
from watcher.logs import kv
from watcher.notice import FeedProblem
from watcher.snapshot import Loaded, load
from watcher.store import Store

log = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # sysexits.h: mail stays queued; cron or the operator tries again later


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

    @property
    def exit_code(self) -> int:
        return EX_TEMPFAIL if self.pending else 0


async def run_once(config_path: Path | None, *, now: float | None = None) -> OnceResult:
    """Poll every feed once, match, queue alerts and a digest, send everything pending."""
    loaded = await asyncio.to_thread(load, config_path)
    config = loaded.config
    state_dir = settings.resolved_state_dir(config)
    with StateLock(state_dir):
        store = Store(state_dir)
        try:
            # official lists (lists:) due for an update first, so this run screens with them
            loaded = await update_lists_once(store, loaded, time.time() if now is None else now)
            return await _once(store, loaded, now)
        finally:
            store.close()


async def _once(store: Store, loaded: Loaded, now: float | None) -> OnceResult:
    config = loaded.config

    def clock() -> float:
        return time.time() if now is None else now

    poll.sync_feeds(store, config, clock())
    results = await poll.poll_due(store, config, loaded.compiled, now=clock(), force=True)
    failed_feeds = sum(1 for r in results if r.status not in ("ok", "not-modified"))
    rescreen_once(store, loaded, clock())  # stored news against newly listed entries
    notify.queue_alerts(store, config, clock())
    health: list[poll.FeedHealth | FeedProblem] = [
        *poll.feed_health(store, config, clock()),
        *lists_in_health(config, store, clock()),  # failing or stale official lists
    ]
    digest_id = notify.queue_digest(store, config, clock(), feed_health=health)
    with store.transaction() as tx:
        listed, high = tx.digest_counts(digest_id) if digest_id else (0, 0)
        tx.retry_unsent_now(clock())  # each run is a retry: cron's cadence is the backoff
    drained = await notify.drain_outbox(store, config, clock())
    result = OnceResult(
        feeds=len(results),
        failed_feeds=failed_feeds,
        digest_id=digest_id,
        digest_matches=listed,
        digest_high=high,
        sent=drained.sent,
        failed=drained.failed,
        pending=drained.pending,
    )
    level = logging.WARNING if result.pending or failed_feeds else logging.INFO
    log.log(
        level,
        "%s",
        kv(
            event="once",
            feeds=result.feeds,
            failed_feeds=failed_feeds,
            digest=digest_id or "none",
            sent=result.sent,
            failed=result.failed,
            pending=result.pending,
        ),
    )
    return result
