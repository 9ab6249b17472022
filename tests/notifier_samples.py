"""Sample notifier inputs shared by the render, notify and browser tests.

`sample_matches()` builds `PendingMatch` values directly (for pure rendering);
`record_sample_state()` writes articles, feeds and matches into a real Store with plain SQL
(the ingestion helper's insert methods are not the notifier's concern).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from watcher.config.schema import Config, DigestConfig, EmailConfig, SmtpConfig
from watcher.config.watchlist import EntryType, Severity
from watcher.ingest.feedstate import ItemRecord
from watcher.matching.types import Match
from watcher.notify.notice import FeedProblem, PendingMatch
from watcher.notify.render import NO_HISTORY, MentionHistory, RenderSettings, split_digest
from watcher.state.sqlite import Store

NOW = datetime(2025, 10, 23, 7, 0, tzinfo=UTC)


def settings(**overrides: object) -> RenderSettings:
    values: dict[str, object] = {
        "sender": "sanctions-watch <watch@example.org>",
        "recipients": ("analyst@example.org", "desk@example.org"),
        "subject_prefix": "[sanctions-watch]",
        "timezone": "Europe/Berlin",
        "now": NOW,
    }
    values.update(overrides)
    return RenderSettings(**values)  # type: ignore[arg-type]


def digest_message(
    matches: list[PendingMatch],
    problems: list[FeedProblem],
    render_settings: RenderSettings,
    digest_id: str,
    new_entries: frozenset[str] = frozenset(),
    *,
    history: MentionHistory = NO_HISTORY,
) -> EmailMessage:
    """The digest as production renders it (`split_digest`), when it fits in one message."""
    parts = split_digest(
        matches, problems, render_settings, digest_id, new_entries, history=history
    )
    assert len(parts) == 1, f"expected a one-message digest, got {len(parts)} parts"
    return parts[0].message


def _match(n: int, **fields: object) -> PendingMatch:
    values: dict[str, object] = {
        "id": n,
        "article_id": f"article-{n}",
        "title": f"Article {n}",
        "link": f"https://news.example.org/{n}",
        "published": datetime(2025, 10, 22, 9, n % 60, tzinfo=UTC),
        "feeds": ("Example Wire",),
        "list_name": "russia-energy",
        "entry_id": "rosneft",
        "name": "Rosneft",
        "type": "organization",
        "severity": Severity.HIGH,
        "programs": ("US-SDN EO14024",),
        "alias": "Rosneft",
        "text": "Rosneft",
        "score": 100,
        "snippet": "… said Rosneft had raised output …",
        "found_at": datetime(2025, 10, 22, 10, 0, tzinfo=UTC),
        "alerted_at": None,
    }
    values.update(fields)
    return PendingMatch(**values)  # type: ignore[arg-type]


def sample_matches() -> list[PendingMatch]:
    """A realistic mixed digest: three severities, two articles sharing an entry, Cyrillic."""
    return [
        _match(
            1,
            title="Rosneft and Lukoil face new US sanctions",
            snippet="… The Treasury said Rosneft and Lukoil would be cut off from …",
            alerted_at=datetime(2025, 10, 22, 10, 1, tzinfo=UTC),
        ),
        _match(
            2,
            article_id="article-1",
            title="Rosneft and Lukoil face new US sanctions",
            link="https://news.example.org/1",
            entry_id="lukoil",
            name="Lukoil",
            alias="Lukoil",
            text="Lukoil",
            score=100,
            snippet="… The Treasury said Rosneft and Lukoil would be cut off from …",
            alerted_at=datetime(2025, 10, 22, 10, 1, tzinfo=UTC),
        ),
        _match(
            3,
            title="«Роснефть» увеличила добычу",
            link="https://ria.example.ru/3",
            feeds=("РИА Пример",),
            alias="Роснефть",
            text="Роснефть",
            score=100,
            snippet="… компания «Роснефть» увеличила добычу на 2% …",
        ),
        _match(
            4,
            title="Lavrov's remarks at the summit",
            list_name="russia-officials",
            entry_id="lavrov",
            name="Sergey Lavrov",
            type="person",
            severity=Severity.MEDIUM,
            programs=("EU 269/2014",),
            alias="Lavrov",
            text="Lavrov's",
            score=100,
            snippet="… Foreign Minister Lavrov's remarks drew criticism …",
        ),
        _match(
            5,
            title="Shipping update",
            feeds=("Maritime Daily", "Example Wire"),
            list_name="vessels",
            entry_id="sci-tanker",
            name="SCF Baltica",
            type="vessel",
            severity=Severity.LOW,
            programs=(),
            alias="SCF Baltica",
            text="SCF Baltika",
            score=91,
            snippet="… the tanker SCF Baltika was seen off …",
            published=None,
        ),
    ]


def sample_problems() -> list[FeedProblem]:
    return [
        FeedProblem(
            name="Broken Feed",
            url="https://broken.example.org/rss",
            state="failing",
            detail="HTTP 503 Service Unavailable (5 failures)",
            since=datetime(2025, 10, 21, 18, 0, tzinfo=UTC),
        ),
        FeedProblem(
            name="Quiet Feed",
            url="https://quiet.example.org/atom",
            state="stale",
            detail="no new item for 9 days",
        ),
    ]


def make_config(tmp_path: Path, **sections: object) -> Config:
    """A Config for notifier tests: directory delivery into tmp_path unless overridden."""
    email = sections.pop(
        "email",
        EmailConfig(
            **{"from": "sanctions-watch <watch@example.org>"},
            to=("analyst@example.org",),
            delivery="directory",
            directory=tmp_path / "mail",
        ),
    )
    return Config(
        state_dir=tmp_path / "state",
        email=email,  # type: ignore[arg-type]
        digest=sections.pop("digest", DigestConfig(timezone="UTC")),  # type: ignore[arg-type]
        smtp=sections.pop("smtp", SmtpConfig()),  # type: ignore[arg-type]
    )


def record_match(
    store: Store,
    *,
    article: str,
    entry: str,
    severity: str = "high",
    title: str | None = None,
    notify: bool = True,
    found_at: float = 1_761_120_000.0,
    feed: str = "Example Wire",
    undated: bool = False,
) -> None:
    """Record one article (if new) in `feed` and one match in it, the way ingestion does.
    The article is published when it is found, unless `undated` (the feed gave no date)."""
    url = f"https://{feed.replace(' ', '').lower()}.example/rss"
    name = entry.replace("-", " ").title()
    match = Match(
        list_name="test-list",
        entry_id=entry,
        name=name,
        type=EntryType.ORGANIZATION,
        severity=Severity(severity),
        programs=("PROGRAM-1",),
        alias=name,
        text=name,
        start=0,
        end=len(name),
        score=100,
        snippet=f"… news about {name} today …",
    )
    item = ItemRecord(
        key=article,
        article_id=article,
        link=f"https://news.example/{article}",
        title=title or f"Story {article}",
        published=None if undated else found_at,
        content_hash="h",
    )
    with store.transaction() as tx:
        known = {row.url for row in tx.feeds()}
        if url not in known:
            tx.sync_feeds([*((r.url, r.name) for r in tx.feeds()), (url, feed)], found_at)
        feed_row = tx.feed(url)
        assert feed_row is not None
        # other items of the feed get in_feed = 0: irrelevant to notifying
        tx.record_items(feed_row.id, [item], found_at)
        tx.add_matches(article, [match], found_at, notify=notify)
