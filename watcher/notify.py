"""The notifier's orchestration: queue alerts and digests into the outbox, drain it.

The daemon calls these; so do `watcher digest` and `watcher run --once`. Times are unix
seconds (``now``) so callers share one clock. Rendering stays pure (`watcher.render`);
delivery I/O is `watcher.mailer`; the outbox mechanics are `watcher.outbox`.

Queueing is three steps, so that rendering (up to a CPU-second for a big digest: trial
renders to fit each part under ``digest.max_bytes``) holds no database lock:

1. read: a read-only snapshot (`Store.snapshot`: WAL, blocks no writer) of the pending
   matches and, for a digest, of the entries no earlier digest listed;
2. render: a pure function of what was read, down to the exact bytes to store;
3. commit: one short write transaction stores the messages and marks exactly the matches
   they list, check-and-set (`Transaction.mark_digested` / `mark_alerted` only mark matches
   still pending, set-wise). If any listed match is no longer pending (another digest or
   alert pass got it meanwhile), the transaction rolls back, the render is discarded, and
   the whole thing is tried once more from a fresh read; a second conflict leaves the
   matches pending for the next run and says so in the log.

"Message stored" and "matches marked" are therefore one atomic step: an exception or a crash
before it leaves everything pending (nothing lost); no match is ever marked by two digests
(nothing listed twice). Matches recorded while a digest renders are not in it and stay
pending for the next one.

The async variants (`queue_digest_async`, `queue_alerts_async`: the daemon) run all three
steps in a worker thread on a connection of their own (`Store.another_connection`), not just
the render: the sqlite3 module releases the GIL at every row it steps, so while parsing and
matching threads are busy each row read on the loop thread waits to get the GIL back.
Measured: reading 4,000 pending matches takes 60 ms on an idle loop thread but 560-600 ms
with three busy threads, a stall as long as the render it was meant to avoid. The loop now
only awaits; its own writes meanwhile wait at most for the short commit.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import SMTP
from functools import partial
from itertools import groupby
from typing import TypeVar

from watcher.config import Config
from watcher.logs import kv
from watcher.mailer import Mailer, envelope_sender, mailer_for
from watcher.notice import FeedProblem, PendingMatch
from watcher.outbox import DrainResult, drain
from watcher.poll import FeedHealth
from watcher.render import (
    NO_HISTORY,
    DigestPart,
    MentionHistory,
    RenderSettings,
    chart_window,
    render_alert,
    split_digest,
)
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
    "queue_alerts_async",
    "queue_digest",
    "queue_digest_async",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SENT_RETENTION = 30 * 86400.0  # sent messages are kept this long (for `watcher status`)
ATTEMPTS = 2  # read-render-commit rounds before a conflict is left for the next run


@dataclass(frozen=True)
class Outgoing:
    """One rendered message, as the bytes to store, and the matches it lists."""

    kind: str
    message_id: str
    data: bytes
    match_ids: tuple[int, ...]


@dataclass(frozen=True)
class RenderedDigest:
    digest_id: str
    messages: tuple[Outgoing, ...]
    left_over: int  # pending matches that did not fit in any part


@dataclass(frozen=True)
class DigestInput:
    """What one read snapshot saw: the pending matches and the entries new to digests."""

    pending: tuple[PendingMatch, ...]
    new_entries: frozenset[str]
    history: MentionHistory = NO_HISTORY  # the entries' mentions per day, for the charts


class _ConflictError(Exception):
    """A listed match was no longer pending at commit: roll back, render again."""


# --- alerts -----------------------------------------------------------------------------------


def queue_alerts(store: Store, config: Config, now: float) -> int:
    """Queue one alert per article for new matches at or above `digest.alert_severity`.

    The matches stay pending for the next digest (which marks them "already alerted").
    Returns how many alert messages were queued.
    """
    for _ in range(ATTEMPTS):
        matches = _read_unalerted(store, config)
        if not matches:
            return 0
        outgoing = render_alerts(matches, _settings(config, now), now)
        if _commit(store, config, outgoing, now, partial(_mark_alerted, at=now)):
            return _alerts_queued(outgoing, len(matches))
    _log_conflict("alerts")
    return 0


async def queue_alerts_async(
    store: Store, config: Config, now: float, executor: Executor | None = None
) -> int:
    """`queue_alerts` in a worker thread (`executor`; None: the loop's default) on a
    connection of its own: the event loop only awaits it."""
    job = partial(_on_own_connection, store, queue_alerts, config, now)
    return int(await asyncio.get_running_loop().run_in_executor(executor, job))


def render_alerts(
    matches: Sequence[PendingMatch], settings: RenderSettings, now: float
) -> list[Outgoing]:
    """One alert per article (pure but for the random ids; safe in a worker thread)."""
    outgoing = []
    for _, of_article in groupby(
        sorted(matches, key=lambda m: m.article_id), key=lambda m: m.article_id
    ):
        group = list(of_article)
        message = render_alert(group, settings, _new_id(now))
        data = message.as_bytes(policy=SMTP)
        outgoing.append(
            Outgoing("alert", str(message["Message-ID"]), data, tuple(m.id for m in group))
        )
    return outgoing


def _read_unalerted(store: Store, config: Config) -> list[PendingMatch]:
    severities = alert_severities(config)
    if not severities:
        return []
    with store.snapshot() as tx:
        return tx.unalerted_matches([str(s) for s in severities])


def _mark_alerted(tx: Transaction, match_ids: Sequence[int], *, at: float) -> int:
    return tx.mark_alerted(match_ids, at)


def _alerts_queued(outgoing: Sequence[Outgoing], matches: int) -> int:
    if outgoing:
        log.info("%s", kv(event="alerts-queued", alerts=len(outgoing), matches=matches))
    return len(outgoing)


# --- digests ----------------------------------------------------------------------------------


def queue_digest(
    store: Store,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
) -> str | None:
    """Render the pending matches as a digest, queue it and mark them (read, render, commit:
    see the module docstring).

    Returns the digest id, or None when nothing is pending (and `digest.send_empty` is off)
    or a concurrent digest kept taking the matches.
    """
    problems = feed_problems(feed_health, now)
    for _ in range(ATTEMPTS):
        read = read_digest_input(store, config, now)
        if read is None:
            return None
        rendered = render_digest_messages(read, problems, _settings(config, now), _new_id(now))
        if _commit_digest(store, config, rendered, now):
            return _digest_queued(rendered, len(read.pending))
    _log_conflict("digest")
    return None


async def queue_digest_async(
    store: Store,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
    executor: Executor | None = None,
) -> str | None:
    """`queue_digest` in a worker thread (`executor`; None: the loop's default) on a
    connection of its own: the event loop only awaits it."""
    problems = feed_problems(feed_health, now)
    job = partial(_on_own_connection, store, queue_digest, config, now, problems)
    digest_id: str | None = await asyncio.get_running_loop().run_in_executor(executor, job)
    return digest_id


def _on_own_connection(store: Store, work: Callable[..., _T], *args: object) -> _T:
    own = store.another_connection()
    try:
        return work(own, *args)
    finally:
        own.close()


def read_digest_input(store: Store, config: Config, now: float) -> DigestInput | None:
    """Step 1: the pending matches (None: nothing to send)."""
    with store.snapshot() as tx:
        pending = tx.pending_matches()
        if not pending and not config.digest.send_empty:
            return None
        history = _history(tx, pending, config, now)
        return DigestInput(tuple(pending), _new_entries(tx, pending), history)


def render_digest_messages(
    read: DigestInput,
    problems: Sequence[FeedProblem],
    settings: RenderSettings,
    digest_id: str,
) -> RenderedDigest:
    """Step 2, pure: the digest's parts as the bytes to store (safe in a worker thread)."""
    parts = split_digest(
        read.pending, problems, settings, digest_id, read.new_entries, history=read.history
    )
    messages = tuple(
        Outgoing(
            "digest", str(p.message["Message-ID"]), p.message.as_bytes(policy=SMTP), p.match_ids
        )
        for p in parts
    )
    return RenderedDigest(digest_id, messages, parts[-1].left_over)


def _commit_digest(store: Store, config: Config, rendered: RenderedDigest, now: float) -> bool:
    def mark(tx: Transaction, match_ids: Sequence[int]) -> int:
        return tx.mark_digested(match_ids, rendered.digest_id)

    return _commit(store, config, rendered.messages, now, mark)


def _digest_queued(rendered: RenderedDigest, pending: int) -> str:
    log.info(
        "%s",
        kv(
            event="digest-queued",
            digest_id=rendered.digest_id,
            matches=pending - rendered.left_over,
            parts=len(rendered.messages),
            left_for_next=rendered.left_over,
        ),
    )
    return rendered.digest_id


# --- the commit step ----------------------------------------------------------------------------


def _commit(
    store: Store,
    config: Config,
    outgoing: Sequence[Outgoing],
    now: float,
    mark: Callable[[Transaction, Sequence[int]], int],
) -> bool:
    """Step 3: store the messages and mark their matches, all or nothing. False (nothing
    stored, nothing marked) when a listed match was taken meanwhile."""
    try:
        with store.transaction() as tx:
            for message in outgoing:
                if mark(tx, message.match_ids) != len(message.match_ids):
                    raise _ConflictError
                tx.add_to_outbox(
                    message.kind, message.message_id, config.email.to, message.data, now
                )
    except _ConflictError:
        return False
    return True


def _log_conflict(what: str) -> None:
    log.warning(
        "%s",
        kv(
            event=f"{what}-conflict",
            attempts=ATTEMPTS,
            result="matches taken meanwhile twice; the rest stays pending for the next run",
        ),
    )


def preview_digest(
    store: Store,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
) -> list[DigestPart]:
    """The digest `queue_digest` would queue now, without queueing or marking anything."""
    with store.snapshot() as tx:
        pending = tx.pending_matches()
        new_entries = _new_entries(tx, pending)
        history = _history(tx, pending, config, now)
    problems = feed_problems(feed_health, now)
    settings = _settings(config, now)
    return split_digest(pending, problems, settings, "preview", new_entries, history=history)


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


def _history(
    tx: Transaction, pending: Sequence[PendingMatch], config: Config, now: float
) -> MentionHistory:
    """The pending entries' mentions per day up to today, for the digest's charts."""
    start, days = chart_window(datetime.fromtimestamp(now, UTC), config.digest.timezone)
    keys = sorted({(m.list_name, m.entry_id) for m in pending})
    counts = tx.daily_mentions(keys, start, days)
    return MentionHistory({f"{k[0]}/{k[1]}": tuple(v) for k, v in counts.items()})


def _settings(config: Config, now: float) -> RenderSettings:
    return RenderSettings.from_config(config, datetime.fromtimestamp(now, UTC))


def _new_id(now: float) -> str:
    """Unique and sortable: UTC time plus randomness (also the Message-ID's local part)."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"
