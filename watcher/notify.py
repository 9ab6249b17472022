"""The notifier's orchestration: queue alerts and digests into the outbox, drain it.

The daemon calls these; so do `watcher digest` and `watcher run --once`. Times are unix
seconds (``now``) so callers share one clock. Rendering stays pure (`watcher.render`);
delivery I/O is `watcher.mailer`; the outbox mechanics are `watcher.outbox`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby

from watcher.config import Config
from watcher.logs import kv
from watcher.mailer import Mailer, envelope_sender, mailer_for
from watcher.notice import FeedProblem, PendingMatch
from watcher.outbox import DrainResult, drain, enqueue
from watcher.poll import FeedHealth
from watcher.render import DigestPart, RenderSettings, render_alert, split_digest
from watcher.store import Store, Transaction
from watcher.watchlist import Severity

__all__ = [
    "DrainResult",
    "drain_outbox",
    "feed_problems",
    "pending_count",
    "preview_digest",
    "prune_outbox",
    "queue_alerts",
    "queue_digest",
]

log = logging.getLogger(__name__)

SENT_RETENTION = 30 * 86400.0  # sent messages are kept this long (for `watcher status`)


def queue_alerts(store: Store, config: Config, now: float) -> int:
    """Queue one alert per article for new matches at or above `digest.alert_severity`.

    The matches stay pending for the next digest (which marks them "already alerted").
    Returns how many alert messages were queued.
    """
    severities = alert_severities(config)
    if not severities:
        return 0
    settings = _settings(config, now)
    queued = 0
    with store.transaction() as tx:
        matches = tx.unalerted_matches([str(s) for s in severities])
        for _, of_article in groupby(
            sorted(matches, key=lambda m: m.article_id), key=lambda m: m.article_id
        ):
            group = list(of_article)
            message = render_alert(group, settings, _new_id(now))
            enqueue(tx, "alert", message, config.email.to, now)
            tx.mark_alerted([m.id for m in group], now)
            queued += 1
    if queued:
        log.info("%s", kv(event="alerts-queued", alerts=queued, matches=len(matches)))
    return queued


def queue_digest(
    store: Store,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
) -> str | None:
    """Render the pending matches as a digest, queue it and mark them, in one transaction.

    Returns the digest id, or None when nothing is pending (and `digest.send_empty` is off).
    """
    settings = _settings(config, now)
    problems = feed_problems(feed_health, now)
    with store.transaction() as tx:
        pending = tx.pending_matches()
        if not pending and not config.digest.send_empty:
            return None
        digest_id = _new_id(now)
        parts = split_digest(pending, problems, settings, digest_id, _new_entries(tx, pending))
        for part in parts:
            enqueue(tx, "digest", part.message, config.email.to, now)
            tx.mark_digested(part.match_ids, digest_id)
    left_over = parts[-1].left_over
    log.info(
        "%s",
        kv(
            event="digest-queued",
            digest_id=digest_id,
            matches=len(pending) - left_over,
            parts=len(parts),
            left_for_next=left_over,
        ),
    )
    return digest_id


def preview_digest(
    store: Store,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
) -> list[DigestPart]:
    """The digest `queue_digest` would queue now, without queueing or marking anything."""
    with store.transaction() as tx:
        pending = tx.pending_matches()
        new_entries = _new_entries(tx, pending)
    problems = feed_problems(feed_health, now)
    return split_digest(pending, problems, _settings(config, now), "preview", new_entries)


async def drain_outbox(
    store: Store, config: Config, now: float, mailer: Mailer | None = None
) -> DrainResult:
    """Try every due outbox message once (SMTP or directory, as configured)."""

    def open_mailer() -> Mailer:
        return mailer if mailer is not None else mailer_for(config)

    return await drain(store, open_mailer, envelope_sender(config), now, config.smtp.timeout)


def pending_count(store: Store) -> int:
    """Messages in the outbox not yet accepted by a server."""
    with store.transaction() as tx:
        return tx.unsent_count()


def prune_outbox(store: Store, now: float, keep: float = SENT_RETENTION) -> int:
    """Forget sent messages older than `keep` seconds (unsent ones are never pruned)."""
    with store.transaction() as tx:
        return tx.prune_sent_messages(now - keep)


def pending_matches(store: Store) -> list[PendingMatch]:
    with store.transaction() as tx:
        return tx.pending_matches()


def alert_severities(config: Config) -> list[Severity]:
    if config.digest.alert_severity == "none":
        return []
    floor = Severity(config.digest.alert_severity).rank
    return [s for s in Severity if s.rank >= floor]


def feed_problems(health: Sequence[FeedHealth | FeedProblem], now: float) -> list[FeedProblem]:
    """The feeds worth a line in the digest (failing, disabled, stale), as render values."""
    problems = []
    for item in health:
        if isinstance(item, FeedProblem):
            problems.append(item)
        elif item.state != "ok":
            problems.append(
                FeedProblem(
                    name=item.name,
                    url=item.url,
                    state=item.state,
                    detail=_health_detail(item, now),
                    since=None if item.since is None else datetime.fromtimestamp(item.since, UTC),
                )
            )
    return problems


def _health_detail(item: FeedHealth, now: float) -> str:
    if item.state == "stale" and item.last_new_item is not None:
        days = (now - item.last_new_item) / 86400
        return f"no new item for {days:.0f} days"
    return item.last_error or ""


def _new_entries(tx: Transaction, pending: Sequence[PendingMatch]) -> frozenset[str]:
    """Keys of the pending entries that no earlier digest listed (first-time mentions)."""
    keys = {(m.list_name, m.entry_id) for m in pending}
    seen = tx.digested_entries(sorted(keys))
    return frozenset(f"{list_name}/{entry_id}" for list_name, entry_id in keys - seen)


def _settings(config: Config, now: float) -> RenderSettings:
    return RenderSettings.from_config(config, datetime.fromtimestamp(now, UTC))


def _new_id(now: float) -> str:
    """Unique and sortable: UTC time plus randomness (also the Message-ID's local part)."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"
