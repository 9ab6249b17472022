"""Polling: the database is the one poll clock.

``feeds.next_poll`` (set by each poll: interval, jitter, backoff after failures,
Retry-After, Cache-Control, ``<ttl>``) says when a feed is due. One loop asks the state for
the due feeds (active, not disabled, ``next_poll <= now``), polls each under the one
`PollLimits` (the limiter and client `run --once` and `poll --once` use too), and sleeps
until the earliest next poll, or until woken (a poll ended, a reload changed the feeds, the
daemon stops), never longer than `POLL_TICK`, so a feed another instance added to the
shared state is seen within seconds.

With several instances on one database, the due feeds are claimed (`_select`: a lease
until now + ``database.lease``, renewed by the heartbeat, given back by the poll's final
write), so each feed is polled by one instance per interval; a feed another live instance
holds is left to it, and one whose holder died is taken once its lease has run out (seen
within a tick).

So a restart resumes the persisted schedule (a feed fetched a minute ago is not fetched
again, a feed in backoff stays in backoff), a feed disabled by 410 Gone is never due, and
a removed feed (inactive) neither. A feed is never polled twice at once: one still in
flight (a fetch slower than its interval) is not started again. A poll that could not
record its outcome (the state database failing) pauses polling for `STATE_PAUSE` seconds,
or the lease when shorter, rather than fetching the same feeds again at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from functools import partial

from watcher.ingest import poll
from watcher.ingest.feedstate import FeedRow
from watcher.logs import kv
from watcher.service.handlers.context import Context
from watcher.service.handlers.mail import Mail

log = logging.getLogger(__name__)

POLL_TICK = 5.0  # longest sleep: feeds due by another instance's hand are seen within it
DUE_BATCH = 500  # due feeds started per look; more are taken as polls end
STATE_PAUSE = 60.0  # after a poll whose outcome could not be stored


def polls_to_start(
    due: Sequence[FeedRow], inflight: Collection[str], configured: Collection[str]
) -> list[FeedRow]:
    """The due feeds to start now: configured here and not already in flight."""
    return [row for row in due if row.url not in inflight and row.url in configured]


def sleep_seconds(
    now: float, next_poll: float | None, *, resume_at: float = 0.0, tick: float = POLL_TICK
) -> float:
    """How long the loop sleeps: until the earliest next poll (None: nothing scheduled),
    not before ``resume_at`` (a pause), never longer than ``tick``."""
    wake_at = max(now + tick if next_poll is None else next_poll, resume_at)
    return min(max(0.0, wake_at - now), tick)


class PollLoop:
    def __init__(self, ctx: Context, mail: Mail, *, tick: float = POLL_TICK) -> None:
        self._ctx = ctx
        self._mail = mail
        self._tick = tick
        self._inflight: dict[str, asyncio.Task[None]] = {}  # feed URL -> its poll
        self._wake = asyncio.Event()
        self._resume_at = 0.0

    def wake(self) -> None:
        """Look at the clock again now (the feeds changed)."""
        self._wake.set()

    async def run(self, reason: str) -> None:
        """Poll what is due, sleep until the next is, until the daemon stops."""
        stopping = self._ctx.stopping
        while not stopping.is_set():
            self._wake.clear()
            now = time.time()
            try:
                delay = self._look(now)
            except Exception as exc:  # the state could not be read: try again a tick later
                self._ctx.controls.failed("poll", exc)
                delay = self._tick
            if delay > 0:
                await _first_set((self._wake, stopping), delay)

    def _look(self, now: float) -> float:
        """Start the due polls; return how long to sleep."""
        if now < self._resume_at:
            return sleep_seconds(now, None, resume_at=self._resume_at, tick=self._tick)
        due, next_poll = self._select(now, len(self._inflight) + DUE_BATCH)
        configured = self._ctx.current.get().loaded.feeds
        for row in polls_to_start(due, self._inflight, configured):
            self._start(row)
        return sleep_seconds(now, next_poll, resume_at=self._resume_at, tick=self._tick)

    def _select(self, now: float, limit: int) -> tuple[list[FeedRow], float | None]:
        """The one place that chooses which feeds this instance polls (due ones, at most
        ``limit``; in-flight ones among them) and when to look again.

        The due feeds are claimed for this instance until now + lease (its heartbeat renews
        them while they wait for a slot or are fetched): a feed another live instance holds
        is left to it. Claimed feeds not configured here (another instance's config has
        them) are given back at once."""
        instance = self._ctx.instance
        configured = self._ctx.current.get().loaded.feeds
        with self._ctx.store.transaction() as tx:
            claimed = tx.claim_due_feeds(instance.id, now, now + instance.lease, limit)
            for row in claimed:
                if row.url not in configured:
                    tx.release_feed(row.id, instance.id)
        with self._ctx.store.snapshot() as tx:
            return claimed, tx.next_due_poll(now)

    def _start(self, row: FeedRow) -> None:
        owner = self._ctx.instance.id  # who claimed it in `_select`, just now
        task = self._ctx.controls.run_job("poll", self._poll(row, owner), feed=row.url)
        self._inflight[row.url] = task
        task.add_done_callback(partial(self._finished, row.url))

    def _finished(self, url: str, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(url, None)
        self._wake.set()  # its next poll is recorded: maybe the earliest now

    async def _poll(self, row: FeedRow, owner: str) -> None:
        running = self._ctx.current.get()  # one consistent version for the whole poll
        loaded = running.loaded
        feed = loaded.feeds.get(row.url)
        if feed is None:
            self._give_back(row, owner)
            return
        async with running.polling.limits.slot(row.current_url):
            if self._ctx.stopping.is_set():  # queued behind the limits when SIGTERM came
                return
            now = time.time()
            try:
                fresh = self._still_due(row.url, now)
                if fresh is None:  # removed or disabled while it waited for its slot
                    self._give_back(row, owner)
                    return
                await poll.poll_row(
                    self._ctx.store,
                    fresh,
                    feed,
                    loaded.config,
                    loaded.compiled,
                    running.polling.client,
                    now,
                    self._ctx.workers,
                    lease_owner=owner,
                )
            except Exception:
                # nothing recorded: not at once; the database's own take-over time at most
                pause = min(STATE_PAUSE, self._ctx.instance.lease)
                self._resume_at = time.time() + pause
                log.warning("%s", kv(event="poll", result="paused", seconds=pause))
                raise
        await self._mail.alert_new_matches()
        self._ctx.controls.status_changed()

    def _give_back(self, row: FeedRow, owner: str) -> None:
        """A claimed feed this instance will not poll after all: the heartbeat would
        renew its lease forever."""
        with self._ctx.store.transaction() as tx:
            tx.release_feed(row.id, owner)

    def _still_due(self, url: str, now: float) -> FeedRow | None:
        with self._ctx.store.snapshot() as tx:
            row = tx.feed(url)
        if row is None or not row.active or row.disabled_at is not None or row.next_poll > now:
            return None
        return row


async def _first_set(events: Sequence[asyncio.Event], timeout: float) -> None:
    """Wait until one of ``events`` is set, at most ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
