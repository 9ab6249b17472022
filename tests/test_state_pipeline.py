"""The whole pipeline on each state backend: `watcher run --once` polls, matches, stores, queues
alerts and a digest and delivers them, with the state in SQLite (no ``database:``) or in the
PostgreSQL database the config names (its password in a file, as a systemd credential)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pgcluster
from conftest import Backend
from feedserver import FeedServer, rss

from watcher.config.settings import load_config
from watcher.service.once import run_once
from watcher.state.open import open_state

WATCHLIST = """\
list: t
entries:
  - {id: rosneft, name: Rosneft, severity: high}
  - {id: lukoil, name: Lukoil, severity: low}
"""
T0 = 1_761_202_800.0


def _feed(first: int, count: int) -> bytes:
    return rss(
        *(
            {
                "guid": f"item-{n}",
                "link": f"https://news.test/{n}",
                "title": f"Story {n}: Rosneft and Lukoil",
                "description": "Officials said Rosneft and Lukoil would be affected.",
            }
            for n in range(first, first + count)
        )
    )


def _config(tmp_path: Path, backend: Backend, feed_url: str) -> Path:
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "t.yaml").write_text(WATCHLIST)
    database = ""
    if backend.database is not None:
        secret = tmp_path / "db-password"
        secret.write_text(pgcluster.PASSWORD + "\n")
        database = f"database:\n  url: {backend.database.url}\n  password_file: {secret}\n"
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            state_dir: {tmp_path / "state"}
            watchlists: [{tmp_path / "lists"}]
            feeds:
              - url: {feed_url}
            polling:
              allow_private_networks: true
              jitter: 0s
            email:
              from: "sanctions-watch <watch@example.org>"
              to: [analyst@example.org]
              delivery: directory
              directory: {tmp_path / "mail"}
            """
        )
        + database
    )
    return config


async def test_run_once_polls_stores_and_mails_on_each_backend(
    backend: Backend, tmp_path: Path
) -> None:
    with FeedServer() as feeds:
        rss_type = {"Content-Type": "application/rss+xml"}
        feeds.route("/feed.xml", body=_feed(0, 3), headers=rss_type)
        config = _config(tmp_path, backend, feeds.url("/feed.xml"))

        first = await run_once(config, now=T0)  # the first poll is the baseline: not mailed
        assert (first.feeds, first.failed_feeds, first.baseline_items) == (1, 0, 3)
        assert first.baseline_matches == 6 and first.sent == 0

        feeds.route("/feed.xml", body=_feed(0, 5), headers=rss_type)  # two new stories
        second = await run_once(config, now=T0 + 3600)
        assert (second.failed_feeds, second.digest_matches, second.digest_high) == (0, 4, 2)
        # one alert mail for Rosneft (high) listing both stories, one digest
        assert second.sent == 2 and second.pending == 0

    mails = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 2
    store = open_state(load_config(config))
    try:
        with store.snapshot() as tx:
            counts = tx.counts()
            kinds = sorted(m.kind for m in tx.outbox_messages())
        assert (counts.articles, counts.matches, counts.pending_matches) == (5, 10, 0)
        assert kinds == ["alert", "digest"]
    finally:
        store.close()
    assert (tmp_path / "state" / "state.sqlite3").exists() == (backend.database is None)
