"""Polling end to end: a real HTTP server on 127.0.0.1, a real SQLite store, the real matcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from pathlib import Path

import pytest
from feedserver import FeedServer, rss

from watcher.commands.status import format_status
from watcher.config.schema import Config, FeedConfig, PollingConfig
from watcher.config.watchlist import Entry, Severity, Watchlist
from watcher.ingest.fetch import FetchLimits, make_client
from watcher.ingest.poll import FeedPollResult, feed_health, poll_due, poll_feed, prune, sync_feeds
from watcher.matching import CompiledWatchlists, compile_watchlists
from watcher.state.sqlite import Store
from watcher.state.transaction import Transaction

NOW = 1_700_000_000.0
INTERVAL = 900.0
ROOT = Path(__file__).resolve().parents[1]

WATCHLIST = Watchlist(
    name="test",
    description="",
    source="test",
    entries=(
        Entry("test", "rosneft", "Rosneft", severity=Severity.HIGH),
        Entry("test", "lukoil", "Lukoil", severity=Severity.HIGH),
    ),
)


@pytest.fixture(scope="module")
def compiled() -> CompiledWatchlists:
    return compile_watchlists([WATCHLIST])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "state")
    yield opened
    opened.close()


def make_config(*feeds: str | FeedConfig, **polling: object) -> Config:
    settings: dict[str, object] = {
        "allow_private_networks": True,
        "jitter": 0,
        "timeout": 5,
        "interval": INTERVAL,
        **polling,
    }
    return Config(
        feeds=tuple(f if isinstance(f, FeedConfig) else FeedConfig(url=f) for f in feeds),
        polling=PollingConfig(**settings),  # type: ignore[arg-type]
    )


async def poll(
    store: Store, config: Config, compiled: CompiledWatchlists, now: float = NOW, force: bool = True
) -> dict[str, FeedPollResult]:
    sync_feeds(store, config, now)
    results = await poll_due(store, config, compiled, now=now, force=force)
    return {r.url: r for r in results}


def counts(store: Store):  # type: ignore[no-untyped-def]
    with store.transaction() as tx:
        return tx.counts()


def feed_row(store: Store, url: str):  # type: ignore[no-untyped-def]
    with store.transaction() as tx:
        return tx.feed(url)


def pending(store: Store) -> list[tuple[str, str]]:
    with store.transaction() as tx:
        return sorted((m.entry_id, m.title) for m in tx.pending_matches())


ITEM_1 = {"guid": "a1", "link": "https://news.example/1", "title": "Rosneft exports fall"}
ITEM_2 = {"guid": "a2", "link": "https://news.example/2", "title": "Lukoil sells assets"}
ITEM_3 = {"guid": "a3", "link": "https://news.example/3", "title": "Rosneft and weather"}


# --- first run, new items, matches -------------------------------------------------------------


async def test_first_poll_records_without_alerting_then_new_items_alert(
    server, store, compiled
) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ITEM_2))
    config = make_config(url)
    [first] = (await poll(store, config, compiled)).values()
    assert (first.status, first.new_items, first.new_matches) == ("ok", 2, 2)
    assert first.next_poll == NOW + INTERVAL
    assert counts(store).matches == 2 and pending(store) == []  # stored with notify=0

    server.route("/f.xml", rss(ITEM_3, ITEM_1, ITEM_2))
    [second] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert (second.new_items, second.new_matches) == (1, 1)
    assert pending(store) == [("rosneft", "Rosneft and weather")]
    row = feed_row(store, url)
    assert row.last_new_item == NOW + INTERVAL and row.initialized


async def test_backfill_alerts_on_existing_items(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ITEM_2))
    config = make_config(FeedConfig(url=url, backfill=True))
    await poll(store, config, compiled)
    assert [e for e, _ in pending(store)] == ["lukoil", "rosneft"]


async def test_poll_due_respects_next_poll_and_force(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1))
    config = make_config(url)
    await poll(store, config, compiled)
    assert await poll(store, config, compiled, NOW + 10, force=False) == {}
    assert len(server.requests) == 1
    assert list(await poll(store, config, compiled, NOW + INTERVAL, force=False)) == [url]
    assert list(await poll(store, config, compiled, NOW + INTERVAL + 1, force=True)) == [url]


# --- conditional GET ---------------------------------------------------------------------------


async def test_304_costs_no_parsing_and_keeps_validators(server, store, compiled) -> None:
    url = server.route(
        "/f.xml", rss(ITEM_1), etag='"v1"', last_modified="Mon, 03 Apr 2023 01:02:03 GMT"
    )
    config = make_config(url)
    await poll(store, config, compiled)
    [second] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert second.status == "not-modified" and second.http_status == 304
    sent = server.requests_for("/f.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 03 Apr 2023 01:02:03 GMT"
    row = feed_row(store, url)
    assert (row.etag, row.last_success, row.failures) == ('"v1"', NOW + INTERVAL, 0)


async def test_200_with_the_stored_etag_counts_as_unchanged(server, store, compiled) -> None:
    # a server that ignores If-None-Match but sends the same ETag: nothing to parse
    url = server.route("/f.xml", rss(ITEM_1), headers={"ETag": '"same"'})
    config = make_config(url)
    await poll(store, config, compiled)
    server.route("/f.xml", rss(ITEM_2, ITEM_1), headers={"ETag": '"same"'})
    [second] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert (second.status, second.http_status, second.new_items) == ("not-modified", 200, 0)
    assert counts(store).articles == 1


async def test_cache_control_max_age_and_ttl_are_lower_bounds(server, store, compiled) -> None:
    a = server.route("/a.xml", rss(ITEM_1), headers={"Cache-Control": "public, max-age=3600"})
    b = server.route("/b.xml", rss(ITEM_2, ttl=120))
    results = await poll(store, make_config(a, b), compiled)
    assert results[a].next_poll == NOW + 3600
    assert results[b].next_poll == NOW + 120 * 60


async def test_ttl_still_binds_when_the_feed_answers_304(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ttl=60), etag='"t"')
    config = make_config(url)
    await poll(store, config, compiled)
    [second] = (await poll(store, config, compiled, NOW + 3600)).values()
    assert second.status == "not-modified" and second.next_poll == NOW + 3600 + 3600


async def test_jitter_spreads_next_polls(server, store, compiled) -> None:
    urls = [server.route(f"/j{i}.xml", rss(ITEM_1)) for i in range(5)]
    results = await poll(store, make_config(*urls, jitter=600), compiled)
    delays = {r.next_poll - NOW for r in results.values()}
    assert all(INTERVAL <= d <= INTERVAL + 600 for d in delays)
    assert len(delays) > 1


# --- failures ----------------------------------------------------------------------------------


async def test_server_errors_back_off_exponentially_then_recover(server, store, compiled) -> None:
    url = server.route("/f.xml", b"oops", status=500)
    config = make_config(url, max_backoff=3000)
    now, delays = NOW, []
    for _ in range(4):
        [result] = (await poll(store, config, compiled, now)).values()
        assert result.status == "failed" and result.error == "HTTP 500"
        delays.append(result.next_poll - now)
        now = result.next_poll
    assert delays == [900, 1800, 3000, 3000]
    row = feed_row(store, url)
    assert (row.failures, row.failing_since, row.last_error) == (4, NOW, "HTTP 500")
    [health] = feed_health(store, config, now)
    assert (health.state, health.since) == ("failing", NOW)

    server.route("/f.xml", rss(ITEM_1))
    [ok] = (await poll(store, config, compiled, now)).values()
    assert ok.status == "ok" and ok.next_poll == now + INTERVAL
    row = feed_row(store, url)
    assert (row.failures, row.failing_since, row.last_error) == (0, None, None)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_is_honoured(server, store, compiled, status: int) -> None:
    url = server.route("/f.xml", b"busy", status=status, headers={"Retry-After": "7200"})
    [result] = (await poll(store, make_config(url), compiled)).values()
    assert result.status == "failed" and result.next_poll == NOW + 7200


async def test_retry_after_http_date_is_honoured(server, store, compiled) -> None:
    later = formatdate(NOW + 5000, usegmt=True)
    url = server.route("/f.xml", b"busy", status=503, headers={"Retry-After": later})
    [result] = (await poll(store, make_config(url), compiled)).values()
    assert result.next_poll == NOW + 5000


async def test_410_disables_the_feed_and_says_so(server, store, compiled) -> None:
    url = server.route("/f.xml", b"gone", status=410)
    config = make_config(url)
    [result] = (await poll(store, config, compiled)).values()
    assert result.status == "disabled" and "410 Gone" in result.error
    assert await poll(store, config, compiled, NOW + 10**6) == {}  # never polled again
    assert len(server.requests) == 1
    [health] = feed_health(store, config, NOW)
    assert health.state == "disabled" and "410 Gone" in (health.last_error or "")


async def test_301_updates_the_stored_url(server, store, compiled) -> None:
    server.route("/new.xml", rss(ITEM_1))
    old = server.redirect("/old.xml", "/new.xml", status=301)
    config = make_config(old)
    await poll(store, config, compiled)
    assert feed_row(store, old).current_url == server.url("/new.xml")
    await poll(store, config, compiled, NOW + INTERVAL)
    assert len(server.requests_for("/old.xml")) == 1
    assert len(server.requests_for("/new.xml")) == 2


async def test_redirect_loop_is_a_failure(server, store, compiled) -> None:
    server.redirect("/a", "/b", status=302)
    url = server.redirect("/b", "/a", status=302)
    [result] = (await poll(store, make_config(url), compiled)).values()
    assert result.status == "failed" and "redirect loop" in result.error


async def test_html_instead_of_a_feed_is_a_failure(server, store, compiled) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Welcome</title>"
        b'<link href="/rss/world.xml" rel="alternate" type="application/rss+xml">'
        b"</head><body>Rosneft</body></html>"
    )
    url = server.route("/f.xml", page, headers={"Content-Type": "text/html; charset=utf-8"})
    [result] = (await poll(store, make_config(url), compiled)).values()
    assert result.status == "failed" and "not an RSS/Atom feed (got text/html)" in result.error
    assert server.url("/rss/world.xml") in result.error  # the hint: the feed the page offers
    assert counts(store).articles == 0


async def test_private_addresses_are_refused_unless_allowed(server, store, compiled) -> None:
    server.route("/f.xml", rss(ITEM_1))
    urls = [server.url("/f.xml"), server.url("/f.xml", host="[::ffff:127.0.0.1]")]
    results = await poll(store, make_config(*urls, allow_private_networks=False), compiled)
    assert {r.status for r in results.values()} == {"refused"}
    assert "allow_private: true" in results[urls[0]].error
    assert server.requests == []


async def test_a_feed_allowed_private_spares_no_other_feed(server, store, compiled) -> None:
    server.route("/f.xml", rss(ITEM_1))
    allowed, other = server.url("/f.xml"), server.url("/f.xml", host="[::ffff:127.0.0.1]")
    feeds = (FeedConfig(url=allowed, allow_private=True), other)
    results = await poll(store, make_config(*feeds, allow_private_networks=False), compiled)
    assert (results[allowed].status, results[other].status) == ("ok", "refused")
    assert len(server.requests) == 1


async def test_slow_feed_is_cut_and_does_not_hold_up_others(server, store, compiled) -> None:
    slow = server.route("/slow.xml", rss(ITEM_1), drip=0.2)
    fast = server.route("/fast.xml", rss(ITEM_2))
    results = await poll(store, make_config(slow, fast, timeout=1), compiled)
    assert results[slow].status == "failed" and "timed out" in results[slow].error
    assert results[fast].status == "ok" and results[fast].new_items == 1


async def test_per_host_and_global_concurrency_limits(server, store, compiled) -> None:
    doc = rss(ITEM_1)
    urls = [server.route(f"/c{i}.xml", doc, drip=0.0005) for i in range(8)]
    await poll(store, make_config(*urls, per_host=2, concurrency=16), compiled)
    assert server.max_in_flight == 2  # every feed is on 127.0.0.1:port
    other = FeedServer().start()
    try:
        more = [other.route(f"/d{i}.xml", doc, drip=0.0005) for i in range(8)]
        await poll(store, make_config(*more, per_host=8, concurrency=3), compiled, NOW + 1)
        assert other.max_in_flight == 3
    finally:
        other.stop()


# --- identity, edits, dedupe -------------------------------------------------------------------


async def test_duplicate_and_blank_guids(server, store, compiled) -> None:
    doc = rss(
        {"guid": "dup", "title": "Rosneft one"},
        {"guid": "dup", "title": "Lukoil two"},
        {"guid": "", "title": "Rosneft three"},
        {"title": "Lukoil four"},
    )
    url = server.route("/f.xml", doc)
    config = make_config(url)
    [first] = (await poll(store, config, compiled)).values()
    assert (first.new_items, first.new_matches) == (4, 4)
    [second] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert (second.new_items, second.new_matches) == (0, 0)
    assert counts(store).articles == 4


async def test_edit_adding_a_match_is_reported_once_and_never_again(
    tmp_path, server, compiled
) -> None:
    url = server.route("/f.xml", rss({"guid": "e1", "title": "Oil news", "description": "Rosneft"}))
    config = make_config(url)
    store = Store(tmp_path / "s")
    await poll(store, config, compiled)
    server.route(
        "/f.xml", rss({"guid": "e1", "title": "Oil news", "description": "Rosneft and Lukoil"})
    )
    [edited] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert (edited.new_items, edited.new_matches) == (0, 1)
    assert pending(store) == [("lukoil", "Oil news")]
    [again] = (await poll(store, config, compiled, NOW + 2 * INTERVAL)).values()
    assert again.new_matches == 0
    store.close()
    restarted = Store(tmp_path / "s")  # across restarts too
    [after] = (await poll(restarted, config, compiled, NOW + 3 * INTERVAL)).values()
    assert (after.new_items, after.new_matches) == (0, 0)
    assert counts(restarted).matches == 2
    restarted.close()


async def test_same_link_in_two_feeds_is_one_article_with_two_sources(
    server, store, compiled
) -> None:
    story = {"link": "https://news.example/story?utm_source=a", "title": "Rosneft deal"}
    a = server.route("/a.xml", rss({"guid": "a-1", **story}))
    b = server.route(
        "/b.xml", rss({"guid": "b-9", **story, "link": "https://NEWS.example/story#x"})
    )
    config = make_config(a, b)
    await poll(store, config, compiled)
    assert counts(store).articles == 1 and counts(store).matches == 1
    with store.transaction() as tx:
        ids = {tx.feed(u).id: tx.known_items(tx.feed(u).id) for u in (a, b)}
    assert {item.article_id for items in ids.values() for item in items.values()} == {
        "https://news.example/story"
    }


# --- crash safety --------------------------------------------------------------------------


CRASHER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from watcher.state.sqlite import Store
    from watcher.state.transaction import Transaction
    from watcher.ingest.poll import poll_due, sync_feeds
    from watcher.config.schema import Config, FeedConfig, PollingConfig
    from watcher.matching import compile_watchlists
    from watcher.config.watchlist import Entry, Watchlist
    from pathlib import Path

    def die(self, *args, **kwargs):  # SIGKILL at the last write of the feed's transaction
        os.kill(os.getpid(), signal.SIGKILL)

    Transaction.update_feed = die
    url, state = sys.argv[1], sys.argv[2]
    config = Config(feeds=(FeedConfig(url=url),),
                    polling=PollingConfig(allow_private_networks=True, jitter=0))
    wl = Watchlist("test", "", "t", (Entry("test", "rosneft", "Rosneft"),))
    store = Store(Path(state))
    sync_feeds(store, config, 1.0)
    asyncio.run(poll_due(store, config, compile_watchlists([wl]), now=1.0, force=True))
    print("not killed")
    """
)


