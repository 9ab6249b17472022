"""The notifier's orchestration: queue alerts and digests into the outbox, drain it.

The daemon calls these; so do `watcher digest` and `watcher run --once`. Times are unix
seconds (``now``) so callers share one clock. Rendering stays pure (`watcher.notify.render`);
delivery I/O is `watcher.notify.mailer`; the outbox mechanics are `watcher.notify.outbox`.

Queueing is three steps, so that rendering (up to a CPU-second for a big digest: trial
renders to fit each part under ``digest.max_bytes``) holds no database lock:

1. read: a read-only snapshot (`StateStore.snapshot`: blocks no writer) of the pending
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
steps in a worker thread on a connection of their own (`StateStore.another_connection`), not just
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
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import SMTP
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

from watcher.config.schema import Config, DigestConfig
from watcher.config.watchlist import Severity
from watcher.ingest.poll import FeedHealth, feed_health
from watcher.lists.digest import list_change_views
from watcher.lists.health import lists_in_health
from watcher.lists.state import ListChangeRow
from watcher.logs import kv
from watcher.notify.mailer import Mailer, envelope_sender, mailer_for
from watcher.notify.notice import FeedProblem, PendingMatch
from watcher.notify.outbox import DrainResult, drain
from watcher.notify.render import (
    MAX_DIGEST_PARTS,
    NO_HISTORY,
    DigestPart,
    MentionHistory,
    RenderSettings,
    chart_window,
    render_alert,
    split_digest,
)
from watcher.state.errors import DuplicateMessageError
from watcher.state.interface import StateStore
from watcher.state.transaction import Transaction

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
    list_change_ids: tuple[int, ...] = ()  # the list changes its first part shows


@dataclass(frozen=True)
class DigestInput:
    """What one read snapshot saw: the pending matches and the entries new to digests."""

    pending: tuple[PendingMatch, ...]  # the first of them in the digest's order
    new_entries: frozenset[str]
    history: MentionHistory = NO_HISTORY  # the entries' mentions per day, for the charts
    unread: int = 0  # pending matches behind those (more than a digest can list)
    list_changes: tuple[ListChangeRow, ...] = ()  # official-list updates not digested yet


class _ConflictError(Exception):
    """A listed match was no longer pending at commit: roll back, render again."""


# --- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertBatch:
    """What one alert mail lists: an entry's newest alertable matches (plus the other
    alertable entries the same articles mention) and how many more of the entry's matches
    are held back for the digest."""

    entry: tuple[str, str]
    matches: tuple[PendingMatch, ...]
    held: int = 0


@dataclass(frozen=True)
class AlertPlan:
    """What one alert pass read: the mails to render and what to hold back at commit."""

    batches: tuple[AlertBatch, ...]
    last_match_id: int  # matches recorded after the read are not held back by this pass
    window_start: float
    over_cap: bool  # more entries were due than the caps allow: hold the rest back


def queue_alerts(
    store: StateStore, config: Config, now: float, *, new_id: Callable[[float], str] | None = None
) -> int:
    """Queue the immediate alerts for new matches at or above `digest.alert_severity`,
    bounded (see deploy/config.example.yaml, `digest.alert_*`):

    - one mail per entry (its newest `alert_max_articles` matches; the articles' other
      severe entries are shown in it too), and an entry starts at most one mail per
      `alert_window`: its later matches wait for the window's end, then go out together;
    - at most `alert_max_per_run` mails per pass and `alert_max_per_hour` in any hour; the
      matches over a cap are held back (``alert_held = 'cap'``) and the digest lists them
      with a note;
    - matches in articles older than `alert_max_age` are held back too (``'old'``).

    Every match stays pending for the next digest (which marks alerted ones "already
    alerted"). Reads are bounded by the caps, never by the backlog. Returns how many alert
    messages were queued.
    """
    severities = [str(s) for s in alert_severities(config)]
    if not severities:
        return 0
    with store.transaction() as tx:
        tx.hold_old_alerts(severities, now - config.digest.alert_max_age)
    for _ in range(ATTEMPTS):
        plan = read_alert_plan(store, config, severities, now)
        if not plan.batches and not plan.over_cap:
            return 0
        outgoing = render_alerts(
            plan.batches, _settings(config, now), now, new_id or new_message_id
        )
        held = _commit_alerts(store, config, plan, outgoing, severities=severities, now=now)
        if held is not None:
            return _alerts_queued(outgoing, held)
    _log_conflict("alerts")
    return 0


async def queue_alerts_async(
    store: StateStore, config: Config, now: float, executor: Executor | None = None
) -> int:
    """`queue_alerts` in a worker thread (`executor`; None: the loop's default) on a
    connection of its own: the event loop only awaits it."""
    job = partial(_on_own_connection, store, queue_alerts, config, now)
    return int(await asyncio.get_running_loop().run_in_executor(executor, job))


ENTRY_PAGE = 100  # due entries read at a time while filling a pass's budget


def read_alert_plan(
    store: StateStore, config: Config, severities: Sequence[str], now: float
) -> AlertPlan:
    """Step 1 for alerts: the mails this pass may send, from one read snapshot."""
    settings = config.digest
    window_start = now - settings.alert_window
    with store.snapshot() as tx:
        recent = tx.alerts_queued_since(now - 3600.0)
        budget = max(0, min(settings.alert_max_per_run, settings.alert_max_per_hour - recent))
        last_id = tx.last_match_id()
        batches: list[AlertBatch] = []
        listed: Counter[str] = Counter()  # entry keys of the matches this pass lists
        listed_ids: set[int] = set()
        offset = 0
        while True:
            page = tx.due_alert_entries(severities, window_start, ENTRY_PAGE, offset)
            offset += len(page)
            for entry in page:
                if len(batches) == budget:
                    return AlertPlan(tuple(batches), last_id, window_start, over_cap=True)
                batch = _entry_batch(
                    tx,
                    entry,
                    severities,
                    limit=settings.alert_max_articles,
                    listed=listed,
                    listed_ids=listed_ids,
                )
                if batch is not None:
                    batches.append(batch)
                    listed.update(m.entry_key for m in batch.matches)
                    listed_ids.update(m.id for m in batch.matches)
            if len(page) < ENTRY_PAGE:
                return AlertPlan(tuple(batches), last_id, window_start, over_cap=False)


def _entry_batch(
    tx: Transaction,
    entry: tuple[str, str],
    severities: Sequence[str],
    *,
    limit: int,
    listed: Counter[str],
    listed_ids: set[int],
) -> AlertBatch | None:
    """The entry's alert: its newest matches not already in this pass's mails, with the
    other entries' alertable matches in the same articles (None: nothing left to list)."""
    key = "/".join(entry)
    own, total = tx.entry_alertable(entry, severities, limit + listed[key])
    own = [m for m in own if m.id not in listed_ids][:limit]
    if not own:
        return None
    articles = list(dict.fromkeys(m.article_id for m in own))
    others = [
        m
        for m in tx.alertable_in_articles(articles, severities)
        if m.entry_key != key and m.id not in listed_ids
    ]
    return AlertBatch(entry, tuple(own + others), held=max(0, total - len(own) - listed[key]))


def render_alerts(
    batches: Sequence[AlertBatch],
    settings: RenderSettings,
    now: float,
    new_id: Callable[[float], str] | None = None,
) -> list[Outgoing]:
    """One alert per batch (pure but for the random ids; safe in a worker thread)."""
    outgoing = []
    for batch in batches:
        message = render_alert(
            batch.matches, settings, (new_id or new_message_id)(now), more=batch.held
        )
        data = message.as_bytes(policy=SMTP)
        outgoing.append(
            Outgoing("alert", str(message["Message-ID"]), data, tuple(m.id for m in batch.matches))
        )
    return outgoing


def _commit_alerts(
    store: StateStore,
    config: Config,
    plan: AlertPlan,
    outgoing: Sequence[Outgoing],
    *,
    severities: Sequence[str],
    now: float,
) -> int | None:
    """Step 3 for alerts: store the mails, mark their matches, start their entries'
    windows and hold back what the caps leave out, all or nothing. Returns how many matches
    were held back; None (nothing stored, nothing marked) when another pass got there
    first or a Message-ID was taken."""

    def mark(tx: Transaction, match_ids: Sequence[int]) -> int:
        return tx.mark_alerted(match_ids, now)

    held: list[int] = []

    def hold(tx: Transaction) -> None:
        hour = tx.alerts_queued_since(now - 3600.0)  # the new ones included
        if outgoing and hour > config.digest.alert_max_per_hour:
            raise _ConflictError  # a concurrent pass used the hour's budget meanwhile
        for batch in plan.batches:
            if not tx.start_alert_window(batch.entry, now, plan.window_start):
                raise _ConflictError
            held.append(tx.hold_entry_alerts(batch.entry, severities, plan.last_match_id))
        if plan.over_cap:
            held.append(tx.hold_due_alerts(severities, plan.window_start, plan.last_match_id))

    if not _commit(store, config, outgoing, now, mark, then=hold):
        return None
    return sum(held)


def _alerts_queued(outgoing: Sequence[Outgoing], held: int) -> int:
    if outgoing or held:
        log.info(
            "%s",
            kv(
                event="alerts-queued",
                alerts=len(outgoing),
                matches=sum(len(m.match_ids) for m in outgoing),
                held_for_digest=held,
            ),
        )
    return len(outgoing)


# --- digests ----------------------------------------------------------------------------------


def queue_digest(
    store: StateStore,
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
        rendered = render_digest_messages(
            read, problems, _settings(config, now), new_message_id(now)
        )
        if _commit_digest(store, config, rendered, now):
            return _digest_queued(rendered)
    _log_conflict("digest")
    return None


async def queue_digest_async(
    store: StateStore,
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


def _on_own_connection(store: StateStore, work: Callable[..., _T], *args: object) -> _T:
    own = store.another_connection()
    try:
        return work(own, *args)
    finally:
        own.close()


def read_digest_input(store: StateStore, config: Config, now: float) -> DigestInput | None:
    """Step 1: the pending matches a digest can list, first in its order (None: nothing
    to send). However long the backlog, at most `digest_read_limit` are read."""
    with store.snapshot() as tx:
        total = tx.pending_match_count()
        changes = tuple(tx.pending_list_changes())
        if not total and not changes and not config.digest.send_empty:
            return None
        pending = tx.digest_window(digest_read_limit(config.digest.max_bytes))
        history = _history(tx, pending, config, now)
        unread = total - len(pending)
        new_entries = _new_entries(tx, pending)
        return DigestInput(tuple(pending), new_entries, history, unread, changes)


MATCH_BYTES_FLOOR = 200  # bytes: the smallest match renders to ~700 with the bundled
# templates (measured: empty snippet, one-letter title), so the window holds three times
# what ten full parts can list. User templates that print less per match may fit more
# than the window: those are listed by the next digest (nothing lost, a slower catch-up).


def digest_read_limit(max_bytes: int) -> int:
    """The most matches one digest can list (all its parts full of the smallest matches):
    reading more than that would only be left over."""
    return MAX_DIGEST_PARTS * max(1, max_bytes // MATCH_BYTES_FLOOR)


def render_digest_messages(
    read: DigestInput,
    problems: Sequence[FeedProblem],
    settings: RenderSettings,
    digest_id: str,
) -> RenderedDigest:
    """Step 2, pure: the digest's parts as the bytes to store (safe in a worker thread)."""
    changes = list_change_views(read.list_changes, partial(_when, settings))
    parts = split_digest(
        read.pending,
        problems,
        settings,
        digest_id,
        read.new_entries,
        history=read.history,
        unlisted=read.unread,
        list_changes=changes,
    )
    messages = tuple(
        Outgoing(
            "digest", str(p.message["Message-ID"]), p.message.as_bytes(policy=SMTP), p.match_ids
        )
        for p in parts
    )
    change_ids = tuple(c.id for c in read.list_changes)
    return RenderedDigest(digest_id, messages, parts[-1].left_over, change_ids)


def _when(settings: RenderSettings, at: float) -> str:
    zone = ZoneInfo(settings.timezone)
    return datetime.fromtimestamp(at, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _commit_digest(store: StateStore, config: Config, rendered: RenderedDigest, now: float) -> bool:
    changes = list(rendered.list_change_ids)  # marked with the first message, check-and-set

    def mark(tx: Transaction, match_ids: Sequence[int]) -> int:
        if changes:
            if tx.mark_list_changes_digested(changes, rendered.digest_id) != len(changes):
                return -1  # another digest listed them meanwhile: a conflict
            changes.clear()
        return tx.mark_digested(match_ids, rendered.digest_id)

    return _commit(store, config, rendered.messages, now, mark)


def _digest_queued(rendered: RenderedDigest) -> str:
    log.info(
        "%s",
        kv(
            event="digest-queued",
            digest_id=rendered.digest_id,
            matches=sum(len(m.match_ids) for m in rendered.messages),
            parts=len(rendered.messages),
            left_for_next=rendered.left_over,
        ),
    )
    return rendered.digest_id


# --- the commit step ----------------------------------------------------------------------------


def _commit(
    store: StateStore,
    config: Config,
    outgoing: Sequence[Outgoing],
    now: float,
    mark: Callable[[Transaction, Sequence[int]], int],
    *,
    then: Callable[[Transaction], None] | None = None,
) -> bool:
    """Step 3: store the messages, mark their matches and do `then`, all or nothing. False
    (nothing stored, nothing marked) when a listed match was taken meanwhile, or a
    Message-ID is already in the outbox (the next attempt renders with fresh ids)."""
    try:
        with store.transaction() as tx:
            for message in outgoing:
                if mark(tx, message.match_ids) != len(message.match_ids):
                    raise _ConflictError
                tx.add_to_outbox(
                    message.kind, message.message_id, config.email.to, message.data, now
                )
            if then is not None:
                then(tx)
    except _ConflictError:
        return False
    except DuplicateMessageError as exc:
        log.warning("%s", kv(event="message-id-taken", error=str(exc), result="render again"))
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
    store: StateStore,
    config: Config,
    now: float,
    feed_health: Sequence[FeedHealth | FeedProblem] = (),
) -> list[DigestPart]:
    """The digest `queue_digest` would queue now, without queueing or marking anything."""
    read = read_digest_input(store, config.model_copy(update={"digest": _send_empty(config)}), now)
    assert read is not None
    problems = feed_problems(feed_health, now)
    settings = _settings(config, now)
    return split_digest(
        read.pending,
        problems,
        settings,
        "preview",
        read.new_entries,
        history=read.history,
        unlisted=read.unread,
        list_changes=list_change_views(read.list_changes, partial(_when, settings)),
    )


def _send_empty(config: Config) -> DigestConfig:
    return config.digest.model_copy(update={"send_empty": True})


async def drain_outbox(
    store: StateStore,
    config: Config,
    now: float,
    mailer: Mailer | None = None,
    *,
    owner: str | None = None,
    lease: float | None = None,
    clock: Callable[[], float] | None = None,
) -> DrainResult:
    """Try every due outbox message once (SMTP or directory, as configured), claiming them
    for `owner` (an instance id; default: this process) for `lease` seconds, renewed by its
    heartbeat (default: long enough for a batch; `watcher.notify.outbox.drain`). With
    `clock`, each batch is claimed and recorded at the time it reads (the daemon: a long
    drain's later batches must not claim with, or compare leases against, a stale `now`);
    without, at `now`."""

    def open_mailer() -> Mailer:
        return mailer if mailer is not None else mailer_for(config)

    sender = envelope_sender(config)
    timeout = config.smtp.timeout
    return await drain(
        store, open_mailer, sender, now, timeout, owner=owner, lease=lease, clock=clock
    )


def pending_count(store: StateStore) -> int:
    """Messages in the outbox not yet accepted by a server."""
    with store.snapshot() as tx:
        return tx.unsent_count()


def prune_outbox(store: StateStore, now: float, keep: float = SENT_RETENTION) -> int:
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
    if item.state == "stale" and item.since is not None:
        days = (now - item.since) / 86400
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


def digest_health(store: StateStore, config: Config, now: float) -> list[FeedHealth | FeedProblem]:
    """The digest's health section: the feeds with problems, then the failing or stale
    official lists (the daemon, `run --once` and `watcher digest` show the same)."""
    return [*feed_health(store, config, now), *lists_in_health(config, store, now)]


def _settings(config: Config, now: float) -> RenderSettings:
    return RenderSettings.from_config(config, datetime.fromtimestamp(now, UTC))


def new_message_id(now: float) -> str:
    """Unique and sortable: UTC time plus 128 random bits (also the Message-ID's local
    part). 32 bits collided at 20,000 alerts in one run; 128 make a collision as likely as
    none at all (and `_commit` still survives one)."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(16)}"
