"""The store's own mechanics: migrations, versioning, transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from notifier_samples import record_match

from watcher.state.errors import StateError
from watcher.state.schema import MIGRATIONS, split_sql
from watcher.state.sqlite import DB_FILE, Store


def test_new_database_is_migrated_to_the_latest_version_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.close()
    db = sqlite3.connect(tmp_path / DB_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feeds", "articles", "article_sources", "matches", "outbox", "suppressions"} <= tables


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    first = Store(tmp_path)
    with first.transaction() as tx:
        tx.add_suppressions({"kept": 2}, 1.0)
    first.close()
    again = Store(tmp_path)  # would fail with "table feeds already exists" if it re-ran v1
    with again.transaction() as tx:
        assert tx.counts().suppressions == {"kept": 2}  # ...and nothing was recreated empty
    again.close()
    db = sqlite3.connect(tmp_path / DB_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StateError, match="newer than this sanctions-watch understands"):
        Store(tmp_path)


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add_suppressions({"x": 1}, 1.0)
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.counts().suppressions == {}
    store.close()


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
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


def test_daily_mentions_counts_each_entry_per_day_inside_the_window(tmp_path: Path) -> None:
    store = Store(tmp_path)
    day, start = 86400.0, 1_760_000_000.0
    for article, entry, at in [
        ("a1", "rosneft", start + 0.5 * day),
        ("a2", "rosneft", start + 2.1 * day),
        ("a3", "rosneft", start + 2.9 * day),
        ("a4", "rosneft", start - 1),  # the day before the window
        ("a5", "rosneft", start + 3 * day),  # the day after it
        ("a6", "lukoil", start + 1.5 * day),
    ]:
        record_match(store, article=article, entry=entry, found_at=at, notify=entry != "lukoil")
    keys = [("test-list", "rosneft"), ("test-list", "lukoil"), ("test-list", "absent")]
    with store.snapshot() as tx:
        counts = tx.daily_mentions(keys, start, 3)
    assert counts == {
        ("test-list", "rosneft"): [1, 0, 2],
        ("test-list", "lukoil"): [0, 1, 0],  # recorded without mailing: a mention all the same
        ("test-list", "absent"): [0, 0, 0],
    }
    store.close()


def test_a_v6_database_upgrades_to_leases_keeping_its_feeds_and_mail(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / DB_FILE)
    for script in MIGRATIONS[:6]:
        for statement in split_sql(script):
            db.execute(statement)
    db.execute("INSERT INTO feeds (url, current_url, next_poll) VALUES ('http://x/f', 'x', 5)")
    db.execute(
        """INSERT INTO outbox (kind, message_id, recipients, message, created_at, next_attempt)
           VALUES ('alert', '<m@x>', '[]', x'00', 1, 500)"""
    )
    db.execute("PRAGMA user_version=6")
    db.commit()
    db.close()
    store = Store(tmp_path)
    with store.transaction() as tx:
        [feed] = tx.feeds()
        assert (feed.url, feed.lease_owner, feed.lease_until) == ("http://x/f", None, None)
        assert [f.id for f in tx.claim_due_feeds("me", 10.0, 40.0, 5)] == [feed.id]
        assert tx.retry_unsent_now(10.0) == 1  # an old claim has no owner: lifted
        assert [m.message_id for m in tx.claim_due_messages(10.0, 40.0, 5, "me")] == ["<m@x>"]
        assert tx.instances(10.0) == []
    store.close()
