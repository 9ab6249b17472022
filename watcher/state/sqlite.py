"""All durable state, behind one narrow, transaction-shaped interface.

Nothing else in the package touches SQL. Callers open a `Store`, then do each unit of work
inside ``with store.transaction() as tx:`` and call methods on ``tx``. A PostgreSQL backend
later implements the same `Store`/`Transaction` surface; no caller changes.

SQLite specifics: WAL mode, ``synchronous=NORMAL`` (durable at checkpoints and safe against
corruption), a busy timeout, and ``BEGIN IMMEDIATE`` so a writer never deadlocks on upgrade.
Schema versions live in ``PRAGMA user_version``; `MIGRATIONS[n]` moves version n to n+1.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from watcher.config.watchlist import Severity
from watcher.errors import EX_CANTCREAT, EX_DATAERR, EX_IOERR, WatcherError
from watcher.ingest.feedstate import FEED_STATE_COLUMNS, FeedRow, ItemRecord, KnownItem, StoreCounts
from watcher.lists.state import ListChangeRow, ListState, Validators
from watcher.matching.types import Match
from watcher.notify.notice import OutboxMessage, PendingMatch

DB_FILE = "state.sqlite3"
ID_BATCH = 500  # ids per `IN (...)` list (SQLite allows 32766 parameters since 3.32)

# Each script upgrades the schema by one version. Append only; never edit a released one.
MIGRATIONS: list[str] = [
    # v0 -> v1
    """
    CREATE TABLE feeds (
        id              INTEGER PRIMARY KEY,
        url             TEXT NOT NULL UNIQUE,   -- as configured: the feed's identity
        current_url     TEXT NOT NULL,          -- after permanent (301/308) redirects
        name            TEXT NOT NULL DEFAULT '',
        etag            TEXT,
        last_modified   TEXT,
        next_poll       REAL NOT NULL DEFAULT 0, -- unix time
        failures        INTEGER NOT NULL DEFAULT 0,
        failing_since   REAL,
        last_error      TEXT,
        last_status     INTEGER,
        last_poll       REAL,
        last_success    REAL,
        last_new_item   REAL,
        disabled_at     REAL,
        disabled_reason TEXT,
        initialized     INTEGER NOT NULL DEFAULT 0, -- first poll done (existing items recorded)
        active          INTEGER NOT NULL DEFAULT 1, -- 0: removed from the config (history kept)
        ttl             REAL  -- RSS <ttl> (seconds) at the last parse; also honoured on 304
    );
    CREATE TABLE articles (
        id           TEXT PRIMARY KEY,  -- canonical identity, shared across feeds
        link         TEXT NOT NULL DEFAULT '',
        title        TEXT NOT NULL DEFAULT '',
        published    REAL,
        content_hash TEXT NOT NULL,
        first_seen   REAL NOT NULL,
        last_seen    REAL NOT NULL
    );
    CREATE TABLE article_sources (
        feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        item_key   TEXT NOT NULL,       -- the item's identity inside that feed
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        in_feed    INTEGER NOT NULL DEFAULT 1, -- still present in the feed's last document
        content_hash TEXT NOT NULL DEFAULT '', -- of this feed's version of the item
        first_seen REAL NOT NULL DEFAULT 0,
        last_seen  REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (feed_id, item_key)
    );
    CREATE INDEX article_sources_article ON article_sources(article_id);
    CREATE TABLE matches (
        id           INTEGER PRIMARY KEY,
        article_id   TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        list_name    TEXT NOT NULL,
        entry_id     TEXT NOT NULL,
        name         TEXT NOT NULL,
        type         TEXT NOT NULL,
        severity     TEXT NOT NULL,
        programs     TEXT NOT NULL DEFAULT '[]',  -- JSON array
        alias        TEXT NOT NULL,
        text         TEXT NOT NULL,
        start        INTEGER NOT NULL,
        "end"        INTEGER NOT NULL,
        score        INTEGER NOT NULL,
        snippet      TEXT NOT NULL,
        found_at     REAL NOT NULL,
        notify       INTEGER NOT NULL DEFAULT 1,  -- 0: recorded on a feed's first poll, not mailed
        alerted_at   REAL,      -- an immediate alert for it was queued in the outbox
        digest_id    TEXT,      -- the digest that listed it (NULL: pending)
        UNIQUE (article_id, list_name, entry_id)
    );
    CREATE INDEX matches_pending ON matches(digest_id) WHERE digest_id IS NULL;
    CREATE INDEX matches_entry ON matches(list_name, entry_id);
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,            -- digest | alert | test
        message_id   TEXT NOT NULL UNIQUE,     -- reused on every retry
        recipients   TEXT NOT NULL,            -- JSON array
        message      BLOB NOT NULL,            -- the rendered RFC 5322 bytes
        created_at   REAL NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL DEFAULT 0,
        last_error   TEXT,
        sent_at      REAL
    );
    CREATE INDEX outbox_unsent ON outbox(next_attempt) WHERE sent_at IS NULL;
    CREATE TABLE suppressions (
        rule       TEXT PRIMARY KEY,          -- the ignore-list rule that fired
        count      INTEGER NOT NULL DEFAULT 0,
        last_at    REAL
    );
    """,
    # v1 -> v2
    """
    -- the last parse's complaint about a feed it still read (ill-formed XML); NULL when clean
    ALTER TABLE feeds ADD COLUMN warning TEXT;
    """,
    # v2 -> v3: bounded alerts (per-entry window, caps, age limit)
    """
    ALTER TABLE matches ADD COLUMN alert_held TEXT;  -- 'cap' | 'old': digest only, no alert
    CREATE TABLE alert_entries (
        list_name     TEXT NOT NULL,
        entry_id      TEXT NOT NULL,
        last_alert_at REAL NOT NULL,  -- the entry's last alert mail: starts its window
        PRIMARY KEY (list_name, entry_id)
    );
    CREATE INDEX matches_alertable ON matches(list_name, entry_id)
        WHERE digest_id IS NULL AND alerted_at IS NULL AND alert_held IS NULL AND notify = 1;
    CREATE INDEX outbox_kind_created ON outbox(kind, created_at);
    """,
    # v3 -> v4: official lists kept current (issue 11): their state, their recorded changes
    # (for the digest and back-screening) and the article text kept for back-screening
    """
    CREATE TABLE list_state (
        name          TEXT PRIMARY KEY,        -- the lists: entry's name
        validators    TEXT NOT NULL DEFAULT '{}', -- JSON {url: [etag, last_modified]}
        last_check    REAL,
        last_success  REAL,
        last_change   REAL,
        failures      INTEGER NOT NULL DEFAULT 0,
        failing_since REAL,
        last_error    TEXT,
        entries       INTEGER,
        data_date     TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE list_changes (
        id            INTEGER PRIMARY KEY,
        list_name     TEXT NOT NULL,
        version       TEXT NOT NULL,            -- sha256 of the list file the update wrote
        at            REAL NOT NULL,
        added         INTEGER NOT NULL,
        removed       INTEGER NOT NULL,
        changed       INTEGER NOT NULL,
        diff          BLOB NOT NULL,            -- zlib-compressed JSON (watcher.lists.diff)
        rescreened_at REAL,                     -- NULL: back-screening still to do
        digest_id     TEXT,                     -- the digest that listed it (NULL: pending)
        UNIQUE (list_name, version)
    );
    CREATE TABLE article_texts (
        article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        stored_at  REAL NOT NULL,
        text       BLOB NOT NULL                -- zlib-compressed UTF-8
    );
    CREATE INDEX article_texts_stored ON article_texts(stored_at);
    ALTER TABLE matches ADD COLUMN origin TEXT NOT NULL DEFAULT 'feed'; -- 'rescreen': back-screened
    """,
    # v4 -> v5: the entity's other listings (one card per real-world entity)
    """
    -- JSON [[list, entry id], ...]
    ALTER TABLE matches ADD COLUMN also TEXT NOT NULL DEFAULT '[]';
    """,
    # v5 -> v6: why it matched, in words (`Match.why`); '' for matches stored before
    """
    ALTER TABLE matches ADD COLUMN why TEXT NOT NULL DEFAULT '';
    """,
]

# matches that could still go out as an immediate alert (`m`: matches; add the severities)
_ALERTABLE = (
    "m.digest_id IS NULL AND m.notify = 1 AND m.alerted_at IS NULL AND m.alert_held IS NULL"
)
_SEVERITY_RANK = "CASE m.severity {} ELSE 0 END".format(
    " ".join(f"WHEN '{s}' THEN {s.rank}" for s in Severity)
)
_ARTICLE_TIME = "COALESCE(a.published, a.first_seen)"  # what "how old is the story" means
# the digest's order (`render.sort_for_digest`), so a LIMIT reads the digest's first lines
_DIGEST_ORDER = (
    f"{_SEVERITY_RANK} DESC, casefold(m.name), m.list_name || '/' || m.entry_id,"
    " COALESCE(a.published, m.found_at) DESC, m.found_at, m.id"
)


class StateError(WatcherError):
    pass


class DuplicateMessageError(StateError):
    """A message with this Message-ID is already in the outbox (nothing was stored)."""


class StateCorrupt(StateError):  # noqa: N818 -- reads as what happened; public API
    """The state database is damaged, truncated or not a SQLite database (EX_DATAERR)."""

    exit_code = EX_DATAERR


class StateNotWritable(StateError):  # noqa: N818
    """The state directory or database cannot be created or written (EX_CANTCREAT)."""

    exit_code = EX_CANTCREAT


class StateStoreFailed(StateError):  # noqa: N818
    """A write failed for lack of room or an I/O error: disk full, quota (EX_IOERR)."""

    exit_code = EX_IOERR


# The database file itself failed (not one operation on it): what callers report and stop on.
STATE_FILE_ERRORS = (StateCorrupt, StateNotWritable, StateStoreFailed)

# SQLite primary result codes (sqlite3.h), the low byte of `sqlite3.Error.sqlite_errorcode`
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 3, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26


def state_error(path: Path, exc: sqlite3.Error | OSError) -> StateError | None:
    """The user-facing error for a failure of the state database at ``path`` (naming the
    file and what to do), or None when it is not about the file (a bug, a busy lock)."""
    if isinstance(exc, OSError):
        return not_writable(path, exc.strerror or str(exc))
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return corrupt(path, str(exc))
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM):
        return not_writable(path, str(exc))
    if code in (_SQLITE_FULL, _SQLITE_IOERR):
        return StateStoreFailed(
            f"could not store to the state database {path}: {exc}. Free space on its file "
            "system (or raise the quota); nothing already stored is lost, and what was not "
            "stored is fetched again on the next poll"
        )
    return None


def corrupt(path: Path, detail: str) -> StateCorrupt:
    return StateCorrupt(
        f"the state database {path} is damaged ({detail}). Stop the service, then restore "
        f"it from a backup; or salvage what is readable with `sqlite3 {path} .recover | "
        f"sqlite3 {path}.recovered` and move the recovered file into its place; or move it "
        f"aside (mv {path} {path}.broken) to start a new history, in which the feeds' "
        "current items are recorded again as a baseline, not mailed"
    )


def not_writable(path: Path, detail: str, what: str = "the state database") -> StateNotWritable:
    return StateNotWritable(
        f"cannot write {what} {path}: {detail}. The directory {path.parent} and "
        "the files in it must be writable by the user the service runs as (check state_dir "
        "in the config, ownership and permissions, and whether the file system is mounted "
        "read-only)"
    )


def _refuse_truncated(path: Path) -> None:
    """A database file of 0 bytes was truncated (SQLite writes its header on creation, and
    WAL mode at once): opening it would silently start a new history and mail every item of
    every feed again. Only a missing file starts fresh."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise not_writable(path, exc.strerror or str(exc)) from exc
    if size == 0:
        raise StateCorrupt(
            f"the state database {path} is empty (0 bytes): it was truncated, and starting "
            "over on it would forget every article already seen. Restore it from a backup; "
            f"to start a new history on purpose, remove it (rm {path}): only a missing file "
            "starts fresh"
        )


class Store:
    """The state database. One instance per process; not shared across threads.

    Failures of the database file itself surface as `StateCorrupt` (65), `StateNotWritable`
    (73) or `StateStoreFailed` (74), each naming the file and what to do."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / DB_FILE
        _refuse_truncated(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise state_error(self.path, exc) or StateError(
                f"cannot open state database {self.path}: {exc} "
                "(check state_dir in the config and that the directory is writable)"
            ) from exc
        try:
            self._db.row_factory = sqlite3.Row
            self._db.create_function("casefold", 1, _casefold, deterministic=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            error = state_error(self.path, exc)
            if error is None:
                raise
            raise error from exc
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StateError(
                f"{self.path} has schema version {version}, newer than this sanctions-watch "
                f"understands ({len(MIGRATIONS)}); upgrade sanctions-watch"
            )
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in split_sql(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={target}")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work: committed on normal exit, rolled back on any exception."""
        with self._translated():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                with suppress(sqlite3.Error):  # a damaged file may fail this too
                    self._rollback()
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        """A read-only unit of work: one consistent view of the database that neither waits
        for nor blocks writers (WAL), however long the reading takes. Only read inside it."""
        with self._translated():
            self._db.execute("BEGIN DEFERRED")
            try:
                yield Transaction(self._db)
            finally:
                with suppress(sqlite3.Error):
                    self._rollback()  # nothing to keep: ends the read

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite errors about the file itself become `StateError`s naming it."""
        try:
            yield
        except sqlite3.Error as exc:
            error = state_error(self.path, exc)
            if error is None:
                raise
            raise error from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:  # SQLite may have rolled back itself (SQLITE_FULL...)
            self._db.execute("ROLLBACK")

    def another_connection(self) -> Store:
        """A second `Store` on the same database, for work in one other thread (a `Store` is
        not shared across threads). SQLite serializes the writers of both."""
        return Store(self.path.parent)

    def close(self) -> None:
        self._db.close()


def _casefold(value: str | None) -> str | None:
    """SQL ``casefold(x)``: Python's casefold (SQLite's lower() only folds ASCII), so the
    digest's SQL order is `render.sort_for_digest`'s."""
    return value.casefold() if isinstance(value, str) else value


def split_sql(script: str) -> list[str]:
    """The statements of a migration script, split where SQLite itself sees them end.

    executescript() would COMMIT the open transaction, so statements run one by one instead.
    `sqlite3.complete_statement` knows about comments and string literals, so a ``;`` inside
    either does not split a statement.
    """
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and any(
        part.strip() and not part.strip().startswith("--") for part in pending.splitlines()
    ):
        raise StateError(f"incomplete statement at the end of a migration: {pending.strip()!r}")
    return statements


class Transaction:
    """The operations available inside one transaction. Add methods here, grouped by concern."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

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
                       disabled_at = CASE WHEN active = 0 THEN NULL ELSE disabled_at END,
                       disabled_reason = CASE WHEN active = 0 THEN NULL ELSE disabled_reason END,
                       next_poll = CASE WHEN active = 0 THEN ? ELSE next_poll END,
                       active = 1""",
                (url, url, name, now, now),
            )
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS configured_feeds (url TEXT PRIMARY KEY)")
        self._db.execute("DELETE FROM configured_feeds")
        self._db.executemany(
            "INSERT OR IGNORE INTO configured_feeds VALUES (?)", [(u,) for u, _ in feeds]
        )
        self._db.execute(
            """UPDATE feeds SET active = 0
               WHERE active = 1 AND url NOT IN (SELECT url FROM configured_feeds)"""
        )

    def feeds(self, *, active_only: bool = True) -> list[FeedRow]:
        where = "WHERE active = 1" if active_only else ""
        rows = self._db.execute(f"SELECT * FROM feeds {where} ORDER BY id")
        return [_feed_row(row) for row in rows]

    def feed(self, url: str) -> FeedRow | None:
        row = self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return None if row is None else _feed_row(row)

    def update_feed(self, feed_id: int, changes: Mapping[str, object]) -> None:
        """Set some of the feed's state columns (names from `FEED_STATE_COLUMNS`)."""
        unknown = set(changes) - FEED_STATE_COLUMNS
        if unknown:
            raise ValueError(f"not feed state columns: {sorted(unknown)}")
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
        self._db.executemany(
            """INSERT INTO articles
                   (id, link, title, published, content_hash, first_seen, last_seen)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET
                   link = excluded.link, title = excluded.title,
                   published = COALESCE(excluded.published, published),
                   content_hash = excluded.content_hash, last_seen = excluded.last_seen""",
            [(i.article_id, i.link, i.title, i.published, i.content_hash, now, now) for i in items],
        )
        self._db.execute(
            "UPDATE article_sources SET in_feed = 0 WHERE feed_id = ? AND in_feed = 1", (feed_id,)
        )
        self._db.executemany(
            """INSERT INTO article_sources
                   (feed_id, item_key, article_id, in_feed, content_hash, first_seen, last_seen)
               VALUES (?, ?, ?, 1, ?, ?, ?)
               ON CONFLICT(feed_id, item_key) DO UPDATE SET
                   in_feed = 1, content_hash = excluded.content_hash,
                   last_seen = excluded.last_seen""",
            [(feed_id, i.key, i.article_id, i.content_hash, now, now) for i in items],
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
        before = self._db.total_changes
        self._db.executemany(
            """INSERT OR IGNORE INTO matches
                   (article_id, list_name, entry_id, name, type, severity, programs, alias,
                    text, start, "end", score, snippet, found_at, notify, origin, also, why)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
                for m in matches
            ],
        )
        return self._db.total_changes - before

    def add_suppressions(self, counts: Mapping[str, int], now: float) -> None:
        self._db.executemany(
            """INSERT INTO suppressions (rule, count, last_at) VALUES (?, ?, ?)
               ON CONFLICT(rule) DO UPDATE SET
                   count = count + excluded.count, last_at = excluded.last_at""",
            [(rule, n, now) for rule, n in counts.items() if n > 0],
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
            """SELECT count(*), coalesce(sum(severity = 'high'), 0) FROM matches
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
               DO UPDATE SET last_alert_at = excluded.last_alert_at WHERE last_alert_at <= ?""",
            (*entry, at, window_start),
        )
        return cursor.rowcount == 1

    def _pending(
        self,
        where: str,
        params: tuple[object, ...],
        *,
        order: str = "m.found_at, m.id",
        limit: int = -1,
    ) -> list[PendingMatch]:
        rows = self._db.execute(
            f"""SELECT m.*, a.title AS article_title, a.link AS article_link,
                       a.published AS article_published,
                       (SELECT group_concat(label, char(10)) FROM (
                            SELECT COALESCE(NULLIF(f.name, ''), f.url) AS label
                            FROM article_sources s JOIN feeds f ON f.id = s.feed_id
                            WHERE s.article_id = m.article_id ORDER BY f.id)) AS feed_labels
                FROM matches m JOIN articles a ON a.id = m.article_id
                WHERE {where} ORDER BY {order} LIMIT ?""",
            (*params, limit),
        )
        return [_pending_match(row) for row in rows]

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
        try:
            cursor = self._db.execute(
                """INSERT INTO outbox
                       (kind, message_id, recipients, message, created_at, next_attempt)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (kind, message_id, json.dumps(list(recipients)), data, now, now),
            )
        except sqlite3.IntegrityError as exc:
            if "outbox.message_id" not in str(exc):
                raise
            raise DuplicateMessageError(
                f"{message_id} is already in the outbox of {self._path()}"
            ) from exc
        return int(cursor.lastrowid or 0)

    def _path(self) -> str:
        row = self._db.execute("PRAGMA database_list").fetchone()
        return str(row[2]) if row is not None else "the state database"

    def claim_due_messages(self, now: float, lease_until: float, limit: int) -> list[OutboxMessage]:
        """Unsent messages due by `now`, oldest first, leased until `lease_until`.

        The lease (a future `next_attempt`) keeps a concurrent drainer off them; if this
        process dies mid-send the lease simply expires and the message is retried.
        """
        rows = self._db.execute(
            """SELECT * FROM outbox WHERE sent_at IS NULL AND next_attempt <= ?
               ORDER BY next_attempt, id LIMIT ?""",
            (now, limit),
        ).fetchall()
        self._db.executemany(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ? WHERE id = ?",
            [(lease_until, row["id"]) for row in rows],
        )
        return [_outbox_message(row, attempts=row["attempts"] + 1) for row in rows]

    def mark_sent(self, outbox_id: int, at: float, note: str | None = None) -> None:
        self._db.execute(
            "UPDATE outbox SET sent_at = ?, last_error = ? WHERE id = ?", (at, note, outbox_id)
        )

    def mark_failed(self, outbox_id: int, error: str, next_attempt: float) -> None:
        self._db.execute(
            "UPDATE outbox SET last_error = ?, next_attempt = ? WHERE id = ?",
            (error, next_attempt, outbox_id),
        )

    def defer_due_messages(self, now: float, until: float) -> int:
        """Push every message due by `now` back to `until` (the server is unreachable: none
        of them can go now). Their attempt counts stay as they are."""
        cursor = self._db.execute(
            "UPDATE outbox SET next_attempt = ? WHERE sent_at IS NULL AND next_attempt <= ?",
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

    def retry_unsent_now(self, now: float) -> int:
        """Make every unsent message due now, cancelling its backoff (an operator fixed the
        mail server; `watcher run --once` retries everything). Only call it while holding the
        state lock with no drain running: it also lifts in-flight leases."""
        cursor = self._db.execute(
            "UPDATE outbox SET next_attempt = ? WHERE sent_at IS NULL AND next_attempt > ?",
            (now, now),
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
                """SELECT CAST((at - ?) / 86400 AS INTEGER) AS day, count(*) FROM (
                       SELECT COALESCE(a.published, m.found_at) AS at
                       FROM matches m JOIN articles a ON a.id = m.article_id
                       WHERE m.list_name = ? AND m.entry_id = ?)
                   WHERE at >= ? AND at < ? GROUP BY day""",
                (start, list_name, entry_id, start, end),
            )
            for day, count in rows:
                per_day[min(int(day), days - 1)] += int(count)
            counts[(list_name, entry_id)] = per_day
        return counts

    def outbox_messages(self, kind: str | None = None) -> list[OutboxMessage]:
        """Every message kept in the outbox (sent or not), oldest first."""
        rows = self._db.execute(
            "SELECT * FROM outbox WHERE ? IS NULL OR kind = ? ORDER BY id", (kind, kind)
        )
        return [_outbox_message(row, attempts=row["attempts"]) for row in rows]

    # --- official lists kept current, article text for back-screening (watcher.lists) ------

    def list_state(self, name: str) -> ListState:
        row = self._db.execute("SELECT * FROM list_state WHERE name = ?", (name,)).fetchone()
        return ListState(name) if row is None else _list_state(row)

    def save_list_state(self, state: ListState) -> None:
        validators = {u: [v.etag, v.last_modified] for u, v in state.validators.items()}
        self._db.execute(
            """INSERT OR REPLACE INTO list_state
                   (name, validators, last_check, last_success, last_change, failures,
                    failing_since, last_error, entries, data_date)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
            """INSERT OR IGNORE INTO list_changes
                   (list_name, version, at, added, removed, changed, diff, rescreened_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
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
        self._db.executemany(
            "INSERT OR REPLACE INTO article_texts (article_id, stored_at, text) VALUES (?, ?, ?)",
            [(article_id, now, zlib.compress(text.encode(), 6)) for article_id, text in texts],
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


def _list_state(row: sqlite3.Row) -> ListState:
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


def _list_change(row: sqlite3.Row) -> ListChangeRow:
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


def _feed_row(row: sqlite3.Row) -> FeedRow:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row needs keys())
    values["initialized"] = bool(values["initialized"])
    values["active"] = bool(values["active"])
    return FeedRow(**values)


def _timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _pending_match(row: sqlite3.Row) -> PendingMatch:
    labels = row["feed_labels"]
    return PendingMatch(
        id=row["id"],
        article_id=row["article_id"],
        title=row["article_title"],
        link=row["article_link"],
        published=_timestamp(row["article_published"]),
        feeds=tuple(labels.split("\n")) if labels else (),
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


def _outbox_message(row: sqlite3.Row, attempts: int) -> OutboxMessage:
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
