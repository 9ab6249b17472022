"""The store's own mechanics: schema versions, upgrades, transactions, snapshots.

The contract tests take the `backend` / `state` fixtures (tests/conftest.py) and run on SQLite
and on a real PostgreSQL cluster alike. SQLite-file specifics (WAL, user_version) and
PostgreSQL specifics (two instances at once, connection errors) are grouped apart below; the
damaged/truncated/full/read-only file cases are in test_state_failures.py.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pgcluster
import psycopg
import psycopg.errors
import pytest
from conftest import Backend
from notifier_samples import record_match

from watcher.config.schema import Config, DatabaseConfig
from watcher.config.settings import load_config
from watcher.config.watchlist import EntryType, Severity
from watcher.errors import EX_UNAVAILABLE, ValidationFailed, WatcherError
from watcher.ingest.feedstate import FeedUpdate, ItemRecord
from watcher.lists.state import ListState, Validators
from watcher.matching.types import Match
from watcher.state.errors import StateError, StateSchemaOutdated, StateUnavailable
from watcher.state.interface import StateStore
from watcher.state.open import open_state
from watcher.state.postgresql import PostgresStore, pg_ddl, pg_sql, public_url
from watcher.state.schema import MIGRATIONS, split_sql
from watcher.state.sqlite import DB_FILE, Store
from watcher.state.transaction import ROW_BATCH

CURRENT = len(MIGRATIONS)


# --- helpers that reach under the store, per backend -----------------------------------------


def schema_version(backend: Backend) -> int:
    if backend.database is None:
        db = sqlite3.connect(backend.state_dir / DB_FILE)
        try:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    with psycopg.connect(backend.database.conninfo()) as conn:
        row = conn.execute("SELECT version FROM watcher_schema").fetchone()
        assert row is not None
        return int(row[0])  # type: ignore[call-overload]


def set_schema_version(backend: Backend, version: int) -> None:
    if backend.database is None:
        db = sqlite3.connect(backend.state_dir / DB_FILE)
        db.execute(f"PRAGMA user_version={version}")
        db.close()
        return
    with psycopg.connect(backend.database.conninfo(), autocommit=True) as conn:
        conn.execute(f"UPDATE watcher_schema SET version = {version}")


def create_old_schema(backend: Backend, version: int) -> None:
    """A database as release `version` left it: MIGRATIONS[:version] applied, nothing more."""
    statements = [s for script in MIGRATIONS[:version] for s in split_sql(script)]
    if backend.database is None:
        backend.state_dir.mkdir(parents=True)
        db = sqlite3.connect(backend.state_dir / DB_FILE)
        for statement in statements:
            db.execute(statement)
        db.execute(f"PRAGMA user_version={version}")
        db.commit()
        db.close()
        return
    with psycopg.connect(backend.database.conninfo(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(pg_ddl(statement))
        conn.execute("CREATE TABLE watcher_schema (version BIGINT NOT NULL)")
        conn.execute(f"INSERT INTO watcher_schema VALUES ({version})")


def raw_execute(backend: Backend, sql: str, params: tuple[object, ...]) -> None:
    """One statement straight on the database (``?`` placeholders), under the store."""
    if backend.database is None:
        db = sqlite3.connect(backend.state_dir / DB_FILE)
        db.execute(sql, params)
        db.commit()
        db.close()
        return
    conninfo = backend.database.conninfo()
    with psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.RawCursor) as conn:
        conn.execute(pg_sql(sql), params)


# --- the contract: both backends ---------------------------------------------------------------


def test_a_new_database_is_created_at_the_current_version(backend: Backend) -> None:
    store = backend.open()
    with store.transaction() as tx:
        tx.add_suppressions({"kept": 2}, 1.0)
    assert schema_version(backend) == CURRENT


def test_reopening_does_not_migrate_again(backend: Backend) -> None:
    first = backend.open()
    with first.transaction() as tx:
        tx.add_suppressions({"kept": 2}, 1.0)
    first.close()
    again = backend.open()  # would fail with "table feeds already exists" if it re-ran v1
    with again.snapshot() as tx:
        assert tx.counts().suppressions == {"kept": 2}  # ...and nothing was recreated empty
    assert schema_version(backend) == CURRENT


def test_a_database_from_a_newer_release_is_refused(backend: Backend) -> None:
    backend.open().close()
    set_schema_version(backend, CURRENT + 1)
    with pytest.raises(StateError, match="newer than this sanctions-watch understands") as err:
        backend.open()
    where = str(backend.state_dir / DB_FILE) if backend.database is None else backend.database.url
    assert where in str(err.value)
    with pytest.raises(StateError, match="newer"):
        backend.open(for_upgrade=True).upgrade()


def test_an_older_database_is_refused_until_upgraded_and_keeps_its_data(
    backend: Backend,
) -> None:
    create_old_schema(backend, CURRENT - 1)
    with pytest.raises(StateSchemaOutdated, match="watcher state upgrade") as err:
        backend.open()
    where = str(backend.state_dir / DB_FILE) if backend.database is None else backend.database.url
    assert where in str(err.value) and f"version {CURRENT - 1}" in str(err.value)
    assert schema_version(backend) == CURRENT - 1  # refusing changed nothing

    upgrading = backend.open(for_upgrade=True)
    assert upgrading.upgrade() == (CURRENT - 1, CURRENT)
    assert upgrading.upgrade() == (CURRENT, CURRENT)  # nothing left to do
    upgrading.close()
    store = backend.open()  # now every command opens it
    with store.transaction() as tx:
        tx.add_suppressions({"after": 1}, 1.0)
    assert schema_version(backend) == CURRENT


def test_two_upgrades_at_once_apply_each_migration_once(backend: Backend) -> None:
    create_old_schema(backend, 1)
    start = threading.Barrier(2)

    def upgrade(_: int) -> tuple[int, int]:
        store: StateStore  # one per thread, as SQLite wants
        if backend.database is None:
            store = Store(backend.state_dir, for_upgrade=True)
        else:
            store = PostgresStore(backend.database.conninfo(), "db", for_upgrade=True)
        try:
            start.wait(timeout=10)
            return store.upgrade()
        finally:
            store.close()

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(upgrade, range(2)))
    assert results == [(1, CURRENT), (CURRENT, CURRENT)]
    assert schema_version(backend) == CURRENT


def test_transaction_rolls_back_on_error(state: StateStore) -> None:
    with pytest.raises(RuntimeError), state.transaction() as tx:
        tx.add_suppressions({"x": 1}, 1.0)
        raise RuntimeError("boom")
    with state.transaction() as tx:
        assert tx.counts().suppressions == {}


def test_a_failing_statement_rolls_back_the_whole_unit(state: StateStore) -> None:
    """On PostgreSQL a write unit sends its statements without waiting for each: a failure
    still surfaces as the statement's own error (not as the state being unavailable), and
    nothing before or after it is kept; the next unit works."""
    duplicate = "INSERT INTO suppressions (rule, count, last_at) VALUES (?, ?, ?)"
    with (
        pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)),
        state.transaction() as tx,
    ):
        tx.add_suppressions({"before": 1}, 1.0)
        tx.connection.execute(duplicate, ("before", 1, 1.0))
        tx.add_suppressions({"after": 1}, 1.0)
    with state.transaction() as tx:
        assert tx.counts().suppressions == {}
        tx.add_suppressions({"next": 2}, 2.0)
    with state.snapshot() as tx:
        assert tx.counts().suppressions == {"next": 2}


def test_daily_mentions_counts_each_entry_per_day_inside_the_window(state: StateStore) -> None:
    day, start = 86400.0, 1_760_000_000.0
    for article, entry, at in [
        ("a1", "rosneft", start + 0.5 * day),
        ("a2", "rosneft", start + 2.1 * day),
        ("a3", "rosneft", start + 2.9 * day),  # truncated to day 2, not rounded to 3
        ("a4", "rosneft", start - 1),  # the day before the window
        ("a5", "rosneft", start + 3 * day),  # the day after it
        ("a6", "lukoil", start + 1.5 * day),
    ]:
        record_match(state, article=article, entry=entry, found_at=at, notify=entry != "lukoil")
    keys = [("test-list", "rosneft"), ("test-list", "lukoil"), ("test-list", "absent")]
    with state.snapshot() as tx:
        counts = tx.daily_mentions(keys, start, 3)
    assert counts == {
        ("test-list", "rosneft"): [1, 0, 2],
        ("test-list", "lukoil"): [0, 1, 0],  # recorded without mailing: a mention all the same
        ("test-list", "absent"): [0, 0, 0],
    }


def test_a_match_is_stored_once_and_counted_once(state: StateStore) -> None:
    record_match(state, article="a1", entry="rosneft")
    record_match(state, article="a1", entry="rosneft")  # the same match again: ignored
    record_match(state, article="a1", entry="lukoil")
    with state.snapshot() as tx:
        assert tx.counts().matches == 2
        assert tx.pending_match_count() == 2


def test_the_digest_order_folds_case_beyond_ascii(state: StateStore) -> None:
    """``casefold(name)`` orders as Python's str.casefold, on PostgreSQL whatever the
    cluster's locale (the test cluster's is C): Ö folds to ö, so "öla" comes before "Ölz"
    (unfolded, or folding only ASCII, "Ölz" would come first)."""
    record_match(state, article="a1", entry="first")
    names = ["Ölz", "öla", "Zeta"]
    with state.transaction() as tx:
        tx.add_matches("a1", [_named(name) for name in names], 1.0, notify=True)
    with state.snapshot() as tx:
        ordered = [m.name for m in tx.digest_window(10) if m.name in names]
    assert ordered == sorted(names, key=str.casefold) == ["Zeta", "öla", "Ölz"]


def _named(name: str) -> Match:
    return Match(
        list_name="test-list",
        entry_id=name.casefold() + "-id",
        name=name,
        type=EntryType.PERSON,
        severity=Severity.HIGH,
        programs=(),
        alias=name,
        text=name,
        start=0,
        end=len(name),
        score=100,
        snippet=name,
    )


def test_feeds_that_carried_an_article_are_listed_in_feed_order(state: StateStore) -> None:
    record_match(state, article="a1", entry="rosneft", feed="Second Wire")
    record_match(state, article="a1", entry="lukoil", feed="First Wire")
    with state.snapshot() as tx:
        pending = tx.pending_matches()
    assert [m.feeds for m in pending] == [("Second Wire", "First Wire")] * 2


def test_text_with_a_nul_character_is_stored(state: StateStore) -> None:
    """PostgreSQL text refuses NUL: a feed item carrying one must not fail the write (it
    reads back as U+FFFD there, unchanged on SQLite)."""
    title = "Rosneft\x00 news"
    record_match(state, article="a1", entry="rosneft", title=title)
    item = ItemRecord("k\x00", "a\x002", "https://x.example/\x00", title, None, "h")
    with state.transaction() as tx:
        feed = tx.feeds()[0]
        tx.record_items(feed.id, [item], 2.0)
        tx.keep_article_texts([("a\x002", "text\x00body")], 2.0)
        tx.update_feed(feed.id, FeedUpdate(last_error="bad\x00byte"))
    with state.snapshot() as tx:
        [pending] = tx.pending_matches()
        texts = tx.article_texts(0.0)
    assert pending.title.replace("\ufffd", "\x00") == title
    assert [text for _, text in texts] == ["text\x00body"]  # compressed bytes: kept whole


def test_a_duplicate_message_id_names_the_database(state: StateStore) -> None:
    with state.transaction() as tx:
        first = tx.add_to_outbox("alert", "<m@x>", ["a@x"], b"data", 1.0)
        second = tx.add_to_outbox("alert", "<n@x>", ["a@x"], b"data", 1.0)
    assert second > first > 0  # the new row's id
    with pytest.raises(StateError, match="already in the outbox") as err, state.transaction() as tx:
        tx.add_to_outbox("alert", "<m@x>", ["a@x"], b"other", 2.0)
    assert state.where in str(err.value)
    with state.snapshot() as tx:
        assert [m.message_id for m in tx.outbox_messages()] == ["<m@x>", "<n@x>"]
        assert [m.message_id for m in tx.outbox_messages("digest")] == []


def test_a_second_connection_sees_committed_writes(state: StateStore) -> None:
    other = state.another_connection()
    try:
        with state.transaction() as tx:
            tx.add_suppressions({"x": 1}, 1.0)
        with other.snapshot() as tx:
            assert tx.counts().suppressions == {"x": 1}
    finally:
        other.close()
    with state.snapshot() as tx:  # closing the other one leaves this one usable
        assert tx.counts().suppressions == {"x": 1}


def test_open_state_picks_the_backend_of_the_config(backend: Backend) -> None:
    if backend.database is None:
        config = Config(state_dir=backend.state_dir)
    else:  # the password in a file: database.url refuses one (a URL lands in logs)
        secret = backend.state_dir.parent / "db-password"
        secret.write_text(pgcluster.PASSWORD + "\n", encoding="utf-8")
        config = Config(
            state_dir=backend.state_dir,
            database=DatabaseConfig(url=backend.database.url, password_file=secret),
        )
    store = open_state(config)
    try:
        with store.transaction() as tx:
            tx.add_suppressions({"x": 1}, 1.0)
        expected = (
            str(backend.state_dir / DB_FILE) if backend.database is None else backend.database.url
        )
        assert store.where == expected  # never the password
    finally:
        store.close()
    assert (backend.state_dir / DB_FILE).exists() == (backend.database is None)


def test_a_v6_database_upgrades_to_leases_keeping_its_feeds_and_mail(backend: Backend) -> None:
    create_old_schema(backend, 6)
    raw_execute(
        backend,
        "INSERT INTO feeds (url, current_url, next_poll) VALUES (?, ?, ?)",
        ("http://x/f", "x", 5.0),
    )
    raw_execute(
        backend,
        """INSERT INTO outbox (kind, message_id, recipients, message, created_at, next_attempt)
           VALUES (?, ?, ?, ?, ?, ?)""",
        ("alert", "<m@x>", "[]", b"\x00", 1.0, 500.0),
    )
    upgrading = backend.open(for_upgrade=True)
    assert upgrading.upgrade() == (6, CURRENT)
    upgrading.close()
    store = backend.open()
    with store.transaction() as tx:
        [feed] = tx.feeds()
        assert (feed.url, feed.lease_owner, feed.lease_until) == ("http://x/f", None, None)
        assert [f.id for f in tx.claim_due_feeds("me", 10.0, 40.0, 5)] == [feed.id]
        assert tx.retry_unsent_now(10.0) == 1  # an old claim has no owner: lifted
        assert [m.message_id for m in tx.claim_due_messages(10.0, 40.0, 5, "me")] == ["<m@x>"]
        assert tx.instances(10.0) == []


def test_list_state_and_changes_round_trip(state: StateStore) -> None:
    saved = ListState(
        "ofac",
        validators={"https://x.example/sdn.csv": Validators('"e1"', "Tue, 01 Oct 2024")},
        last_check=10.0,
        last_success=10.0,
        failures=0,
        entries=17_000,
        data_date="2024-05-03",
    )
    with state.transaction() as tx:
        assert tx.list_state("ofac") == ListState("ofac")  # never checked
        tx.save_list_state(saved)
        tx.save_list_state(replace(saved, failures=2, last_error="HTTP 503"))  # replaces
        assert tx.add_list_change("ofac", "v1", (3, 1, 2), '{"added": []}', 20.0, rescreen=True)
        assert not tx.add_list_change("ofac", "v1", (3, 1, 2), "{}", 21.0, rescreen=True)
        assert tx.add_list_change("un", "v9", (0, 0, 1), "{}", 22.0, rescreen=False)
    with state.transaction() as tx:
        assert tx.list_state("ofac") == replace(saved, failures=2, last_error="HTTP 503")
        [change] = tx.list_changes_to_rescreen()
        assert (change.list_name, change.added, change.diff_json) == ("ofac", 3, '{"added": []}')
        tx.mark_rescreened(change.id, 30.0)
        assert tx.list_changes_to_rescreen() == []
        pending = tx.pending_list_changes()
        assert [c.version for c in pending] == ["v1", "v9"]
        assert tx.mark_list_changes_digested([c.id for c in pending], "d1") == 2
        assert tx.mark_list_changes_digested([c.id for c in pending], "d2") == 0  # taken
        assert tx.prune_list_data(texts_before=0.0, changes_before=25.0) == 2


def test_article_texts_page_in_id_order_and_are_pruned(state: StateStore) -> None:
    ids = ["b", "a", "C", "é"]  # byte order on both backends: C < a < b < é
    for article in ids:
        record_match(state, article=article, entry="rosneft")
    with state.transaction() as tx:
        tx.keep_article_texts([(i, f"text of {i}") for i in ids], 100.0)
        tx.keep_article_texts([("a", "newer text of a")], 200.0)  # the newest version wins
    with state.snapshot() as tx:
        first = tx.article_texts(0.0, limit=2)
        rest = tx.article_texts(0.0, after_id=first[-1][0], limit=10)
        assert [i for i, _ in first + rest] == sorted(ids) == ["C", "a", "b", "é"]
        assert dict(first + rest)["a"] == "newer text of a"
        assert [i for i, _ in tx.article_texts(150.0)] == ["a"]
    with state.transaction() as tx:
        assert tx.prune_list_data(texts_before=150.0, changes_before=0.0) == 3


def test_a_poll_bigger_than_one_statement_is_stored_whole(state: StateStore) -> None:
    """A big feed's rows go in several multi-row statements: none is lost at the seams, and
    the count of new matches adds up across them."""
    many = 2 * ROW_BATCH + 1
    items = [
        ItemRecord(f"k{n}", f"a{n}", f"https://x.example/{n}", "t", None, "h") for n in range(many)
    ]
    found = [(item.article_id, [_named("Rosneft")]) for item in items]
    with state.transaction() as tx:
        tx.sync_feeds([("https://x.example/rss", "X")], 1.0)
        feed = tx.feeds()[0]
        tx.record_items(feed.id, items, 1.0)
        assert tx.add_article_matches(found, 1.0, notify=True) == many
        assert tx.add_article_matches(found, 2.0, notify=True) == 0  # stored once, ever
        tx.keep_article_texts([(item.article_id, "text") for item in items], 1.0)
    with state.snapshot() as tx:
        assert len(tx.known_items(feed.id)) == many
        assert (tx.counts().articles, tx.counts().matches) == (many, many)
        assert len(tx.article_texts(0.0, limit=many + 1)) == many


def test_items_sharing_an_article_store_it_once_as_the_last_says(state: StateStore) -> None:
    """Two items of one document may name one article (one link): stored as if written one
    after the other, the last item's title, an earlier item's date when the last gives none,
    the last text (PostgreSQL refuses to update one row twice in one statement)."""
    dated = ItemRecord("k1", "a1", "https://x.example/1", "first title", 5.0, "h1")
    undated = ItemRecord("k2", "a1", "https://x.example/1", "last title", None, "h2")
    with state.transaction() as tx:
        tx.sync_feeds([("https://x.example/rss", "X")], 1.0)
        feed = tx.feeds()[0]
        tx.record_items(feed.id, [dated, undated], 1.0)
        tx.add_article_matches([("a1", [_named("Rosneft")])] * 2, 1.0, notify=True)
        tx.keep_article_texts([("a1", "first text"), ("a1", "last text")], 1.0)
    with state.snapshot() as tx:
        assert {key: known.article_id for key, known in tx.known_items(feed.id).items()} == {
            "k1": "a1",
            "k2": "a1",
        }
        [match] = tx.pending_matches()
        assert match.title == "last title"
        assert tx.newest_published(10.0) == {feed.id: 5.0}
        assert tx.article_texts(0.0) == [("a1", "last text")]


def test_outbox_bookkeeping(state: StateStore) -> None:
    with state.transaction() as tx:
        assert tx.next_outbox_attempt() is None and tx.last_queued_at("digest") is None
        first = tx.add_to_outbox("digest", "<d1@x>", ["a@x"], b"one", 100.0)
        tx.add_to_outbox("alert", "<a1@x>", ["a@x"], b"two", 110.0)
        assert tx.last_queued_at("digest") == 100.0
        assert tx.alerts_queued_since(105.0) == 1 and tx.alerts_queued_since(111.0) == 0
        assert tx.defer_due_messages(now=105.0, until=500.0) == 1  # only the one due by then
        assert tx.next_outbox_attempt() == 110.0
        assert tx.retry_unsent_now(120.0) == 1  # the deferred one is due again
        tx.mark_sent(first, 130.0, note="ok")
        tx.mark_failed(first + 1, "refused", 900.0)
        assert tx.unsent_count() == 1 and tx.next_outbox_attempt() == 900.0
        assert tx.prune_sent_messages(131.0) == 1
        [left] = tx.outbox_messages()
    assert (left.message_id, left.last_error, left.data) == ("<a1@x>", "refused", b"two")


def test_matches_bookkeeping(state: StateStore) -> None:
    day = 86400.0
    record_match(state, article="a1", entry="rosneft", found_at=10 * day)
    record_match(state, article="a2", entry="rosneft", found_at=11 * day, severity="low")
    record_match(state, article="a3", entry="lukoil", found_at=12 * day, notify=False)
    with state.transaction() as tx:
        assert tx.oldest_pending_found_at() is not None
        assert tx.oldest_pending_found_at().timestamp() == 10 * day  # type: ignore[union-attr]
        [high] = tx.unalerted_matches(["high"])
        assert tx.mark_alerted([high.id], 12 * day) == 1
        assert tx.mark_alerted([high.id], 13 * day) == 0  # check-and-set
        pending = tx.pending_matches()
        assert tx.mark_digested([m.id for m in pending], "d1") == 2
        assert tx.digest_counts("d1") == (2, 1)
        assert tx.digested_entries([("test-list", "rosneft"), ("test-list", "lukoil")]) == {
            ("test-list", "rosneft")
        }
        assert tx.last_match_id() == max(m.id for m in pending) + 1
        feed = tx.feeds()[0]
        assert tx.baseline([feed.url]) == (0, 1)  # no first poll done yet: no baseline items
        tx.update_feed(feed.id, FeedUpdate(initialized=True))
        assert tx.feed(feed.url).initialized  # type: ignore[union-attr]
        assert tx.baseline([feed.url]) == (1, 1)  # what the first poll carried: a1
        assert tx.newest_published(20 * day) == {1: 12 * day}
        # nothing is pruned while its feed still carries it; a3 went from the feed
        assert tx.prune_articles(seen_before=30 * day) == 2


# --- SQLite only: the file ---------------------------------------------------------------------


def test_sqlite_new_database_is_in_wal_mode_with_user_version(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == CURRENT
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feeds", "articles", "article_sources", "matches", "outbox", "suppressions"} <= tables
    db.close()


def test_sqlite_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="check state_dir"):
        Store(blocker / "state")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("CREATE TABLE a(x);\nCREATE TABLE b(y);", ["CREATE TABLE a(x);", "CREATE TABLE b(y);"]),
        ("CREATE TABLE a(x -- a; comment\n);", ["CREATE TABLE a(x -- a; comment\n);"]),
        ("CREATE TABLE a(x DEFAULT 'a;b');", ["CREATE TABLE a(x DEFAULT 'a;b');"]),
        ("CREATE TABLE a(x);\n-- trailing comment only\n", ["CREATE TABLE a(x);"]),
    ],
)
def test_split_sql_ends_statements_where_sqlite_does(script: str, expected: list[str]) -> None:
    assert split_sql(script) == expected


def test_split_sql_refuses_an_unterminated_statement() -> None:
    with pytest.raises(StateError, match="incomplete statement"):
        split_sql("CREATE TABLE a(x)")


# --- PostgreSQL only: several instances, the server ----------------------------------------


def test_pg_ddl_maps_the_portable_types() -> None:
    ddl = pg_ddl(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at REAL, b BLOB, s TEXT)"
    )
    assert ddl == (
        "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
        'n BIGINT NOT NULL, at DOUBLE PRECISION, b BYTEA, s TEXT COLLATE "C")'
    )


def test_pg_sql_rewrites_placeholders_outside_literals_and_comments() -> None:
    sql = (
        "SELECT '?', \"a?\", ? FROM t -- why?\nWHERE x LIKE '5%' AND z = ? AND y IN "
        "(SELECT 1 /*lock-rows*/)"
    )
    assert pg_sql(sql) == (
        "SELECT '?', \"a?\", $1 FROM t -- why?\nWHERE x LIKE '5%' AND z = $2 AND y IN "
        "(SELECT 1 FOR UPDATE SKIP LOCKED)"
    )


def test_public_url_drops_the_password() -> None:
    assert public_url("postgresql://w:s3cret@db:5432/x?sslmode=require&password=s3cret") == (
        "postgresql://w@db:5432/x?sslmode=require"
    )


def _pg_store(database: pgcluster.Database) -> PostgresStore:
    return PostgresStore(database.conninfo(), database.url)


def test_pg_two_instances_writing_at_once_lose_no_update(
    pg_database: pgcluster.Database,
) -> None:
    """Read-then-write units from two stores (two instances) serialize: each of the 2 x 25
    increments reads the count and writes count + 1; none is lost."""
    stores = [_pg_store(pg_database), _pg_store(pg_database)]
    start = threading.Barrier(2)

    def increment(store: PostgresStore) -> None:
        start.wait(timeout=10)
        for _ in range(25):
            with store.transaction() as tx:
                seen = tx.counts().suppressions.get("n", 0)
                tx.add_suppressions({"n": 1}, float(seen))  # count + 1, last_at = what it read
                assert tx.counts().suppressions["n"] == seen + 1

    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(increment, stores))
        with stores[0].snapshot() as tx:
            assert tx.counts().suppressions == {"n": 50}
    finally:
        for store in stores:
            store.close()


def test_pg_a_snapshot_does_not_block_a_writer_and_keeps_its_view(
    pg_database: pgcluster.Database,
) -> None:
    reader, writer = _pg_store(pg_database), _pg_store(pg_database)
    try:
        with writer.transaction() as tx:
            tx.add_suppressions({"x": 1}, 1.0)
        with reader.snapshot() as view:
            assert view.counts().suppressions == {"x": 1}
            done = threading.Event()

            def write() -> None:
                with writer.transaction() as tx:
                    tx.add_suppressions({"x": 1}, 2.0)
                done.set()

            thread = threading.Thread(target=write)
            thread.start()
            assert done.wait(timeout=10), "the writer waited for the open snapshot"
            thread.join()
            assert view.counts().suppressions == {"x": 1}  # one consistent view
        with reader.snapshot() as view:
            assert view.counts().suppressions == {"x": 2}
    finally:
        reader.close()
        writer.close()


def test_pg_a_snapshot_refuses_writes(pg_database: pgcluster.Database) -> None:
    store = _pg_store(pg_database)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), store.snapshot() as tx:
            tx.add_suppressions({"x": 1}, 1.0)
    finally:
        store.close()


def test_pg_connections_the_server_dropped_are_replaced_without_an_error(
    pg_cluster: pgcluster.PgCluster, pg_database: pgcluster.Database
) -> None:
    """A server restart (here: every session of the database terminated) kills the pooled
    connections; the next unit of work gets a live one instead of failing."""
    store = _pg_store(pg_database)
    try:
        with store.transaction() as tx:
            tx.add_suppressions({"x": 1}, 1.0)
        with pg_cluster.admin() as admin:
            killed = admin.execute(
                """SELECT count(*) FROM pg_stat_activity, pg_terminate_backend(pid, 10000)
                   WHERE datname = %s AND pid <> pg_backend_pid()""",
                (pg_database.name,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        with store.transaction() as tx:
            tx.add_suppressions({"x": 1}, 2.0)
        with store.snapshot() as tx:
            assert tx.counts().suppressions == {"x": 2}
    finally:
        store.close()


def _refused(open_store: Callable[[], object], *expected: str) -> StateUnavailable:
    with pytest.raises(StateUnavailable) as err:
        open_store()
    message = str(err.value)
    assert err.value.exit_code == EX_UNAVAILABLE
    assert pgcluster.PASSWORD not in message and "wrong-secret" not in message
    for text in expected:
        assert text in message
    return err.value


def test_pg_wrong_password_is_named_without_the_password(
    pg_database: pgcluster.Database,
) -> None:
    url = pg_database.url
    _refused(
        lambda: PostgresStore(pg_database.conninfo("wrong-secret"), url),
        url,
        "password authentication failed",
        "database.password_file",
    )


def test_pg_unknown_database_is_named(pg_cluster: pgcluster.PgCluster) -> None:
    missing = pgcluster.Database("no_such_db", pg_cluster.port)
    _refused(
        lambda: PostgresStore(missing.conninfo(), missing.url),
        missing.url,
        "does not exist",
        "createdb",
    )


def test_pg_unreachable_server_is_named(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        url = f"postgresql://watcher@127.0.0.1:{port}/sanctions"
        _refused(
            lambda: PostgresStore(f"{url}?password=wrong-secret", url),
            url,
            "server is running",
        )


def test_pg_an_invalid_url_is_named_without_its_password() -> None:
    url = "postgresql://w:s3cret@[::1/x"  # the driver's own message would quote it whole
    with pytest.raises(StateError, match="not a valid PostgreSQL connection URL") as err:
        PostgresStore(url, public_url(url))
    assert "s3cret" not in str(err.value) and "postgresql://w@[::1/x" in str(err.value)


def test_pg_password_from_a_file_through_the_config(
    pg_database: pgcluster.Database, tmp_path: Path
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text(pgcluster.PASSWORD + "\n")
    config = Config(
        state_dir=tmp_path / "state",
        database=DatabaseConfig(url=pg_database.url, password_file=secret),
    )
    store = open_state(config)
    try:
        assert store.where == pg_database.url
        with store.snapshot() as tx:
            assert tx.counts().matches == 0
    finally:
        store.close()
    secret.write_text("wrong-secret\n")
    _refused(lambda: open_state(config), pg_database.url, "password")


# --- the database: section, through the product's loader --------------------------------------


def test_the_database_section_is_validated_by_the_config_loader(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: mysql://db/x\n")
    with pytest.raises(ValidationFailed) as err:
        load_config(config)
    assert "database.url" in str(err.value) and "postgresql://" in str(err.value)

    config.write_text(
        "database:\n  url: postgresql://w@db.example.org/s\n"
        "  password_file: secrets/db\n  lease: 45s\n"
    )
    database = load_config(config).database
    assert database is not None
    assert database.password_file == tmp_path / "secrets" / "db"  # beside the config
    assert database.lease == 45.0
    with pytest.raises(WatcherError, match=r"database.password_file: cannot read"):
        database.conninfo()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db").write_text("p@ss word\n")
    assert psycopg.conninfo.conninfo_to_dict(database.conninfo())["password"] == "p@ss word"