async def test_sigkill_mid_transaction_loses_nothing_and_duplicates_nothing(
    tmp_path, server, compiled
) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ITEM_3), etag='"v1"')
    state = tmp_path / "state"
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, url, str(state)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == -9, proc.stderr
    assert len(server.requests) == 1  # it did fetch

    store = Store(state)
    row = feed_row(store, url)
    assert (row.etag, row.initialized, counts(store).articles) == (None, False, 0)
    config = make_config(FeedConfig(url=url, backfill=True))
    [result] = (await poll(store, config, compiled, NOW)).values()
    assert server.requests[-1].headers.get("if-none-match") is None  # refetched in full
    assert (result.new_items, result.new_matches) == (2, 2)
    [again] = (await poll(store, config, compiled, NOW + INTERVAL)).values()
    assert again.status == "not-modified"
    assert counts(store).matches == 2 and len(pending(store)) == 2
    store.close()


async def test_store_error_in_one_feed_rolls_back_and_spares_the_others(
    server, store, compiled, monkeypatch
) -> None:
    bad = server.route("/bad.xml", rss(ITEM_1))
    good = server.route("/good.xml", rss(ITEM_2))
    original = Transaction.record_items

    def failing(self, feed_id, items, now):  # type: ignore[no-untyped-def]
        if any(i.article_id == ITEM_1["link"] for i in items):
            raise OSError("disk full")
        return original(self, feed_id, items, now)

    monkeypatch.setattr(Transaction, "record_items", failing)
    results = await poll(store, make_config(bad, good), compiled)
    assert results[bad].status == "failed" and "disk full" in results[bad].error
    assert results[bad].next_poll == NOW + INTERVAL  # retried, never parked
    assert results[good].status == "ok"
    assert feed_row(store, bad).initialized is False  # rolled back whole
    monkeypatch.setattr(Transaction, "record_items", original)
    results = await poll(store, make_config(bad, good), compiled, NOW + 1)
    assert results[bad].new_items == 1 and counts(store).articles == 2


# --- config sync, retention, health ----------------------------------------------------------


async def test_removed_feed_is_kept_inactive_and_resumes_when_re_added(
    server, store, compiled
) -> None:
    a = server.route("/a.xml", rss(ITEM_1))
    b = server.route("/b.xml", rss(ITEM_2))
    await poll(store, make_config(a, b), compiled)
    sync_feeds(store, make_config(a), NOW + 1)
    assert [h.url for h in feed_health(store, make_config(a), NOW + 1)] == [a]
    assert list(await poll(store, make_config(a), compiled, NOW + INTERVAL)) == [a]
    server.route("/b.xml", rss(ITEM_3, ITEM_2))
    [back] = (await poll(store, make_config(b), compiled, NOW + 2 * INTERVAL)).values()
    assert (back.new_items, back.new_matches) == (1, 1)  # history kept: no first-run flood
    assert pending(store) == [("rosneft", "Rosneft and weather")]


async def test_prune_removes_only_old_articles_no_longer_in_any_feed(
    server, store, compiled
) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ITEM_2))
    config = make_config(url, retention=86400)
    await poll(store, config, compiled)
    server.route("/f.xml", rss(ITEM_2))
    later = NOW + 2 * 86400
    await poll(store, config, compiled, later)
    assert prune(store, config, later) == 1  # ITEM_1: gone from the feed, old
    assert counts(store).articles == 1
    assert prune(store, config, later + 10 * 86400) == 0  # ITEM_2 still in the feed


async def test_prune_keeps_articles_with_undigested_matches(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1, ITEM_2))
    config = make_config(FeedConfig(url=url, backfill=True), retention=86400)
    await poll(store, config, compiled)  # both match and are pending (backfill)
    server.route("/f.xml", rss())
    later = NOW + 2 * 86400
    await poll(store, config, compiled, later)
    assert prune(store, config, later) == 0
    with store.transaction() as tx:
        tx.mark_digested([m.id for m in tx.pending_matches()], "digest-1")
    assert prune(store, config, later) == 2


async def test_ignore_list_suppressions_are_counted(server, store) -> None:
    from watcher.config.ignore import IgnoreRule

    rule = IgnoreRule(phrase="Rosneft Arena", reason="stadium")
    compiled = compile_watchlists([WATCHLIST], ignore=[rule])
    url = server.route(
        "/f.xml",
        rss(
            {"guid": "s1", "title": "Derby at the Rosneft Arena"},
            {"guid": "s2", "title": "Rosneft Arena sold out"},
            {"guid": "s3", "title": "Rosneft profits"},
        ),
    )
    [result] = (await poll(store, make_config(url), compiled)).values()
    assert result.new_matches == 1
    assert counts(store).suppressions == {rule.label: 2}


async def test_feed_without_new_items_turns_stale(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1))
    config = make_config(url, stale_after=86400)
    await poll(store, config, compiled)
    await poll(store, config, compiled, NOW + 2 * 86400)
    [health] = feed_health(store, config, NOW + 2 * 86400)
    assert (health.state, health.since, health.last_success) == ("stale", NOW, NOW + 2 * 86400)


async def test_staleness_counts_from_the_newest_publication_date(server, store, compiled) -> None:
    """First polled today, but its newest story is from 2019: stale. A feed with a story
    from yesterday is fine; a future-dated item does not hide staleness."""
    old = server.route("/old.xml", rss({**ITEM_1, "pubDate": "Mon, 06 May 2019 10:00:00 GMT"}))
    fresh_date = format_datetime(datetime.fromtimestamp(NOW - 86400, UTC))
    fresh = server.route("/fresh.xml", rss({**ITEM_2, "pubDate": fresh_date}))
    in_2100 = "Fri, 01 Jan 2100 00:00:00 GMT"  # a wrong clock at the publisher
    future = server.route(
        "/future.xml",
        rss(
            {**ITEM_3, "pubDate": "Mon, 06 May 2019 10:00:00 GMT"},
            {
                **ITEM_1,
                "guid": "f",
                "link": "https://news.example/f",
                "pubDate": in_2100,
            },
        ),
    )
    config = make_config(old, fresh, future, stale_after=7 * 86400)
    await poll(store, config, compiled)
    health = {h.url: h for h in feed_health(store, config, NOW)}
    may_2019 = datetime(2019, 5, 6, 10, tzinfo=UTC).timestamp()
    assert (health[old].state, health[old].since) == ("stale", may_2019)
    assert health[old].newest_published == may_2019
    assert health[fresh].state == "ok"
    assert (health[future].state, health[future].since) == ("stale", may_2019)


async def test_poll_feed_with_a_config_entry(server, store, compiled) -> None:
    url = server.route("/f.xml", rss(ITEM_1))
    config = make_config(url)
    sync_feeds(store, config, NOW)
    limits = FetchLimits.from_config(config.polling)
    async with make_client(limits) as client:
        result = await poll_feed(store, config.feeds[0], config, compiled, client, NOW)
    assert result.status == "ok" and result.new_items == 1


# --- the CLI ---------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_cli_poll_once_and_status(tmp_path: Path, server: FeedServer) -> None:
    good = server.route("/good.xml", rss(ITEM_1, ITEM_2))
    broken = server.route("/broken.xml", b"no", status=500)
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "energy.yaml").write_text(
        "list: energy\nentries:\n  - id: rosneft\n    name: Rosneft\n    severity: high\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: state\nwatchlists: [lists/energy.yaml]\n"
        f"feeds:\n  - url: {good}\n    name: Good\n  - url: {broken}\n"
        "polling:\n  allow_private_networks: true\n  jitter: 0s\n"
    )
    done = run_cli("poll", "--once", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout and "HTTP 500" in done.stdout
    assert "2 feed(s) polled, 1 not ok, 2 new item(s), 1 new match(es)" in done.stdout
    again = run_cli("poll", "--once", "--config", str(config))
    assert "no feed due" in again.stdout
    status = run_cli("status", "--config", str(config), "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    states = {f["url"]: f["state"] for f in report["feeds"]}
    assert states == {good: "ok", broken: "failing"}
    assert report["counts"]["articles"] == 2 and report["counts"]["matches"] == 1
    text = run_cli("status", "--config", str(config))
    assert "FAILING" in text.stdout and "HTTP 500" in text.stdout


def test_cli_poll_config_error_exits_non_zero(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds:\n  - url: ftp://nope\n")
    done = run_cli("poll", "--once", "--config", str(config))
    assert done.returncode != 0 and "feeds" in done.stderr


async def test_item_category_is_screened_and_shows_as_a_tag(server, store, compiled) -> None:
    tagged = {"guid": "t1", "title": "Markets today", "category": "Lukoil"}
    url = server.route("/f.xml", rss(tagged, ITEM_1))
    await poll(store, make_config(FeedConfig(url=url, backfill=True)), compiled)
    with store.transaction() as tx:
        found = {m.entry_id: m for m in tx.pending_matches()}
    assert set(found) == {"lukoil", "rosneft"}
    assert found["lukoil"].snippet.endswith("Tags: Lukoil")
    assert "Tags" not in found["rosneft"].snippet


async def test_ill_formed_feed_is_read_with_a_warning_in_status(server, store, compiled) -> None:
    broken = {"guid": "b1", "title": "Rosneft &nbsp; exports", "description": "x &copy; y"}
    url = server.route("/f.xml", rss(broken, ITEM_2))
    config = make_config(url)
    [result] = (await poll(store, config, compiled)).values()
    assert result.status == "ok"
    [health] = feed_health(store, config, NOW)
    assert health.state == "ok"
    assert health.warning and health.warning.startswith("ill-formed XML at line 2, column")
    assert "undefined entity" in health.warning
    shown = format_status([health], counts(store), NOW)
    assert f"warning: {health.warning}" in shown

    server.route("/f.xml", rss(ITEM_1, ITEM_2))  # the publisher fixed it
    await poll(store, config, compiled, NOW + INTERVAL)
    assert feed_health(store, config, NOW + INTERVAL)[0].warning is None


@pytest.mark.parametrize("status", [200, 500, 410], ids=["ok", "failed", "gone"])
async def test_a_claimed_feed_is_given_back_in_the_polls_own_write(
    server, store, compiled, status: int
) -> None:
    url = server.route("/f.xml", rss(ITEM_1), status=status)
    config = make_config(url)
    sync_feeds(store, config, NOW)
    with store.transaction() as tx:
        [claimed] = tx.claim_due_feeds("instance-a", NOW, NOW + 30, 10)
    async with make_client(FetchLimits.from_config(config.polling)) as client:
        await poll_feed(store, claimed, config, compiled, client, NOW, lease_owner="instance-a")
    with store.transaction() as tx:
        row = tx.feed(url)
    assert row is not None and row.last_poll == NOW  # the poll's write happened...
    assert (row.lease_owner, row.lease_until) == (None, None)  # ...and gave the lease back


async def test_a_poll_that_lost_its_lease_leaves_the_new_holders_alone(
    server, store, compiled
) -> None:
    url = server.route("/f.xml", rss(ITEM_1))
    config = make_config(url)
    sync_feeds(store, config, NOW)
    with store.transaction() as tx:
        [claimed] = tx.claim_due_feeds("instance-a", NOW, NOW + 30, 10)
        tx.claim_due_feeds("instance-b", NOW + 30, NOW + 60, 10)  # a stalled past its lease
    async with make_client(FetchLimits.from_config(config.polling)) as client:
        await poll_feed(store, claimed, config, compiled, client, NOW, lease_owner="instance-a")
    with store.transaction() as tx:
        row = tx.feed(url)
    assert row is not None and (row.lease_owner, row.lease_until) == ("instance-b", NOW + 60)
