"""All durable state, behind one narrow, transaction-shaped interface.

Nothing else in the package touches SQL. Callers open a `Store`, then do each unit of work
inside ``with store.transaction() as tx:`` and call methods on ``tx``. A PostgreSQL backend
later implements the same `Store`/`Transaction` surface; no caller changes.

SQLite specifics: WAL mode, ``synchronous=NORMAL`` (durable at checkpoints and safe against
corruption), a busy timeout, and ``BEGIN IMMEDIATE`` so a writer never deadlocks on upgrade.
Schema versions live in ``PRAGMA user_version``; `MIGRATIONS[n]` moves version n to n+1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from watcher.errors import WatcherError

DB_FILE = "state.sqlite3"

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
        initialized     INTEGER NOT NULL DEFAULT 0  -- first poll done (existing items recorded)
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
]


class StateError(WatcherError):
    pass


class Store:
    """The state database. One instance per process; not shared across threads."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / DB_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(
                f"cannot open state database {self.path}: {exc} "
                "(check state_dir in the config and that the directory is writable)"
            ) from exc
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StateError(
                f"{self.path} has schema version {version}, newer than this sanctions-watch "
                f"understands ({len(MIGRATIONS)}); upgrade sanctions-watch"
            )
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in _split_sql(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={target}")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work: committed on normal exit, rolled back on any exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def _split_sql(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction; run statements one by one instead.
    return [s.strip() for s in script.split(";") if s.strip() and not s.strip().startswith("--")]


class Transaction:
    """The operations available inside one transaction. Add methods here, grouped by concern."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # --- feeds and articles (ingestion) -------------------------------------------------

    # --- matches, digests and the outbox (notifier) -------------------------------------
