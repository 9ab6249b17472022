"""Stable identities: canonical links, item keys, article ids, content hashes."""

from __future__ import annotations

import pytest

from watcher.ingest.identity import RawItem, assign_identities, canonical_link, content_hash

FEED = "https://feeds.example.org/world.xml"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://News.Example.COM/a?id=1", "https://news.example.com/a?id=1"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=XYZ", "https://example.com/a"),
        ("https://example.com/a?gclid=1&x=2&UTM_Campaign=c", "https://example.com/a?x=2"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("HTTPS://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "https://example.com:8080/a"),
        ("http://example.com:80/a", "https://example.com/a"),  # http and https: one story
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://example.com/Path/Case", "https://example.com/Path/Case"),  # path kept
        ("not a url", "not a url"),
        ("https://[2001:DB8::1]/x", "https://[2001:db8::1]/x"),
    ],
)
def test_canonical_link(link: str, expected: str) -> None:
    assert canonical_link(link) == expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.com/%7Eanna/story", "https://example.com/~anna/story"),
        ("https://example.com/a%2fb%c3%bc", "https://example.com/a%2Fb%C3%BC"),
        ("https://example.com/über uns", "https://example.com/%C3%BCber%20uns"),
        ("https://example.com/a?id=7&page=2", "https://example.com/a?page=2&id=7"),
        ("https://example.com/a?q=%7E", "https://example.com/a?q=~"),
        ("https://news.example.com./a", "https://news.example.com/a"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("https://BÜCHER.example./a", "https://xn--bcher-kva.example/a"),
    ],
)
def test_equivalent_links_are_one_identity(one: str, other: str) -> None:
    assert canonical_link(one) == canonical_link(other)


def test_repeated_parameter_keeps_its_value_order() -> None:
    assert canonical_link("https://e.org/a?t=2&k=1&t=1") == "https://e.org/a?k=1&t=2&t=1"
    assert canonical_link("https://e.org/a?t=1&t=2") != canonical_link("https://e.org/a?t=2&t=1")


def item(guid: str = "", link: str = "", title: str = "t", text: str = "x") -> RawItem:
    return RawItem(guid=guid, link=link, title=title, text=text)


def test_guid_is_the_key_and_unique_link_the_article_id() -> None:
    [ident] = assign_identities(FEED, [item("g-1", "https://ex.com/a?utm_source=x")])
    assert ident.key == "guid:g-1"
    assert ident.article_id == "https://ex.com/a"


def test_no_guid_falls_back_to_link_then_hash() -> None:
    by_link, by_hash = assign_identities(
        FEED, [item(link="https://ex.com/b#top"), item(title="Only a title", text="body")]
    )
    assert by_link.key == "link:https://ex.com/b"
    assert by_hash.key.startswith("hash:")
    assert by_hash.article_id == f"{FEED} {by_hash.key}"


def test_repeated_guids_in_one_document_yield_distinct_stable_keys() -> None:
    items = [item("same", title="One"), item("same", title="Two"), item("same", title="Three")]
    first = assign_identities(FEED, items)
    again = assign_identities(FEED, items)
    assert len({i.key for i in first}) == 3
    assert first == again


def test_blank_guids_with_one_shared_link_yield_distinct_keys_and_feed_scoped_ids() -> None:
    items = [item(" ", "https://ex.com/", title="A"), item("", "https://ex.com/", title="B")]
    a, b = assign_identities(FEED, items)
    assert a.key != b.key
    # a link shared by several items of one document identifies nothing across feeds
    assert a.article_id != b.article_id
    assert a.article_id.startswith(FEED)


def test_exact_repeat_is_the_same_item() -> None:
    a, b = assign_identities(FEED, [item("dup", title="Same"), item("dup", title="Same")])
    assert a == b


def test_same_link_in_two_feeds_is_one_article() -> None:
    [a] = assign_identities(
        "https://one.example/feed", [item("x1", "https://ex.com/s?utm_medium=rss")]
    )
    [b] = assign_identities("https://two.example/feed", [item("other-guid", "https://EX.com/s")])
    assert a.article_id == b.article_id


def test_content_hash_changes_on_edit_only() -> None:
    assert content_hash("Title", "Body") == content_hash(" Title ", "Body\n")
    assert content_hash("Title", "Body") != content_hash("Title", "Body, updated")
    assert content_hash("ab", "c") != content_hash("a", "bc")
