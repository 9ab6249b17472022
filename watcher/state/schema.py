"""The state schema: the migrations every backend applies, in order.

Written in SQLite's dialect; `split_sql` cuts a script into statements where SQLite itself sees
them end.
"""

from __future__ import annotations

import sqlite3

from watcher.state.errors import StateError, StateSchemaOutdated

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
    # v6 -> v7: instances sharing one database, and their leases (issue 10)
    """
    CREATE TABLE instances (
        id           TEXT PRIMARY KEY,          -- host:pid:random, the owner name of its leases
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        version      TEXT NOT NULL DEFAULT '',
        started_at   REAL NOT NULL,
        heartbeat_at REAL NOT NULL,
        lease_until  REAL NOT NULL              -- presumed dead from then on
    );
    CREATE TABLE leases (
        name   TEXT PRIMARY KEY,                -- a role: 'leader' (digest, retention, lists)
        owner  TEXT NOT NULL,                   -- an instances.id
        until  REAL NOT NULL,                   -- others may take it from then on
        since  REAL NOT NULL                    -- held by this owner without a break since
    );
    ALTER TABLE feeds ADD COLUMN lease_owner TEXT;  -- the instance polling it now
    ALTER TABLE feeds ADD COLUMN lease_until REAL;
    CREATE INDEX feeds_lease_owner ON feeds(lease_owner) WHERE lease_owner IS NOT NULL;
    -- the instance sending it now; its claim runs out at next_attempt
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    CREATE INDEX outbox_claimed_by ON outbox(claimed_by) WHERE claimed_by IS NOT NULL;
    """,
    # v7 -> v8: official lists shared by instances on several hosts (issue 10): the version
    # in force of each list, its file body (so an instance whose state_dir lacks it, or holds
    # an older one, takes it from here), and a claim on a change's back-screening
    """
    CREATE TABLE list_files (
        name     TEXT PRIMARY KEY,             -- the lists: entry's name
        version  TEXT NOT NULL,                -- sha256 of the body (list_changes.version)
        saved_at REAL NOT NULL,
        body     BLOB NOT NULL                 -- zlib-compressed watchlist YAML, as written
    );
    ALTER TABLE list_changes ADD COLUMN rescreen_owner TEXT;  -- the instance back-screening it
    ALTER TABLE list_changes ADD COLUMN rescreen_until REAL;  -- others may take it from then on
    """,
]


UPGRADE_COMMAND = "watcher state upgrade"


def newer_schema(where: str, version: int) -> StateError:
    return StateError(
        f"{where} has schema version {version}, newer than this sanctions-watch "
        f"understands ({len(MIGRATIONS)}); upgrade sanctions-watch"
    )


def outdated_schema(where: str, version: int) -> StateSchemaOutdated:
    return StateSchemaOutdated(
        f"{where} has schema version {version}, older than this sanctions-watch's "
        f"({len(MIGRATIONS)}): run `{UPGRADE_COMMAND}` once with the same config, then "
        "start sanctions-watch again"
    )


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
