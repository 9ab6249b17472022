"""Mail: the digest (on schedule, on SIGUSR1, caught up after downtime), alerts after each
poll, the outbox drain and "retry mail now" (SIGUSR2).

Digests and alerts are read, rendered and committed in the ``notify`` worker thread on a
connection of their own (`notifier.queue_digest_async`): the loop only awaits, so a
4,000-match digest stalls neither polls nor pings. Alert passes and drains coalesce: a call
while one runs asks for one more pass rather than running a second one beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from watcher.logs import kv
from watcher.notify import notifier
from watcher.service.handlers.context import Context
from watcher.service.instance import heartbeat_interval
from watcher.service.jobs import digest_missed, previous_fire_time

log = logging.getLogger(__name__)

TAKEOVER_SLACK = 1.0  # seconds past the dead leader's latest possible claim expiry


class Mail:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._drain_lock = asyncio.Lock()
        self._drain_wanted = False
        self._alerts_lock = asyncio.Lock()
        self._alerts_wanted = False

    async def digest_now(self, reason: str) -> None:
        """Queue a digest of the pending matches and send it: on the leader only (the
        cron, SIGUSR1, a catch-up); elsewhere a logged no-op naming the leader."""
        config, now = self._ctx.current.get().loaded.config, time.time()
        if not self._ctx.instance.lead_for("digest", reason, now):
            return
        store = self._ctx.store
        health = notifier.digest_health(store, config, now)
        digest_id = await notifier.queue_digest_async(
            store, config, now, feed_health=health, executor=self._ctx.notify_workers
        )
        log.info("%s", kv(event="digest", reason=reason, queued=digest_id or "nothing-pending"))
        await self.drain()

    def catch_up(self, now: datetime) -> None:
        """A digest missed while the daemon was down (host rebooting at 07:00), or while
        no instance led (the leader died before queueing it), goes out now, not a day late:
        called at start and whenever this instance becomes the leader. Decided from the
        state alone (the last digest queued, the oldest pending match), never from memory."""
        (spec,) = [s for s in self._ctx.current.get().loaded.specs if s.kind == "digest"]
        due = previous_fire_time(spec, now)
        with self._ctx.store.snapshot() as tx:
            last = tx.last_queued_at("digest")
            oldest = tx.oldest_pending_found_at()
        if due is not None and digest_missed(due, last, oldest):
            log.info("%s", kv(event="digest", reason="catch-up", due=due.isoformat()))
            self._ctx.controls.spawn(self.digest_now, "catch-up")

    def became_leader(self, now: datetime) -> None:
        """This instance took the lead: catch up a digest the previous leader missed, and
        drain for the mail a dead leader had claimed (its digest): its claims ran out with
        its leadership (its heartbeat renewed both), or up to a heartbeat later (a claim
        taken after its last heartbeat). So: drain now, and once more then."""
        self.catch_up(now)
        self._ctx.controls.spawn(self._drain_after_takeover, "leader")

    async def _drain_after_takeover(self, reason: str) -> None:
        await self.drain()
        later = heartbeat_interval(self._ctx.instance.lease) + TAKEOVER_SLACK
        try:  # a stop does not wait for this
            await asyncio.wait_for(self._ctx.stopping.wait(), later)
        except TimeoutError:
            await self.drain()

    async def alert_new_matches(self) -> None:
        """Queue alerts for new severe matches and, when any were queued, send them now."""
        if await self.queue_alerts():
            self._ctx.controls.spawn(self.drain_now, "alert")

    async def queue_alerts(self) -> int:
        """Queue alerts for new severe matches (off the loop). One pass at a time:
        concurrent calls coalesce into one more pass, whose alerts the running call counts
        (two passes rendering the same matches would only conflict at commit)."""
        self._alerts_wanted = True
        if self._alerts_lock.locked():
            return 0
        queued = 0
        async with self._alerts_lock:
            while self._alerts_wanted:
                self._alerts_wanted = False
                config = self._ctx.current.get().loaded.config
                queued += await notifier.queue_alerts_async(
                    self._ctx.store, config, time.time(), self._ctx.notify_workers
                )
        return queued

    async def drain_now(self, reason: str) -> None:
        await self.drain()

    async def drain(self) -> None:
        """Send what the outbox holds; concurrent calls coalesce into one more pass. Any
        instance drains: messages are claimed for this instance (until now + lease, renewed
        by its heartbeat), each batch at the time it is claimed, so mail a dead instance had
        claimed is taken over once its claim runs out."""
        self._drain_wanted = True
        if self._drain_lock.locked():
            return
        async with self._drain_lock:
            while self._drain_wanted:
                self._drain_wanted = False
                config = self._ctx.current.get().loaded.config
                instance = self._ctx.instance
                result = await notifier.drain_outbox(
                    self._ctx.store,
                    config,
                    time.time(),
                    owner=instance.id,
                    lease=instance.lease,
                    clock=time.time,
                )
                if result.sent or result.failed:
                    log.info(
                        "%s",
                        kv(
                            event="drain",
                            sent=result.sent,
                            failed=result.failed,
                            pending=result.pending,
                        ),
                    )
        self._ctx.controls.status_changed()

    async def retry_mail_now(self, reason: str) -> None:
        """Send every queued message now, ignoring its backoff (the mail server is back)."""
        async with self._drain_lock:  # no drain of ours in flight: lifting our claims is safe
            with self._ctx.store.transaction() as tx:
                # never the live claim of another instance: it may be sending that one now
                count = tx.retry_unsent_now(time.time(), self._ctx.instance.id)
        log.info("%s", kv(event="retry-mail", reason=reason, messages=count))
        await self.drain()
