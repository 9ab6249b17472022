"""The operations of one unit of work on the state: `Transaction`, and the rows it returns.

`StateStore.transaction()` and `StateStore.snapshot()` hand one out; nothing else in the package
touches SQL. The same class runs on SQLite and on PostgreSQL, so every statement here is portable
(see CONVENTIONS.md): ``?`` placeholders (the PostgreSQL adapter rewrites them), upserts as
``ON CONFLICT``, new ids by ``RETURNING``, no SQLite-only functions; ``casefold()`` and
``floor()`` exist on both (a Python function on SQLite, an SQL one on PostgreSQL).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from watcher.config.watchlist import Severity
from watcher.ingest.feedstate import FeedRow, FeedUpdate, ItemRecord, KnownItem, StoreCounts
from watcher.lists.state import ListChangeRow, ListState, Validators
from watcher.matching.types import Match
from watcher.notify.notice import OutboxMessage, PendingMatch
from watcher.state.errors import DuplicateMessageError
from watcher.state.interface import DbConnection, DbCursor, DbRow
from watcher.state.leases import InstanceInfo, InstanceRow, process_owner

ID_BATCH = 500  # ids per `IN (...)` list (SQLite allows 32766 parameters since 3.32)
ROW_BATCH = 500  # rows per multi-row INSERT (x at most 18 columns: far under both limits)

# matches that could still go out as an immediate alert (`m`: matches; add the severities)
_ALERTABLE = (
    "m.digest_id IS NULL AND m.notify = 1 AND m.alerted_at IS NULL AND m.alert_held IS NULL"
)
_SEVERITY_RANK = "CASE m.severity {} ELSE 0 END".format(
    " ".join(f"WHEN '{s}' THEN {s.rank}" for s in Severity)
)
_POLLABLE = "active = 1 AND disabled_at IS NULL"  # feeds the poll clock may pick
_ARTICLE_TIME = "COALESCE(a.published, a.first_seen)"  # what "how old is the story" means
# the digest's order (`render.sort_for_digest`), so a LIMIT reads the digest's first lines
_DIGEST_ORDER = (
    f"{_SEVERITY_RANK} DESC, casefold(m.name), m.list_name || '/' || m.entry_id,"
    " COALESCE(a.published, m.found_at) DESC, m.found_at, m.id"
)


class Transaction:
    """The operations available inside one transaction. Add methods here, grouped by concern."""

    def __init__(self, db: DbConnection, where: str) -> None:
        self._db = db
        self._where = where  # the database, for messages (`StateStore.where`)

    @property
    def connection(self) -> DbConnection:
        """The connection this unit of work runs on, for moving whole tables of rows that no
        method here interprets (`watcher.state.copy`). Everything else calls the methods."""
        return self._db

    # --- feeds and articles (ingestion) -------------------------------------------------

    def sync_feeds(self, feeds: Sequence[tuple[str, str]], now: float) -> None:
        """Make the active feeds exactly ``feeds`` ((url, name) pairs). New ones are due at
        ``now``; removed ones are kept inactive with their history (re-adding one resumes it
        without a first-run flood; a feed disabled by 410 Gone gets a fresh chance)."""
        for url, name in feeds:
            self._db.execute(
                """INSERT INTO feeds (url, current_url, name, next_poll) VALUES (?, ?, ?, ?)
                   ON CONFLICT(url) DO UPDATE SET
                       name = excluded.name,
                       disabled_at = CASE WHEN feeds.active = 0 THEN NULL
                                          ELSE feeds.disabled_at END,
                       disabled_reason = CASE WHEN feeds.active = 0 THEN NULL
                                              ELSE feeds.disabled_reason END,
                       next_poll = CASE WHEN feeds.active = 0 THEN ? ELSE feeds.next_poll END,
                       active = 1""",
                (url, url, name, now, now),
            )
        configured = {url for url, _ in feeds}
        removed = [
            int(row[0])
            for row in self._db.execute("SELECT id, url FROM feeds WHERE active = 1")
            if row[1] not in configured
        ]
        for start in range(0, len(removed), ID_BATCH):
            ids = removed[start : start + ID_BATCH]
            self._db.execute(
                f"UPDATE feeds SET active = 0 WHERE id IN ({','.join('?' * len(ids))})", ids
            )

    def feeds(self, *, active_only: bool = True) -> list[FeedRow]:
        where = "WHERE active = 1" if active_only else ""
        rows = self._db.execute(f"SELECT * FROM feeds {where} ORDER BY id")
        return [_feed_row(row) for row in rows]

    def feed(self, url: str) -> FeedRow | None:
        row = self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return None if row is None else _feed_row(row)

    def update_feed(self, feed_id: int, update: FeedUpdate) -> None:
        """Set the feed's state columns that `update` gives (the others stay as they are)."""
        changes = update.columns()
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            self._db.execute(
                f"UPDATE feeds SET {assignments} WHERE id = ?", (*changes.values(), feed_id)
            )

    def known_items(self, feed_id: int) -> dict[str, KnownItem]:
        """The items this feed has carried, by item key."""
        rows = self._db.execute(
            "SELECT item_key, article_id, content_hash FROM article_sources WHERE feed_id = ?",
            (feed_id,),
        )
        return {row[0]: KnownItem(row[1], row[2]) for row in rows}

    def record_items(self, feed_id: int, items: Sequence[ItemRecord], now: float) -> None:
        """Upsert the articles and this feed's sources for them; every source of this feed not
        in ``items`` is marked as gone from the feed (prunable once old)."""
        articles: dict[str, tuple[object, ...]] = {}
        for i in items:  # one row per article (two items may share one): the last one wins,
            earlier = articles.get(i.article_id)  # keeping a date an earlier one gave
            published = earlier[3] if i.published is None and earlier else i.published
            articles[i.article_id] = (i.article_id, i.link, i.title, published, i.content_hash)
        _insert_rows(
            self._db,
            """INSERT INTO articles
                   (id, link, title, published, content_hash, first_seen, last_seen)""",
            [(*row, now, now) for row in articles.values()],
            """ON CONFLICT(id) DO UPDATE SET
                   link = excluded.link, title = excluded.title,
                   published = COALESCE(excluded.published, articles.published),
                   content_hash = excluded.content_hash, last_seen = excluded.last_seen""",
        )
        self._db.execute(
            "UPDATE article_sources SET in_feed = 0 WHERE feed_id = ? AND in_feed = 1", (feed_id,)
        )
        sources = {
            i.key: (feed_id, i.key, i.article_id, 1, i.content_hash, now, now) for i in items
        }
        _insert_rows(
            self._db,
            """INSERT INTO article_sources
                   (feed_id, item_key, article_id, in_feed, content_hash, first_seen, last_seen)""",
            list(sources.values()),
            """ON CONFLICT(feed_id, item_key) DO UPDATE SET
                   in_feed = 1, content_hash = excluded.content_hash,
                   last_seen = excluded.last_seen""",
        )

    def add_matches(
        self,
        article_id: str,
        matches: Sequence[Match],
        now: float,
        *,
        notify: bool,
        origin: str = "feed",
    ) -> int:
        """Store the matches not already stored for this article (per list entry); returns
        how many were new. A match is therefore reported at most once, ever."""
        return self.add_article_matches([(article_id, matches)], now, notify=notify, origin=origin)

    def add_article_matches(
        self,
        found: Sequence[tuple[str, Sequence[Match]]],
        now: float,
        *,
        notify: bool,
        origin: str = "feed",
    ) -> int:
        """`add_matches` for several articles at once ((article id, its matches) pairs), in
        one statement batch: one round trip to a database server, however many articles."""
        inserted = _insert_rows(
            self._db,
            """INSERT INTO matches
                   (article_id, list_name, entry_id, name, type, severity, programs, alias,
                    text, start, "end", score, snippet, found_at, notify, origin, also, why)""",
            [
                (
                    article_id,
                    m.list_name,
                    m.entry_id,
                    m.name,
                    str(m.type),
                    str(m.severity),
                    json.dumps(list(m.programs)),
                    m.alias,
                    m.text,
                    m.start,
                    m.end,
                    m.score,
                    m.snippet,
                    now,
                    int(notify),
                    origin,
                    json.dumps([list(listing) for listing in m.also]),
                    m.why,
                )
                for article_id, matches in found
                for m in matches
            ],
            "ON CONFLICT (article_id, list_name, entry_id) DO NOTHING",
        )
        return sum(max(cursor.rowcount, 0) for cursor in inserted)

    def add_suppressions(self, counts: Mapping[str, int], now: float) -> None:
        _insert_rows(
            self._db,
            "INSERT INTO suppressions (rule, count, last_at)",
            [(rule, n, now) for rule, n in counts.items() if n > 0],
            """ON CONFLICT(rule) DO UPDATE SET
                   count = suppressions.count + excluded.count, last_at = excluded.last_at""",
        )

    def prune_articles(self, seen_before: float) -> int:
        """Delete articles last seen before ``seen_before`` that no feed still carries and
        that hold no match still waiting for a digest (pruning never loses an alert)."""
        cursor = self._db.execute(
            """DELETE FROM articles WHERE last_seen < ?
               AND NOT EXISTS (
                   SELECT 1 FROM article_sources s
                   WHERE s.article_id = articles.id AND s.in_feed = 1)
               AND NOT EXISTS (
                   SELECT 1 FROM matches m
                   WHERE m.article_id = articles.id AND m.notify = 1 AND m.digest_id IS NULL)""",
            (seen_before,),
        )
        return cursor.rowcount

    def counts(self) -> StoreCounts:
        def one(sql: str) -> int:
            return int(self._db.execute(sql).fetchone()[0])

        return StoreCounts(
            articles=one("SELECT count(*) FROM articles"),
            matches=one("SELECT count(*) FROM matches"),
            pending_matches=one(
                "SELECT count(*) FROM matches WHERE notify = 1 AND digest_id IS NULL"
            ),
            outbox_queued=one("SELECT count(*) FROM outbox WHERE sent_at IS NULL"),
            suppressions={
                row[0]: int(row[1])
                for row in self._db.execute("SELECT rule, count FROM suppressions ORDER BY rule")
            },
        )

    def newest_published(self, now: float) -> dict[int, float]:
        """Per feed id: the newest publication date among the items its last document
        carried (dates in the future ignored). Feeds that give no dates are absent."""
        rows = self._db.execute(
            """SELECT s.feed_id, max(a.published) FROM article_sources s
               JOIN articles a ON a.id = s.article_id
               WHERE s.in_feed = 1 AND a.published IS NOT NULL AND a.published <= ?
               GROUP BY s.feed_id""",
            (now,),
        )
        return {int(feed_id): float(published) for feed_id, published in rows}

    def baseline(self, feed_urls: Sequence[str]) -> tuple[int, int]:
        """(items, matches) recorded as the baseline, never mailed: the items each of these
        feeds (those without ``backfill``) carried at its first poll (the earliest first
        seen), and the matches recorded with ``notify = 0``."""
        items, urls = 0, list(feed_urls)
        for start in range(0, len(urls), ID_BATCH):
            batch = urls[start : start + ID_BATCH]
            marks = ",".join("?" * len(batch))
            items += self._db.execute(
                f"""SELECT count(*) FROM article_sources s
                    JOIN (SELECT feed_id, min(first_seen) AS first FROM article_sources
                          GROUP BY feed_id) f ON f.feed_id = s.feed_id AND s.first_seen = f.first
                    JOIN feeds ON feeds.id = s.feed_id
                    WHERE feeds.url IN ({marks}) AND feeds.initialized = 1""",
                batch,
            ).fetchone()[0]
        matches = self._db.execute("SELECT count(*) FROM matches WHERE notify = 0").fetchone()[0]
        return int(items), int(matches)

    # --- matches, digests and the outbox (notifier) -------------------------------------

    def pending_matches(self) -> list[PendingMatch]:
        """Matches meant to be mailed that no digest has listed yet, oldest first."""
        return self._pending("m.digest_id IS NULL AND m.notify = 1", ())

    def pending_match_count(self) -> int:
        """How many matches wait for a digest (`pending_matches` without reading them)."""
        row = self._db.execute(
            "SELECT count(*) FROM matches WHERE digest_id IS NULL AND notify = 1"
        ).fetchone()
        return int(row[0])

    def digest_window(self, limit: int) -> list[PendingMatch]:
        """The first `limit` pending matches in the digest's order (severity, entry name,
        newest article first): what a digest lists, read without the backlog behind it."""
        return self._pending(
            "m.digest_id IS NULL AND m.notify = 1", (), order=_DIGEST_ORDER, limit=limit
        )

    def oldest_pending_found_at(self) -> datetime | None:
        """When the oldest match still waiting for a digest was found (None: none waits)."""
        row = self._db.execute(
            "SELECT min(found_at) FROM matches WHERE digest_id IS NULL AND notify = 1"
        ).fetchone()
        return _timestamp(row[0])

    def digest_counts(self, digest_id: str) -> tuple[int, int]:
        """How many matches this digest listed, and how many of them were high severity."""
        row = self._db.execute(
            """SELECT count(*), coalesce(sum(CASE WHEN severity = 'high' THEN 1 ELSE 0 END), 0)
               FROM matches
               WHERE digest_id = ?""",
            (digest_id,),
        ).fetchone()
        return int(row[0]), int(row[1])

    def unalerted_matches(self, severities: Sequence[str]) -> list[PendingMatch]:
        """Pending matches of these severities with no immediate alert queued yet (and
        none held back from one)."""
        marks = ",".join("?" * len(severities))
        where = f"{_ALERTABLE} AND m.severity IN ({marks})"
        return self._pending(where, tuple(severities)) if severities else []

    # --- bounded alerts: window per entry, caps, age ------------------------------------

    def hold_old_alerts(self, severities: Sequence[str], published_before: float) -> int:
        """Hold back from immediate alerts (``alert_held = 'old'``: the digest still lists
        them) the alertable matches whose article is older than `published_before`: its
        publication date when the feed gave one, else when it was first seen."""
        marks = ",".join("?" * len(severities))
        cursor = self._db.execute(
            f"""UPDATE matches AS m SET alert_held = 'old'
                WHERE {_ALERTABLE} AND m.severity IN ({marks})
                AND (SELECT {_ARTICLE_TIME} FROM articles a WHERE a.id = m.article_id) < ?""",
            (*severities, published_before),
        )
        return cursor.rowcount

    def alerts_queued_since(self, since: float) -> int:
        """Alert messages queued in the outbox at or after `since` (sent or not)."""
        row = self._db.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'alert' AND created_at >= ?", (since,)
        ).fetchone()
        return int(row[0])

    def last_match_id(self) -> int:
        """The newest match's id (0: none): matches recorded later have larger ids."""
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM matches").fetchone()[0])

    def due_alert_entries(
        self, severities: Sequence[str], window_start: float, limit: int, offset: int = 0
    ) -> list[tuple[str, str]]:
        """(list, entry) pairs with an alertable match and no alert since `window_start`,
        most severe first, then the one with the newest story: who gets an alert first."""
        marks = ",".join("?" * len(severities))
        rows = self._db.execute(
            f"""SELECT m.list_name, m.entry_id FROM matches m
                JOIN articles a ON a.id = m.article_id
                WHERE {_ALERTABLE} AND m.severity IN ({marks}) AND NOT EXISTS (
                    SELECT 1 FROM alert_entries e
                    WHERE e.list_name = m.list_name AND e.entry_id = m.entry_id
                    AND e.last_alert_at > ?)
                GROUP BY m.list_name, m.entry_id
                ORDER BY max({_SEVERITY_RANK}) DESC, max({_ARTICLE_TIME}) DESC,
                         m.list_name, m.entry_id
                LIMIT ? OFFSET ?""",
            (*severities, window_start, limit, offset),
        )
        return [(row[0], row[1]) for row in rows]

    def entry_alertable(
        self, entry: tuple[str, str], severities: Sequence[str], limit: int
    ) -> tuple[list[PendingMatch], int]:
        """The entry's alertable matches, newest story first (at most `limit`), and how
        many it has in all."""
        marks = ",".join("?" * len(severities))
        where = f"{_ALERTABLE} AND m.severity IN ({marks}) AND m.list_name = ? AND m.entry_id = ?"
        params = (*severities, *entry)
        total = self._db.execute(f"SELECT count(*) FROM matches m WHERE {where}", params)
        newest = f"{_ARTICLE_TIME} DESC, m.id DESC"
        return self._pending(where, params, order=newest, limit=limit), int(total.fetchone()[0])

    def alertable_in_articles(
        self, article_ids: Sequence[str], severities: Sequence[str]
    ) -> list[PendingMatch]:
        """The alertable matches of these articles (the other entries they mention)."""
        found: list[PendingMatch] = []
        marks = ",".join("?" * len(severities))
        for start in range(0, len(article_ids), ID_BATCH):
            ids = list(article_ids[start : start + ID_BATCH])
            where = (
                f"{_ALERTABLE} AND m.severity IN ({marks})"
                f" AND m.article_id IN ({','.join('?' * len(ids))})"
            )
            found.extend(self._pending(where, (*severities, *ids)))
        return found

    def hold_entry_alerts(
        self, entry: tuple[str, str], severities: Sequence[str], up_to_id: int
    ) -> int:
        """Hold back (``alert_held = 'cap'``) the entry's alertable matches recorded up to
        match id `up_to_id`: more than one alert mail lists; the digest lists them."""
        marks = ",".join("?" * len(severities))
        cursor = self._db.execute(
            f"""UPDATE matches AS m SET alert_held = 'cap'
                WHERE {_ALERTABLE} AND m.severity IN ({marks}) AND m.id <= ?
                AND m.list_name = ? AND m.entry_id = ?""",
            (*severities, up_to_id, *entry),
        )
        return cursor.rowcount

    def hold_due_alerts(self, severities: Sequence[str], window_start: float, up_to_id: int) -> int:
        """Hold back (``alert_held = 'cap'``) every alertable match recorded up to match id
        `up_to_id` whose entry had no alert since `window_start`: the alert caps are
        reached; the digest lists them (matches of entries inside their window wait)."""
        marks = ",".join("?" * len(severities))
        cursor = self._db.execute(
            f"""UPDATE matches AS m SET alert_held = 'cap'
                WHERE {_ALERTABLE} AND m.severity IN ({marks}) AND m.id <= ?
                AND NOT EXISTS (
                    SELECT 1 FROM alert_entries e
                    WHERE e.list_name = m.list_name AND e.entry_id = m.entry_id
                    AND e.last_alert_at > ?)""",
            (*severities, up_to_id, window_start),
        )
        return cursor.rowcount

    def start_alert_window(self, entry: tuple[str, str], at: float, window_start: float) -> bool:
        """Record an alert mail for `entry` at `at`, check-and-set: False (nothing changed)
        when another alert for it was recorded after `window_start`."""
        cursor = self._db.execute(
            """INSERT INTO alert_entries (list_name, entry_id, last_alert_at) VALUES (?, ?, ?)
               ON CONFLICT (list_name, entry_id)
               DO UPDATE SET last_alert_at = excluded.last_alert_at
               WHERE alert_entries.last_alert_at <= ?""",
            (*entry, at, window_start),
        )
        return cursor.rowcount == 1

    def _pending(
        self,
        where: str,
        params: tuple[object, ...],
        *,
        order: str = "m.found_at, m.id",
        limit: int | None = None,
    ) -> list[PendingMatch]:
        bounded = "" if limit is None else " LIMIT ?"
        rows = self._db.execute(
            f"""SELECT m.*, a.title AS article_title, a.link AS article_link,
                       a.published AS article_published
                FROM matches m JOIN articles a ON a.id = m.article_id
                WHERE {where} ORDER BY {order}{bounded}""",
            params if limit is None else (*params, limit),
        ).fetchall()
        labels = self._feed_labels({row["article_id"] for row in rows})
        return [_pending_match(row, labels.get(row["article_id"], ())) for row in rows]

    def _feed_labels(self, article_ids: set[str]) -> dict[str, tuple[str, ...]]:
        """Per article: the feeds that carried it (name, else URL), in feed order."""
        labels: dict[str, list[str]] = {}
        ids = sorted(article_ids)
        for start in range(0, len(ids), ID_BATCH):
            batch = ids[start : start + ID_BATCH]
            rows = self._db.execute(
                f"""SELECT s.article_id, COALESCE(NULLIF(f.name, ''), f.url)
                    FROM article_sources s JOIN feeds f ON f.id = s.feed_id
                    WHERE s.article_id IN ({",".join("?" * len(batch))})
                    ORDER BY s.article_id, f.id""",
                batch,
            )
            for article_id, label in rows:
                labels.setdefault(article_id, []).append(label)
        return {article_id: tuple(names) for article_id, names in labels.items()}

    def mark_alerted(self, match_ids: Sequence[int], at: float) -> int:
        """Mark these matches alerted, check-and-set: only those still pending, not alerted
        yet and not held back are marked. Returns how many were (fewer: someone else got
        there first)."""
        return self._update_matches(
            "alerted_at = ?",
            "alerted_at IS NULL AND alert_held IS NULL AND digest_id IS NULL",
            at,
            match_ids,
        )

    def mark_digested(self, match_ids: Sequence[int], digest_id: str) -> int:
        """Mark these matches listed by `digest_id`, check-and-set: only those still pending
        are marked. Returns how many were (fewer: another digest listed some meanwhile)."""
        return self._update_matches("digest_id = ?", "digest_id IS NULL", digest_id, match_ids)

    def _update_matches(
        self, assignment: str, condition: str, value: object, match_ids: Sequence[int]
    ) -> int:
        # a few set-wise statements, not one per match: each statement step hands the GIL
        # to other threads, and a writer holds the database lock while it waits to get it back
        changed = 0
        for start in range(0, len(match_ids), ID_BATCH):
            ids = list(match_ids[start : start + ID_BATCH])
            cursor = self._db.execute(
                f"""UPDATE matches SET {assignment} WHERE {condition} AND notify = 1
                    AND id IN ({",".join("?" * len(ids))})""",
                (value, *ids),
            )
            changed += cursor.rowcount
        return changed

    def add_to_outbox(
        self, kind: str, message_id: str, recipients: Sequence[str], data: bytes, now: float
    ) -> int:
        """Store a rendered message; it is due at once. Raises `DuplicateMessageError` (and
        stores nothing) when the outbox already holds this Message-ID."""
        row = self._db.execute(
            """INSERT INTO outbox
                   (kind, message_id, recipients, message, created_at, next_attempt)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (message_id) DO NOTHING RETURNING id""",
            (kind, message_id, json.dumps(list(recipients)), data, now, now),
        ).fetchone()
        if row is None:
            raise DuplicateMessageError(f"{message_id} is already in the outbox of {self._where}")
        return int(row[0])

    def claim_due_messages(
        self, now: float, lease_until: float, limit: int, owner: str | None = None
    ) -> list[OutboxMessage]:
        """Claim up to `limit` unsent messages due by `now` (the most overdue first), for
        `owner` (default: this process) until `lease_until`; returned in queueing order.

        One statement takes them, so two instances claiming at once never get the same
        message (PostgreSQL skips rows another claim has locked). The claim (``claimed_by``,
        and `next_attempt` as its expiry) keeps every other drainer off them until it runs
        out or the owner's heartbeat renews it; if the owner dies mid-send, it runs out and
        the message is tried again, with the same Message-ID.
        """
        rows = self._db.execute(
            """UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, claimed_by = ?
               WHERE id IN (
                   SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt <= ?
                   ORDER BY next_attempt, id LIMIT ? /*lock-rows*/)
               RETURNING *""",
            (lease_until, owner or process_owner(), now, limit),
        ).fetchall()
        claimed = [_outbox_message(row, attempts=row["attempts"]) for row in rows]
        return sorted(claimed, key=lambda message: message.id)

    def mark_sent(self, outbox_id: int, at: float, note: str | None = None) -> None:
        self._db.execute(
            "UPDATE outbox SET sent_at = ?, last_error = ? WHERE id = ?", (at, note, outbox_id)
        )

    def mark_failed(
        self, outbox_id: int, error: str, next_attempt: float, owner: str | None = None
    ) -> None:
        """Record a failed try: the message waits until `next_attempt`, claimed by no one
        (``retry now`` may lift its backoff). A message already sent stays sent. With
        `owner`, only while the claim is still the owner's: an instance whose claim ran out
        (a paused VM) must not lift the live claim of the instance that took the message
        over, which would let a third one send it too."""
        sql = """UPDATE outbox SET last_error = ?, next_attempt = ?, claimed_by = NULL
                 WHERE id = ? AND sent_at IS NULL"""
        params: tuple[object, ...] = (error, next_attempt, outbox_id)
        if owner is not None:
            sql += " AND (claimed_by IS NULL OR claimed_by = ?)"
            params += (owner,)
        self._db.execute(sql, params)

    def defer_due_messages(self, now: float, until: float) -> int:
        """Push every message due by `now` back to `until` (the server is unreachable: none
        of them can go now). Their attempt counts stay as they are."""
        cursor = self._db.execute(
            """UPDATE outbox SET next_attempt = ?, claimed_by = NULL
               WHERE sent_at IS NULL AND next_attempt <= ?""",
            (until, now),
        )
        return cursor.rowcount

    def last_queued_at(self, kind: str) -> float | None:
        """When the newest message of this kind was queued (None: never)."""
        row = self._db.execute("SELECT max(created_at) FROM outbox WHERE kind = ?", (kind,))
        value = row.fetchone()[0]
        return None if value is None else float(value)

    def unsent_count(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        )

    def retry_unsent_now(self, now: float, owner: str | None = None) -> int:
        """Make unsent messages due now, cancelling their backoff (an operator fixed the mail
        server: SIGUSR2; `watcher run --once` retries everything). Lifts the claims of
        `owner` (default: this process; call it with no drain of its own running) and of
        instances presumed dead (lease run out, or never registered), never the live claim
        of another registered instance: that one may be sending the message right now."""
        cursor = self._db.execute(
            """UPDATE outbox SET next_attempt = ?, claimed_by = NULL
               WHERE sent_at IS NULL AND next_attempt > ?
               AND (claimed_by IS NULL OR claimed_by = ? OR claimed_by NOT IN (
                   SELECT id FROM instances WHERE lease_until > ?))""",
            (now, now, owner or process_owner(), now),
        )
        return cursor.rowcount

    def next_outbox_attempt(self) -> float | None:
        """When the earliest unsent message is due (None: the outbox is empty)."""
        row = self._db.execute(
            "SELECT min(next_attempt) FROM outbox WHERE sent_at IS NULL"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def prune_sent_messages(self, sent_before: float) -> int:
        """Forget messages a server accepted before `sent_before` (unsent ones stay)."""
        cursor = self._db.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (sent_before,)
        )
        return cursor.rowcount

    def digested_entries(self, entry_keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (list, entry) pairs some earlier digest already listed."""
        found: set[tuple[str, str]] = set()
        for list_name, entry_id in entry_keys:
            row = self._db.execute(
                """SELECT 1 FROM matches WHERE list_name = ? AND entry_id = ?
                   AND digest_id IS NOT NULL LIMIT 1""",
                (list_name, entry_id),
            ).fetchone()
            if row is not None:
                found.add((list_name, entry_id))
        return found

    def daily_mentions(
        self, entry_keys: Sequence[tuple[str, str]], start: float, days: int
    ) -> dict[tuple[str, str], list[int]]:
        """Matches per day of each (list, entry) pair over `days` days of 86,400 s from
        `start` (day 0 first), dated by the article's publication time, or by when it was
        found where the feed gave none. Matches a first poll recorded without mailing count
        too: they are mentions all the same. One grouped query per entry (the entry index):
        at most `days` rows each, however long the history."""
        end = start + days * 86400.0
        counts: dict[tuple[str, str], list[int]] = {}
        for list_name, entry_id in entry_keys:
            per_day = [0] * days
            rows = self._db.execute(
                """SELECT CAST(floor((at - ?) / 86400) AS INTEGER) AS day, count(*) FROM (
                       SELECT COALESCE(a.published, m.found_at) AS at
                       FROM matches m JOIN articles a ON a.id = m.article_id
                       WHERE m.list_name = ? AND m.entry_id = ?) AS dated
                   WHERE at >= ? AND at < ? GROUP BY day""",
                (start, list_name, entry_id, start, end),
            )
            for day, count in rows:
                per_day[min(int(day), days - 1)] += int(count)
            counts[(list_name, entry_id)] = per_day
        return counts

    def outbox_messages(self, kind: str | None = None) -> list[OutboxMessage]:
        """Every message kept in the outbox (sent or not), oldest first."""
        where, params = ("", ()) if kind is None else ("WHERE kind = ?", (kind,))
        rows = self._db.execute(f"SELECT * FROM outbox {where} ORDER BY id", params)
        return [_outbox_message(row, attempts=row["attempts"]) for row in rows]

    # --- official lists kept current, article text for back-screening (watcher.lists) ------

    def list_state(self, name: str) -> ListState:
        row = self._db.execute("SELECT * FROM list_state WHERE name = ?", (name,)).fetchone()
        return ListState(name) if row is None else _list_state(row)

    def save_list_state(self, state: ListState) -> None:
        validators = {u: [v.etag, v.last_modified] for u, v in state.validators.items()}
        self._db.execute(
            """INSERT INTO list_state
                   (name, validators, last_check, last_success, last_change, failures,
                    failing_since, last_error, entries, data_date)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET
                   validators = excluded.validators, last_check = excluded.last_check,
                   last_success = excluded.last_success, last_change = excluded.last_change,
                   failures = excluded.failures, failing_since = excluded.failing_since,
                   last_error = excluded.last_error, entries = excluded.entries,
                   data_date = excluded.data_date""",
            (
                state.name,
                json.dumps(validators),
                state.last_check,
                state.last_success,
                state.last_change,
                state.failures,
                state.failing_since,
                state.last_error,
                state.entries,
                state.data_date,
            ),
        )

    def add_list_change(
        self,
        list_name: str,
        version: str,
        counts: tuple[int, int, int],
        diff_json: str,
        now: float,
        *,
        rescreen: bool,
    ) -> bool:
        """Record an update's diff, once per (list, version); False when already recorded
        (an update interrupted after recording it is simply run again)."""
        cursor = self._db.execute(
            """INSERT INTO list_changes
                   (list_name, version, at, added, removed, changed, diff, rescreened_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (list_name, version) DO NOTHING""",
            (
                list_name,
                version,
                now,
                *counts,
                zlib.compress(diff_json.encode()),
                None if rescreen else now,
            ),
        )
        return cursor.rowcount > 0

    def list_changes_to_rescreen(self) -> list[ListChangeRow]:
        return self._list_changes("rescreened_at IS NULL")

    def pending_list_changes(self) -> list[ListChangeRow]:
        """Changes no digest has listed yet, oldest first."""
        return self._list_changes("digest_id IS NULL")

    def _list_changes(self, where: str) -> list[ListChangeRow]:
        rows = self._db.execute(f"SELECT * FROM list_changes WHERE {where} ORDER BY id")
        return [_list_change(row) for row in rows]

    def mark_rescreened(self, change_id: int, at: float) -> None:
        self._db.execute("UPDATE list_changes SET rescreened_at = ? WHERE id = ?", (at, change_id))

    def mark_list_changes_digested(self, change_ids: Sequence[int], digest_id: str) -> int:
        """Check-and-set, as `mark_digested`: only changes still pending are marked."""
        changed = 0
        for start in range(0, len(change_ids), ID_BATCH):
            ids = list(change_ids[start : start + ID_BATCH])
            cursor = self._db.execute(
                f"""UPDATE list_changes SET digest_id = ? WHERE digest_id IS NULL
                    AND id IN ({",".join("?" * len(ids))})""",
                (digest_id, *ids),
            )
            changed += cursor.rowcount
        return changed

    def keep_article_texts(self, texts: Sequence[tuple[str, str]], now: float) -> None:
        """Keep (article id, text) compressed for back-screening (the newest version wins)."""
        newest = dict(texts)  # one row per article: PostgreSQL updates a row once a statement
        _insert_rows(
            self._db,
            "INSERT INTO article_texts (article_id, stored_at, text)",
            [
                (article_id, now, zlib.compress(text.encode(), 6))
                for article_id, text in newest.items()
            ],
            """ON CONFLICT (article_id) DO UPDATE SET
                   stored_at = excluded.stored_at, text = excluded.text""",
        )

    def article_texts(
        self, since: float, after_id: str = "", limit: int = ID_BATCH
    ) -> list[tuple[str, str]]:
        """One batch of (article id, text) kept since `since`, in id order after `after_id`."""
        rows = self._db.execute(
            """SELECT article_id, text FROM article_texts WHERE stored_at >= ? AND article_id > ?
               ORDER BY article_id LIMIT ?""",
            (since, after_id, limit),
        )
        return [(row[0], zlib.decompress(row[1]).decode()) for row in rows]

    def prune_list_data(self, texts_before: float, changes_before: float) -> int:
        """Forget article text older than the back-screening window, and list changes that
        a digest listed and back-screening finished before `changes_before`."""
        texts = self._db.execute("DELETE FROM article_texts WHERE stored_at < ?", (texts_before,))
        changes = self._db.execute(
            """DELETE FROM list_changes WHERE digest_id IS NOT NULL
               AND rescreened_at IS NOT NULL AND at < ?""",
            (changes_before,),
        )
        return texts.rowcount + changes.rowcount

    # Lists shared by instances (issue 10): each instance keeps list files in its own
    # state_dir; the database says which version is in force (`list_files`) and holds its body,
    # so an instance behind it catches up without a download, and an update is recorded once
    # (check-and-set against the version it was diffed from, `watcher.lists.update`).

    def list_file_version(self, name: str) -> str | None:
        """The version in force of list `name` (None: none recorded yet)."""
        row = self._db.execute("SELECT version FROM list_files WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def list_file(self, name: str) -> tuple[str, str] | None:
        """(version, watchlist file text) of the version in force of list `name`."""
        row = self._db.execute(
            "SELECT version, body FROM list_files WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (str(row[0]), zlib.decompress(row[1]).decode())

    def save_list_file(self, name: str, version: str, text: str, now: float) -> None:
        """Make `version` (whose file text is `text`) the version in force of list `name`."""
        self._db.execute(
            """INSERT INTO list_files (name, version, saved_at, body) VALUES (?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET
                   version = excluded.version, saved_at = excluded.saved_at,
                   body = excluded.body""",
            (name, version, now, zlib.compress(text.encode(), 6)),
        )

    def claim_rescreen(self, change_id: int, owner: str, now: float, until: float) -> bool:
        """Take (or renew) the back-screening of a list change until `until`, check-and-set:
        False when it is done already or another owner's claim runs past `now`."""
        cursor = self._db.execute(
            """UPDATE list_changes SET rescreen_owner = ?, rescreen_until = ?
               WHERE id = ? AND rescreened_at IS NULL
                 AND (rescreen_owner IS NULL OR rescreen_owner = ? OR rescreen_until <= ?)""",
            (owner, until, change_id, owner, now),
        )
        return cursor.rowcount > 0

    # --- instances and leases -------------------------------------------------------------
    #
    # Two or more instances (``watcher run`` processes, on one host or several) share one
    # database and split the work through leases: a row names its owner (an instance id) and
    # an expiry; until the expiry nobody else takes it, from then on anyone may. Taking one
    # is a single check-and-set statement, so two instances never both get it.
    #   * feeds (``lease_owner``, ``lease_until``): the instance polling a feed. Taken by
    #     `claim_due_feeds`, given back by `release_feed` in the poll's own final write, so
    #     each feed is polled once per interval between all instances.
    #   * roles (``leases``): 'leader' builds the digest, prunes and updates the official
    #     lists; one holder at a time (`claim_role`).
    #   * outbox claims (``claimed_by``; the expiry is ``next_attempt``): the instance sending
    #     a message (`claim_due_messages`).
    #   * the instance itself (``instances.lease_until``): alive while its heartbeat renews it.
    # `heartbeat` renews all of an instance's leases at once; `retire_instance` (clean stop)
    # gives them all back, so the others take over at once. On SIGKILL or host loss nothing is
    # given back: the leases run out within the lease time (``database.lease``) and the others
    # take the feeds, the leadership and the claimed mail. Nothing is lost: a feed's poll is
    # one transaction (done or not at all), a digest marks its matches in the transaction that
    # queues it. One window stays, as with one instance: the server accepted a message and its
    # sender died before recording that; the message goes again, with the same Message-ID.
    # Expiries compare times from the instances' own clocks (never the database's): the hosts'
    # clocks must agree to well within the lease (NTP), or a fast clock takes live leases.

    def register_instance(self, info: InstanceInfo, now: float, lease_until: float) -> None:
        """Record `info` as a live instance until `lease_until` (again: a fresh start)."""
        self._db.execute(
            """INSERT INTO instances
                   (id, host, pid, version, started_at, heartbeat_at, lease_until)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET
                   host = excluded.host, pid = excluded.pid, version = excluded.version,
                   started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
                   lease_until = excluded.lease_until""",
            (info.id, info.host, info.pid, info.version, now, now, lease_until),
        )

    def heartbeat(self, instance_id: str, now: float, lease_until: float) -> bool:
        """Renew the instance and every lease it holds (feeds, roles, outbox claims) until
        `lease_until`. False, renewing nothing, when the instance is presumed dead already
        (its row is gone, or its lease ran out by `now`, so others may have taken its work):
        the caller must stop what it was doing, `retire_instance` and register afresh."""
        row = self._db.execute(
            "SELECT lease_until FROM instances WHERE id = ?", (instance_id,)
        ).fetchone()
        if row is None or row[0] <= now:
            return False
        self._db.execute(
            "UPDATE instances SET heartbeat_at = ?, lease_until = ? WHERE id = ?",
            (now, lease_until, instance_id),
        )
        self._db.execute(
            "UPDATE feeds SET lease_until = ? WHERE lease_owner = ?", (lease_until, instance_id)
        )
        self._db.execute("UPDATE leases SET until = ? WHERE owner = ?", (lease_until, instance_id))
        self._db.execute(
            """UPDATE outbox SET next_attempt = ?
               WHERE claimed_by = ? AND sent_at IS NULL AND next_attempt < ?""",
            (lease_until, instance_id, lease_until),  # never shortens a longer claim
        )
        return True

    def retire_instance(self, instance_id: str) -> None:
        """A clean stop: give back every lease the instance holds and forget it, so the
        others take over at once instead of after the lease time. Call it once its work has
        stopped: mail it had claimed is due again at once (the claim counted as a try)."""
        self._db.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
            (instance_id,),
        )
        self._db.execute("DELETE FROM leases WHERE owner = ?", (instance_id,))
        self._db.execute(
            """UPDATE outbox SET claimed_by = NULL, next_attempt = created_at
               WHERE claimed_by = ? AND sent_at IS NULL""",
            (instance_id,),
        )
        self._db.execute("DELETE FROM instances WHERE id = ?", (instance_id,))

    def instances(self, now: float) -> list[InstanceRow]:
        """Every registered instance, live ones first, then by host and start: whether each
        is alive at `now`, the roles and how many feeds it holds (live leases only)."""
        roles: dict[str, list[str]] = {}
        for name, owner in self._db.execute(
            "SELECT name, owner FROM leases WHERE until > ? ORDER BY name", (now,)
        ):
            roles.setdefault(owner, []).append(name)
        rows = self._db.execute(
            """SELECT i.*, (SELECT count(*) FROM feeds f
                            WHERE f.lease_owner = i.id AND f.lease_until > ?) AS feeds_held
               FROM instances i ORDER BY i.host, i.started_at, i.id""",
            (now,),
        ).fetchall()
        found = [
            InstanceRow(
                id=row["id"],
                host=row["host"],
                pid=row["pid"],
                version=row["version"],
                started_at=row["started_at"],
                heartbeat_at=row["heartbeat_at"],
                lease_until=row["lease_until"],
                alive=row["lease_until"] > now,
                roles=tuple(roles.get(row["id"], ())),
                feeds_held=int(row["feeds_held"]),
            )
            for row in rows
        ]
        return sorted(found, key=lambda instance: not instance.alive)

    def prune_instances(self, dead_before: float) -> int:
        """Forget instances whose lease ran out before `dead_before` (long dead: kept until
        then so `watcher status` shows who died). Leases they still name have run out too."""
        cursor = self._db.execute("DELETE FROM instances WHERE lease_until < ?", (dead_before,))
        return cursor.rowcount

    def claim_due_feeds(
        self, owner: str, now: float, lease_until: float, limit: int
    ) -> list[FeedRow]:
        """Take up to `limit` active, enabled feeds due by `now` (the most overdue first)
        for `owner` until `lease_until`, and return them as they are now.

        A feed is taken when no one holds it, its lease ran out, or `owner` holds it already
        (renewed and returned again: the caller skips those it is polling right now). A feed
        held by a live instance is never handed to another. One statement: two instances
        claiming at once never get the same feed."""
        rows = self._db.execute(
            """UPDATE feeds SET lease_owner = ?, lease_until = ?
               WHERE id IN (
                   SELECT id FROM feeds
                   WHERE active = 1 AND disabled_at IS NULL AND next_poll <= ?
                   AND (lease_owner IS NULL OR lease_until <= ? OR lease_owner = ?)
                   ORDER BY next_poll, id LIMIT ? /*lock-rows*/)
               RETURNING *""",
            (owner, lease_until, now, now, owner, limit),
        ).fetchall()
        return sorted((_feed_row(row) for row in rows), key=lambda f: (f.next_poll, f.id))

    def release_feed(self, feed_id: int, owner: str) -> bool:
        """Give back `owner`'s lease on the feed: call it in the poll's final write (the
        transaction that stores the next poll time), so it costs no transaction of its own.
        False when `owner` no longer held it (its lease ran out and another took it)."""
        cursor = self._db.execute(
            """UPDATE feeds SET lease_owner = NULL, lease_until = NULL
               WHERE id = ? AND lease_owner = ?""",
            (feed_id, owner),
        )
        return cursor.rowcount == 1

    def claim_role(self, name: str, owner: str, now: float, until: float) -> bool:
        """Take the role `name` for `owner` until `until` when no one holds it or its lease
        ran out by `now`, or renew it when `owner` holds it. False: another holds it."""
        cursor = self._db.execute(
            """INSERT INTO leases (name, owner, until, since) VALUES (?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET
                   owner = excluded.owner, until = excluded.until,
                   since = CASE WHEN leases.owner = excluded.owner
                                THEN leases.since ELSE excluded.since END
               WHERE leases.owner = excluded.owner OR leases.until <= ?""",
            (name, owner, until, now, now),
        )
        return cursor.rowcount == 1

    def release_role(self, name: str, owner: str) -> bool:
        """Give the role back at once if `owner` holds it (False: it did not)."""
        cursor = self._db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
        return cursor.rowcount == 1

    def role_holder(self, name: str, now: float) -> str | None:
        """Who holds the role at `now` (None: no one, or the holder's lease ran out)."""
        row = self._db.execute(
            "SELECT owner FROM leases WHERE name = ? AND until > ?", (name, now)
        ).fetchone()
        return None if row is None else str(row[0])

    # --- poll clock -----------------------------------------------------------------------
    # `feeds.next_poll` is the daemon's one poll clock: it polls what is due and sleeps until
    # the next one. `due_feeds` is the selection of one instance; `claim_due_feeds` (above)
    # is the same selection taken with a lease, for several instances on one database.

    def due_feeds(self, now: float, limit: int) -> list[FeedRow]:
        """Active, enabled feeds whose next poll is at or before ``now``, the most overdue
        first, at most ``limit``."""
        rows = self._db.execute(
            f"""SELECT * FROM feeds WHERE {_POLLABLE} AND next_poll <= ?
                ORDER BY next_poll, id LIMIT ?""",
            (now, limit),
        )
        return [_feed_row(row) for row in rows]

    def next_due_poll(self, after: float) -> float | None:
        """The earliest next poll later than ``after`` among active, enabled feeds (None:
        nothing is scheduled after it)."""
        row = self._db.execute(
            f"SELECT MIN(next_poll) FROM feeds WHERE {_POLLABLE} AND next_poll > ?", (after,)
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])


def _list_state(row: DbRow) -> ListState:
    validators = {
        url: Validators(etag, modified)
        for url, (etag, modified) in json.loads(row["validators"]).items()
    }
    return ListState(
        name=row["name"],
        validators=validators,
        last_check=row["last_check"],
        last_success=row["last_success"],
        last_change=row["last_change"],
        failures=row["failures"],
        failing_since=row["failing_since"],
        last_error=row["last_error"],
        entries=row["entries"],
        data_date=row["data_date"],
    )


def _list_change(row: DbRow) -> ListChangeRow:
    return ListChangeRow(
        id=row["id"],
        list_name=row["list_name"],
        version=row["version"],
        at=row["at"],
        added=row["added"],
        removed=row["removed"],
        changed=row["changed"],
        diff_json=zlib.decompress(row["diff"]).decode(),
        rescreened_at=row["rescreened_at"],
        digest_id=row["digest_id"],
    )


def _insert_rows(
    db: DbConnection, insert: str, rows: Sequence[Sequence[object]], tail: str
) -> list[DbCursor]:
    """``insert VALUES (...), (...), ... tail`` for `rows` (all of one width), `ROW_BATCH` rows
    a statement (their cursors: read ``rowcount`` only when needed, as it waits for the
    server). One statement, not one per row: one round trip to a database server, and on
    SQLite as fast as ``executemany``. A statement updates each row at most once on
    PostgreSQL: with ``DO UPDATE``, give one row per conflict key."""
    cursors = []
    for start in range(0, len(rows), ROW_BATCH):
        batch = rows[start : start + ROW_BATCH]
        values = ",".join([f"({','.join('?' * len(batch[0]))})"] * len(batch))
        params = [value for row in batch for value in row]
        cursors.append(db.execute(f"{insert} VALUES {values} {tail}", params))
    return cursors


def _feed_row(row: DbRow) -> FeedRow:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 (a DbRow needs keys())
    values["initialized"] = bool(values["initialized"])
    values["active"] = bool(values["active"])
    return FeedRow(**values)


def _timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _pending_match(row: DbRow, feeds: tuple[str, ...]) -> PendingMatch:
    return PendingMatch(
        id=row["id"],
        article_id=row["article_id"],
        title=row["article_title"],
        link=row["article_link"],
        published=_timestamp(row["article_published"]),
        feeds=feeds,
        list_name=row["list_name"],
        entry_id=row["entry_id"],
        name=row["name"],
        type=row["type"],
        severity=Severity(row["severity"]),
        programs=tuple(json.loads(row["programs"])),
        alias=row["alias"],
        text=row["text"],
        score=row["score"],
        snippet=row["snippet"],
        found_at=datetime.fromtimestamp(row["found_at"], UTC),
        alerted_at=_timestamp(row["alerted_at"]),
        alert_held=row["alert_held"],
        origin=row["origin"],
        also=tuple((str(name), str(entry)) for name, entry in json.loads(row["also"])),
        why=row["why"],
    )


def _outbox_message(row: DbRow, attempts: int) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        kind=row["kind"],
        message_id=row["message_id"],
        recipients=tuple(json.loads(row["recipients"])),
        data=bytes(row["message"]),
        created_at=row["created_at"],
        attempts=attempts,
        next_attempt=row["next_attempt"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )
