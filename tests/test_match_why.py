"""Why a match was made, kept with it: the store records `Match.why`, and digests and alerts
show it beside the matched name (issue 9, outcome 8). The poll path is covered end to end by
the golden digest (tests/test_render.py), back-screening by tests/test_lists.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from notifier_samples import digest_message, settings

from watcher.config.watchlist import Entry, EntryType, NameParts, Watchlist
from watcher.ingest.feedstate import ItemRecord
from watcher.matching import compile_watchlists, match
from watcher.notify.render import render_alert
from watcher.state.errors import StateSchemaOutdated
from watcher.state.schema import MIGRATIONS, split_sql
from watcher.state.sqlite import DB_FILE, Store

PUTIN = Entry(
    "sdn",
    "ofac-35096",
    "Vladimir Vladimirovich Putin",
    EntryType.PERSON,
    name_parts=NameParts(("Vladimir",), ("Vladimirovich",), ("Putin",)),
    titles=("President of the Russian Federation",),
)
WHY = "surname of a prominent person, title: President of the Russian Federation"


def store_with_article(path: Path) -> Store:
    store = Store(path)
    with store.transaction() as tx:
        tx.sync_feeds([("http://127.0.0.1:1/feed", "Wire")], 1.0)
        feed = tx.feed("http://127.0.0.1:1/feed")
        assert feed is not None
        item = ItemRecord("guid-1", "article-1", "https://news.example/1", "Talks", 1.0, "h")
        tx.record_items(feed.id, [item], 1.0)
    return store


def test_the_store_keeps_why_and_the_digest_and_alert_show_it(tmp_path: Path) -> None:
    compiled = compile_watchlists([Watchlist("sdn", "", "sdn.yaml", (PUTIN,))])
    (putin,) = match("The Kremlin said Putin would attend.", compiled)
    assert putin.why == WHY
    store = store_with_article(tmp_path)
    with store.transaction() as tx:
        tx.add_matches("article-1", [putin], 2.0, notify=True)
    store.close()
    with Store(tmp_path).snapshot() as tx:
        (pending,) = tx.pending_matches()
    assert pending.why == WHY
    digest = digest_message([pending], [], settings(), "d1")
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'matched "Putin" ({WHY}) | score' in text
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"matched &ldquo;Putin&rdquo; ({WHY}) &middot; score" in html
    alert = render_alert([pending], settings(), "a1").get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'matched "Putin" ({WHY}) | score' in alert


def test_a_match_stored_before_v6_migrates_without_why_and_renders_as_before(
    tmp_path: Path,
) -> None:
    db = sqlite3.connect(tmp_path / DB_FILE)  # a database as release v5 wrote it
    for script in MIGRATIONS[:5]:
        for statement in split_sql(script):
            db.execute(statement)
    db.execute("PRAGMA user_version=5")
    db.execute(
        "INSERT INTO articles (id, link, title, content_hash, first_seen, last_seen)"
        " VALUES ('article-1', 'https://news.example/1', 'Talks', 'h', 1.0, 1.0)"
    )
    db.execute(
        """INSERT INTO matches (article_id, list_name, entry_id, name, type, severity, alias,
               text, start, "end", score, snippet, found_at)
           VALUES ('article-1', 'sdn', 'ofac-35096', 'Vladimir Putin', 'person', 'high',
               'Putin', 'Putin', 17, 22, 100, 'The Kremlin said Putin would attend.', 2.0)"""
    )
    db.commit()
    db.close()
    with pytest.raises(StateSchemaOutdated, match="watcher state upgrade"):
        Store(tmp_path)  # an older database waits for the upgrade
    upgrading = Store(tmp_path, for_upgrade=True)
    assert upgrading.upgrade() == (5, len(MIGRATIONS))  # migrates v5 -> v6 -> ... -> current
    upgrading.close()
    with Store(tmp_path).snapshot() as tx:
        (pending,) = tx.pending_matches()
    db = sqlite3.connect(tmp_path / DB_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()
    assert (pending.entry_id, pending.why) == ("ofac-35096", "")
    text = digest_message([pending], [], settings(), "d1").get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'matched "Putin" | score' in text
