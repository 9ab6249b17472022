"""Feed documents to `Article` values (feedparser does the parsing; we never let it fetch)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from watcher.article import Article
from watcher.text import html_to_text


def parse_feed(body: bytes, headers: Mapping[str, str], feed_url: str) -> list[Article]:
    """Every item of a feed document as an `Article` (minimal first version)."""
    parsed = feedparser.parse(io.BytesIO(body), response_headers=dict(headers))
    return [_article(entry, feed_url) for entry in parsed.entries]


def _article(entry: Any, feed_url: str) -> Article:
    title = html_to_text(entry.get("title", ""))
    contents = [c.get("value", "") for c in entry.get("content", [])]
    body = html_to_text(contents[0] if contents else entry.get("summary", ""))
    link = entry.get("link", "")
    guid = entry.get("id") or link or hashlib.sha256((title + body).encode()).hexdigest()[:32]
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    when = datetime(*published[:6], tzinfo=UTC) if published else None
    return Article(feed_url=feed_url, id=guid, link=link, title=title, published=when, text=body)
