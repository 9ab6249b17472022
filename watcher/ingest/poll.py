"""Polling feeds: fetch -> parse -> dedupe -> match -> store, one feed at a time, many at once.

Each feed poll ends in exactly one write transaction holding everything it learnt (new
articles, sources, matches, suppression counts, validators, next poll time), so a crash at
any instant leaves either the state before the poll (the feed is simply fetched again: the
validators were not saved yet, nothing is lost) or the state after it (nothing is repeated:
matches are unique per article and entry).

Only new and edited items (new item key, or a changed content hash) are matched; an edit can
only add matches, never repeat one. A feed's first successful poll records its items and
matches with ``notify=0`` (not mailed) unless the feed says ``backfill: true``.

Fetching is async; parsing and matching are CPU-bound pure functions and run off the event
loop (`poll_due` uses one worker thread per cycle: under the GIL more threads only add
contention; `poll_feed` takes an ``executor``, default the loop's), so a big feed does not
stall other jobs; SQLite is only touched from the loop thread.

Feeds removed from the config are kept inactive (their articles and matches stay for the
digest and history; re-adding one resumes it without a first-run flood).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from watcher.config.schema import Config, FeedConfig, PollingConfig
from watcher.ingest.feedstate import UNSET, FeedRow, FeedUpdate, ItemRecord, KnownItem, Unset
from watcher.ingest.fetch import FetchLimits, FetchResult, fetch, make_client
from watcher.ingest.parse import FeedItem, ParsedFeed, parse_document
from watcher.ingest.schedule_math import Hints, next_poll_time, parse_max_age, parse_retry_after
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, scan
from watcher.matching.types import Match
from watcher.progress import Tick, no_tick
from watcher.state.errors import STATE_FILE_ERRORS, StateError
from watcher.state.interface import StateStore
from watcher.state.leases import process_owner
from watcher.state.transaction import Transaction

log = logging.getLogger(__name__)
_T = TypeVar("_T")

PollStatus = Literal["ok", "not-modified", "failed", "disabled", "refused"]
HealthState = Literal["ok", "failing", "disabled", "stale"]


@dataclass(frozen=True)
class FeedPollResult:
    url: str
    status: PollStatus
    new_items: int = 0
    new_matches: int = 0
    next_poll: float | None = None  # None: disabled, not polled again
    error: str = ""
    http_status: int = 0
    baseline_items: int = 0  # first poll without backfill: items recorded, nothing mailed


@dataclass(frozen=True)
class FeedHealth:
    url: str
    name: str
    state: HealthState
    since: float | None  # failing since / disabled at / last new item (stale) / last success
    last_error: str | None
    last_success: float | None
    last_new_item: float | None
    warning: str | None = None  # the feed is read, but something about it is wrong
    newest_published: float | None = None  # newest publication date in the feed's document


@dataclass(frozen=True)
class _Scanned:
    """Matching results for the items that needed it (new or edited)."""

    matches: dict[str, list[Match]]  # item key -> matches
    suppressed: Counter[str]  # ignore-list rule label -> times it fired


# --- the feeds table follows the config ---------------------------------------------------


def sync_feeds(store: StateStore, config: Config, now: float) -> None:
    """Add configured feeds, update names, mark feeds no longer configured inactive."""
    with store.transaction() as tx:
        tx.sync_feeds([(f.url, f.name) for f in config.feeds], now)


def prune(store: StateStore, config: Config, now: float) -> int:
    """Delete article rows older than ``polling.retention`` that no feed still carries, and
    article text and list changes older than ``retention.rescreen`` (back-screening)."""
    with store.transaction() as tx:
        removed = tx.prune_articles(now - config.polling.retention)
        window = now - config.retention.rescreen
        return removed + tx.prune_list_data(window, min(window, now - config.polling.retention))


# --- polling --------------------------------------------------------------------------------


def poll_client(config: Config) -> httpx.AsyncClient:
    """The HTTP client feeds are polled with: the polling limits, a connection per slot."""
    return make_client(
        FetchLimits.from_config(config.polling), max_connections=config.polling.concurrency
    )


class PollLimits:
    """At most ``polling.concurrency`` polls at once, ``polling.per_host`` per host: the one
    limiter of `poll_due` (``run --once``, ``poll --once``) and the daemon. A poll takes its
    host's slot first, so a feed queued behind a busy host holds no global slot; the host is
    the one the request goes to (``FeedRow.current_url``, after a permanent redirect)."""

    def __init__(self, polling: PollingConfig) -> None:
        self._overall = asyncio.Semaphore(polling.concurrency)
        self._per_host = polling.per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = urlsplit(url).netloc.lower() or "file"
        host_limit = self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))
        async with host_limit, self._overall:
            yield


ONE_SHOT_LEASE = 600.0  # seconds: claims of a caller no heartbeat renews outlive its run


async def poll_due(
    store: StateStore,
    config: Config,
    compiled: CompiledWatchlists,
    *,
    now: float,
    force: bool = False,
    client: httpx.AsyncClient | None = None,
    tick: Tick = no_tick,
    owner: str | None = None,
    lease: float = ONE_SHOT_LEASE,
) -> list[FeedPollResult]:
    """Poll every active, enabled feed whose next poll is due (every one with ``force``),
    within the global and per-host concurrency limits. Call `sync_feeds` first. ``tick``
    is called as each feed is done (progress: `watcher.progress.tally`).

    The due feeds are claimed for ``owner`` (a registered instance whose heartbeat renews
    the claims; default: this process, for ``lease`` seconds) and given back by each
    poll's final write, so a run beside instances sharing the state leaves the feeds they
    are polling to them. With ``force``, feeds not due are polled too, unclaimed (no one
    polls a feed before it is due).

    A failure of the state database (`StateError`: disk full, read-only, damaged) is logged
    in one line per feed and raised once every feed is done: the caller exits saying why."""
    owner = owner or process_owner()
    with store.snapshot() as tx:
        stored = tx.feeds()
    with store.transaction() as tx:
        claimed = tx.claim_due_feeds(owner, now, now + lease, max(1, len(stored)))
    held = {f.id for f in claimed}
    not_due = [f for f in stored if f.disabled_at is None and f.next_poll > now] if force else []
    feeds = sorted([*claimed, *not_due], key=lambda f: f.id)
    settings = {f.url: f for f in config.feeds}
    own_client = client is None
    http = client or poll_client(config)
    slots = PollLimits(config.polling)
    # One worker thread for parsing and matching: under the GIL more threads add no speed,
    # only contention (longer event-loop stalls) and more documents in memory at once.
    cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-parse")
    state_errors: list[StateError] = []

    finished = 0

    async def one(feed: FeedRow) -> FeedPollResult:
        nonlocal finished
        try:
            return await polled(feed)
        finally:
            finished += 1
            tick(finished, len(feeds))

    async def polled(feed: FeedRow) -> FeedPollResult:
        async with slots.slot(feed.current_url):
            feed_settings = settings.get(feed.url) or FeedConfig(url=feed.url)
            try:
                return await poll_row(
                    store,
                    feed,
                    feed_settings,
                    config,
                    compiled,
                    http,
                    now,
                    cpu,
                    lease_owner=owner if feed.id in held else None,
                )
            except STATE_FILE_ERRORS as exc:  # the database, not the feed: all feeds hit it
                log.error("%s", kv(event="poll", feed=feed.url, result="not-stored", error=exc))
                state_errors.append(exc)
                return FeedPollResult(feed.url, "failed", error=str(exc))

    try:
        results = list(await asyncio.gather(*(one(feed) for feed in feeds)))
        if state_errors:
            raise state_errors[0]
        return results
    finally:
        cpu.shutdown(wait=False, cancel_futures=True)
        if own_client:
            await http.aclose()


async def poll_feed(  # noqa: PLR0917 (the documented API shared with the daemon)
    store: StateStore,
    feed_config_or_row: FeedConfig | FeedRow,
    config: Config,
    compiled: CompiledWatchlists,
    client: httpx.AsyncClient,
    now: float,
    *,
    executor: Executor | None = None,
    lease_owner: str | None = None,
) -> FeedPollResult:
    """Poll one feed once and record the outcome in one transaction: `poll_row` for a feed
    named by its config or a stored row, whose state is read afresh from the store. Parsing
    and matching run on ``executor`` (default: the loop's default thread pool). A feed
    claimed for `lease_owner` (`Transaction.claim_due_feeds`) is given back in that same
    transaction."""
    with store.snapshot() as tx:
        row = tx.feed(feed_config_or_row.url)
    if row is None:
        raise ValueError(f"feed {feed_config_or_row.url} is not in the store; call sync_feeds")
    settings = (
        feed_config_or_row
        if isinstance(feed_config_or_row, FeedConfig)
        else _feed_settings(config, row.url)
    )
    return await poll_row(
        store, row, settings, config, compiled, client, now, executor, lease_owner
    )


async def poll_row(  # noqa: PLR0917 (one poll needs all of these)
    store: StateStore,
    row: FeedRow,
    settings: FeedConfig,
    config: Config,
    compiled: CompiledWatchlists,
    client: httpx.AsyncClient,
    now: float,
    executor: Executor | None = None,
    lease_owner: str | None = None,
) -> FeedPollResult:
    """Poll one stored feed (the caller holds its `PollLimits` slot, keyed on
    ``row.current_url``): `poll_due`'s and the daemon's one way to poll a feed. A feed
    claimed for ``lease_owner`` is given back in the poll's final write.

    A bug met while polling one feed never breaks the others: it is logged, and the feed is
    retried after one interval, recorded as its next poll (nothing else was: rolled back),
    so a clock reading ``feeds.next_poll`` does not pick it again at once. A `StateError`
    propagates: the database, not the feed, failed."""
    job = _Job(store, row, config, settings, now, executor, lease_owner)
    try:
        return await job.run(compiled, client)
    except STATE_FILE_ERRORS:
        raise
    except Exception as exc:
        log.exception("%s", kv(event="poll", feed=row.url, result="internal-error"))
        retry = now + (settings.interval or config.polling.interval)
        with store.transaction() as tx:
            job.store_feed(tx, FeedUpdate(next_poll=retry))
        return FeedPollResult(row.url, "failed", next_poll=retry, error=f"internal error: {exc!r}")


def _feed_settings(config: Config, url: str) -> FeedConfig:
    for feed in config.feeds:
        if feed.url == url:
            return feed
    return FeedConfig(url=url)  # no longer configured: defaults


@dataclass(frozen=True)
class _Job:
    """One poll of one feed: the outcomes it can record."""

    store: StateStore
    row: FeedRow
    config: Config
    settings: FeedConfig
    now: float
    executor: Executor | None = None
    lease_owner: str | None = None  # the instance that claimed the feed for this poll

    def store_feed(self, tx: Transaction, changes: FeedUpdate) -> None:
        """The poll's final write of the feed's state, giving back the feed's lease in the
        same transaction (a poll that fails before it keeps the lease: its owner claims the
        feed again on its next round, or another once the lease runs out)."""
        tx.update_feed(self.row.id, changes)
        if self.lease_owner is not None and not tx.release_feed(self.row.id, self.lease_owner):
            # it stalled past its lease and another instance took the feed: that one polls
            # it too, harmlessly (matches are stored once per article and entry)
            log.warning("%s", kv(event="lease-lost", feed=self.row.url, owner=self.lease_owner))

    async def run(self, compiled: CompiledWatchlists, client: httpx.AsyncClient) -> FeedPollResult:
        row = self.row
        if row.disabled_at is not None:
            return FeedPollResult(row.url, "disabled", error=row.disabled_reason or "disabled")
        fetched = await fetch(
            client,
            row.current_url,
            FetchLimits.from_config(self.config.polling, self.settings),
            etag=row.etag,
            last_modified=row.last_modified,
        )
        settled = self.settle_without_parsing(fetched)
        if settled is not None:
            return settled
        parsed = await self.offload(parse_document, fetched.body, fetched.headers, row.url)
        if not parsed.is_feed:
            kind = fetched.headers.get("content-type", "unknown type").split(";")[0]
            reason = f"not an RSS/Atom feed (got {kind}): {parsed.problem or 'no feed elements'}"
            if parsed.alternates:
                reason += f"; the page links to feed(s): {', '.join(parsed.alternates[:3])}"
            return self.failure(fetched, reason, "failed")
        return await self.ingest(compiled, fetched, parsed)

    async def offload(self, function: Callable[..., _T], *args: object) -> _T:
        """Run a pure CPU-bound function off the event loop."""
        if self.executor is None:
            return await asyncio.to_thread(function, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def settle_without_parsing(self, fetched: FetchResult) -> FeedPollResult | None:
        """The outcome when the body needs no parsing (errors, 304, 410, ...), else None."""
        if fetched.error:
            return self.failure(fetched, fetched.error, "refused" if fetched.refused else "failed")
        if fetched.status == 410:
            return self.gone(fetched)
        same_etag = bool(self.row.etag) and fetched.headers.get("etag") == self.row.etag
        if fetched.status == 304 or (200 <= fetched.status < 300 and same_etag):
            return self.unchanged(fetched)
        if not 200 <= fetched.status < 300:
            return self.failure(fetched, f"HTTP {fetched.status}", "failed")
        return None

    def next_poll(self, failures: int, hints: Hints) -> float:
        return next_poll_time(
            self.now,
            interval=self.settings.interval or self.config.polling.interval,
            failures=failures,
            max_backoff=self.config.polling.max_backoff,
            hints=hints,
            jitter=self.config.polling.jitter,
            rand=random.random(),
        )

    def moved(self, fetched: FetchResult) -> str | Unset:
        """The feed's new URL after a permanent redirect (`UNSET`: it did not move)."""
        return fetched.permanent_url or UNSET

    def failure(self, fetched: FetchResult, reason: str, status: PollStatus) -> FeedPollResult:
        failures = self.row.failures + 1
        hints = Hints()
        if fetched.status in (429, 503):
            hints = Hints(
                retry_after=parse_retry_after(fetched.headers.get("retry-after"), self.now)
            )
        next_poll = self.next_poll(failures, hints)
        with self.store.transaction() as tx:
            self.store_feed(
                tx,
                FeedUpdate(
                    current_url=self.moved(fetched),
                    failures=failures,
                    failing_since=self.row.failing_since or self.now,
                    last_error=reason,
                    last_status=fetched.status or None,
                    last_poll=self.now,
                    next_poll=next_poll,
                ),
            )
        log.warning(
            "%s",
            kv(event="poll", feed=self.row.url, result=status, failures=failures, error=reason),
        )
        return FeedPollResult(
            self.row.url, status, next_poll=next_poll, error=reason, http_status=fetched.status
        )

    def gone(self, fetched: FetchResult) -> FeedPollResult:
        reason = f"410 Gone from {fetched.url}: the publisher removed the feed; polling stopped"
        with self.store.transaction() as tx:
            self.store_feed(
                tx,
                FeedUpdate(
                    disabled_at=self.now,
                    disabled_reason=reason,
                    last_error=reason,
                    last_status=410,
                    last_poll=self.now,
                ),
            )
        log.warning("%s", kv(event="poll", feed=self.row.url, result="disabled", error=reason))
        return FeedPollResult(self.row.url, "disabled", error=reason, http_status=410)

    def success_changes(self, fetched: FetchResult, ttl: float | None) -> FeedUpdate:
        """Feed columns after a successful poll; ``ttl`` from this parse, else the stored one
        (a 304 carries no <ttl> but the feed's still holds)."""
        ttl = ttl if ttl is not None else self.row.ttl
        hints = Hints(max_age=parse_max_age(fetched.headers.get("cache-control")), ttl=ttl)
        changes = FeedUpdate(
            current_url=self.moved(fetched),
            failures=0,
            failing_since=None,
            last_error=None,
            last_status=fetched.status,
            last_poll=self.now,
            last_success=self.now,
            next_poll=self.next_poll(0, hints),
        )
        if fetched.status != 304:
            # keep validators unless the server sent new ones (some omit them on 304)
            changes = replace(
                changes,
                etag=fetched.headers.get("etag") or self.row.etag,
                last_modified=fetched.headers.get("last-modified") or self.row.last_modified,
            )
        return changes

    def unchanged(self, fetched: FetchResult) -> FeedPollResult:
        changes = self.success_changes(fetched, ttl=None)
        with self.store.transaction() as tx:
            self.store_feed(tx, changes)
        return FeedPollResult(
            self.row.url,
            "not-modified",
            next_poll=self.next_poll_of(changes),
            http_status=fetched.status,
        )

    def next_poll_of(self, changes: FeedUpdate) -> float:
        return self.row.next_poll if isinstance(changes.next_poll, Unset) else changes.next_poll

    async def ingest(
        self, compiled: CompiledWatchlists, fetched: FetchResult, parsed: ParsedFeed
    ) -> FeedPollResult:
        row, now = self.row, self.now
        with self.store.snapshot() as tx:  # only reads: takes no write lock
            known = tx.known_items(row.id)
        records = [_record(item, known.get(item.key)) for item in parsed.items]
        to_scan = [
            item
            for item in parsed.items
            if item.key not in known or known[item.key].content_hash != item.content_hash
        ]
        scanned = await self.offload(_scan_items, to_scan, compiled)
        new_items = sum(1 for item in parsed.items if item.key not in known)
        notify = row.initialized or self.settings.backfill
        changes = replace(
            self.success_changes(fetched, ttl=parsed.ttl),
            initialized=True,
            ttl=parsed.ttl,
            warning=parsed.warning or None,
            last_new_item=now if new_items else UNSET,
        )
        article_ids = {r.key: r.article_id for r in records}
        with self.store.transaction() as tx:
            tx.record_items(row.id, records, now)
            found = [(article_ids[key], matches) for key, matches in scanned.matches.items()]
            new_matches = tx.add_article_matches(found, now, notify=notify)
            tx.add_suppressions(scanned.suppressed, now)
            self.store_feed(tx, changes)
            if self.config.retention.rescreen > 0:  # kept for back-screening newly listed
                texts = [(article_ids[i.key], i.article.full_text) for i in to_scan]
                tx.keep_article_texts(texts, now)
        log.info(
            "%s",
            kv(
                event="poll",
                feed=row.url,
                result="ok",
                items=len(records),
                new=new_items,
                new_matches=new_matches,
                note=None if notify else "first poll: recorded as the baseline, not alerted",
                warning=parsed.warning or None,
            ),
        )
        return FeedPollResult(
            row.url,
            "ok",
            new_items=new_items,
            new_matches=new_matches,
            next_poll=self.next_poll_of(changes),
            http_status=fetched.status,
            baseline_items=0 if notify else len(records),
        )


def _record(item: FeedItem, known: KnownItem | None) -> ItemRecord:
    # a known item keeps the article id it was first stored under, so identities never drift
    article_id = known.article_id if known else item.article.id
    published = item.article.published.timestamp() if item.article.published else None
    return ItemRecord(
        key=item.key,
        article_id=article_id,
        link=item.article.link,
        title=item.article.title,
        published=published,
        content_hash=item.content_hash,
    )


def _scan_items(items: Sequence[FeedItem], compiled: CompiledWatchlists) -> _Scanned:
    """Pure and thread-safe: the matcher over each item's full text."""
    matches: dict[str, list[Match]] = {}
    suppressed: Counter[str] = Counter()
    for item in items:
        result = scan(item.article.full_text, compiled)
        if result.matches:
            matches[item.key] = list(result.matches)
        for _match, rule in result.suppressed:
            suppressed[rule.label] += 1
    return _Scanned(matches, suppressed)


# --- health -------------------------------------------------------------------------------


def feed_health(store: StateStore, config: Config, now: float) -> list[FeedHealth]:
    """Health of every configured (active) feed, in config order of insertion."""
    with store.snapshot() as tx:
        rows = tx.feeds()
        published = tx.newest_published(now)
    return [_health(row, config.polling.stale_after, now, published.get(row.id)) for row in rows]


def _health(
    row: FeedRow, stale_after: float, now: float, newest_published: float | None
) -> FeedHealth:
    """Stale counts from the newest article's publication date where the feed gives dates
    (a feed whose newest story is years old is stale, however recently it was first polled),
    else from when a new item was last seen."""
    state: HealthState = "ok"
    since = row.last_success
    latest = newest_published if newest_published is not None else row.last_new_item
    if row.disabled_at is not None:
        state, since = "disabled", row.disabled_at
    elif row.failures > 0:
        state, since = "failing", row.failing_since
    elif latest is not None and now - latest > stale_after:
        state, since = "stale", latest
    return FeedHealth(
        url=row.url,
        name=row.name,
        state=state,
        since=since,
        last_error=row.disabled_reason if row.disabled_at is not None else row.last_error,
        last_success=row.last_success,
        last_new_item=row.last_new_item,
        warning=row.warning,
        newest_published=newest_published,
    )
