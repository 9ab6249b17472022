"""Parsing and decoding feed documents into articles."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest
from feedserver import rss

from watcher.ingest.article import Article
from watcher.ingest.parse import decode_document, parse_document

RUSSIAN = "Роснефть и Лукойл попали под новые санкции, заявил министр Сечин"
FEED = "https://example.org/feed"


def parse_feed(body: bytes, headers: dict[str, str], feed_url: str) -> list[Article]:
    """Every item of a document as the `Article` production stores."""
    return [item.article for item in parse_document(body, headers, feed_url).items]


def cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if "\u0400" <= c <= "\u04ff") / max(1, len(letters))


def russian_feed(encoding: str, declare: str | None) -> bytes:
    prolog = f'<?xml version="1.0" encoding="{declare}"?>' if declare else ""
    item = f"<item><guid>1</guid><title>{RUSSIAN}</title><description>{RUSSIAN}</description>"
    item += "</item>"
    doc = f"{prolog}<rss version='2.0'><channel><title>Новости</title>{item}</channel></rss>"
    return doc.encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "declared", "header"),
    [
        ("utf-8", "utf-8", ""),
        ("utf-8", "iso-8859-1", ""),  # valid UTF-8 wins over a wrong prolog
        ("utf-8", None, "text/xml; charset=windows-1252"),  # ... and over a wrong header
        ("cp1251", "windows-1251", ""),
        ("cp1251", None, "application/rss+xml; charset=windows-1251"),  # HTTP charset honoured
        ("cp1251", None, ""),  # undeclared windows-1251 detected
        ("koi8_r", None, ""),  # undeclared KOI8-R detected
        ("koi8_r", "KOI8-R", ""),
        ("cp1251", "iso-8859-1", ""),  # a Western declaration on Cyrillic bytes
        ("cp1251", None, "text/xml; charset=iso-8859-1"),
        ("utf-16", "utf-16", ""),  # with a BOM
    ],
)
def test_russian_text_survives_any_declaration(
    encoding: str, declared: str | None, header: str
) -> None:
    headers = {"Content-Type": header} if header else {}
    [article] = parse_feed(russian_feed(encoding, declared), headers, FEED)
    assert article.title == RUSSIAN
    assert article.text == RUSSIAN


@pytest.mark.parametrize(
    ("raw", "header", "expected"),
    [
        ("Café société".encode("cp1252"), "", "Café société"),  # undeclared Western
        ("Mãe de utente".encode("latin-1"), "text/xml; charset=ISO-8859-1", "Mãe de utente"),
        ("Euro € sign".encode("cp1252"), "text/xml; charset=windows-1252", "Euro € sign"),
        (codecs.BOM_UTF8 + "Zoë".encode(), "text/xml; charset=iso-8859-1", "Zoë"),
    ],
)
def test_western_text_is_not_mistaken_for_cyrillic(raw: bytes, header: str, expected: str) -> None:
    text, _ = decode_document(raw, header)
    assert text == expected


def test_utf8_with_one_broken_byte_stays_utf8() -> None:
    body = russian_feed("utf-8", "utf-8").replace("Лукойл".encode(), "Лукойл".encode() + b"\xff")
    [article] = parse_feed(body, {}, FEED)
    assert "Роснефть и Лукойл" in article.title
    assert cyrillic_share(article.text) > 0.9


def test_item_fields_html_removed_and_all_text_kept() -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>T</title><ttl>45</ttl>
<item><guid isPermaLink="false">abc-1</guid><link>https://ex.com/story?utm_source=rss</link>
<title>Sanctions on &lt;b&gt;Rosneft&lt;/b&gt;</title>
<description>Summary mentions &lt;i&gt;Igor&lt;/i&gt; Sechin.</description>
<content:encoded><![CDATA[<p>Full text about <b>Lukoil</b>&nbsp;today.</p>
<script>var x = "Putin";</script>]]></content:encoded>
<pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate></item>
</channel></rss>"""
    parsed = parse_document(body, {"Content-Type": "application/rss+xml"}, FEED)
    assert parsed.is_feed
    assert parsed.ttl == 45 * 60
    [item] = parsed.items
    article = item.article
    assert item.key == "guid:abc-1"
    assert article.id == "https://ex.com/story"  # canonical link: the cross-feed identity
    assert article.link == "https://ex.com/story?utm_source=rss"
    assert article.title == "Sanctions on Rosneft"
    assert "Full text about Lukoil today." in article.text
    assert "Igor Sechin" in article.text  # the summary is not dropped when content exists
    assert "Putin" not in article.text  # script bodies are not text
    assert "<" not in article.full_text
    assert article.published == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_duplicate_and_blank_guids_give_distinct_items() -> None:
    body = rss(
        {"guid": "dup", "title": "First"},
        {"guid": "dup", "title": "Second"},
        {"guid": "", "title": "Third"},
        {"guid": " ", "title": "Fourth"},
        {"guid": "dup", "title": "First"},  # an exact repeat collapses
    )
    items = parse_document(body, {}, FEED).items
    assert [i.article.title for i in items] == ["First", "Second", "Third", "Fourth"]
    assert len({i.key for i in items}) == 4
    assert [i.key for i in parse_document(body, {}, FEED).items] == [i.key for i in items]


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Not a feed</title></head><body><p>Hi</p></body></html>",
        b"https://example.invalid/feed.xml",  # must never be fetched as a URL
        b"",
        b"\x00\x01\x02garbage\xff\xfe",
        b'{"not": "a feed"}',
    ],
)
def test_non_feeds_are_recognised(body: bytes) -> None:
    parsed = parse_document(body, {"Content-Type": "text/html"}, FEED)
    assert not parsed.is_feed
    assert parsed.items == ()


def test_empty_but_valid_feed_is_a_feed() -> None:
    parsed = parse_document(rss(), {}, FEED)
    assert parsed.is_feed
    assert parsed.items == ()


def test_atom_feed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:x:1</id><title type="html">Lavrov &amp;amp; Co</title>
<link href="https://ex.com/1"/><updated>2024-01-02T03:04:05Z</updated>
<summary type="html">&lt;p&gt;Said Lavrov&lt;/p&gt;</summary></entry></feed>"""
    [article] = parse_feed(body, {"content-type": "application/atom+xml"}, FEED)
    assert article.title == "Lavrov & Co"
    assert article.text == "Said Lavrov"
    assert article.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_text_constructs_read_as_their_declared_type() -> None:
    """A plain-text title keeps its angle brackets; HTML content keeps its words apart."""
    item = (
        "<item><guid>1</guid><title>Oil price &lt; $60 as Lavrov &gt; meets Rubio</title>"
        "<description>&lt;table&gt;&lt;tr&gt;&lt;td&gt;Igor&lt;/td&gt;&lt;td&gt;Sechin&lt;/td&gt;"
        "&lt;/tr&gt;&lt;/table&gt;&lt;p&gt;A&lt;p&gt;B</description></item>"
    )
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>2</id>'
        '<title type="text">Lavrov &lt;b&gt; Rubio</title>'
        '<content type="html">&lt;li&gt;Rosneft&lt;li&gt;Lukoil</content></entry></feed>'
    )
    [article] = parse_feed(f"<rss version='2.0'><channel>{item}</channel></rss>".encode(), {}, FEED)
    assert article.title == "Oil price < $60 as Lavrov > meets Rubio"
    assert article.text == "Igor Sechin\nA\nB"
    [entry] = parse_feed(atom.encode(), {}, FEED)
    assert entry.title == "Lavrov <b> Rubio"
    assert entry.text == "Rosneft\nLukoil"


def test_categories_are_part_of_the_item_and_marked_as_tags() -> None:
    item = (
        "<item><guid>1</guid><title>Red Sea</title><description>Shipping halted.</description>"
        "<category>Houthis</category><category domain='x'>Yemen</category>"
        "<category>Houthis</category></item>"
    )
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>2</id><title>t</title>'
        '<category term="ye" label="Yemen"/></entry></feed>'
    )
    [article] = parse_feed(f"<rss version='2.0'><channel>{item}</channel></rss>".encode(), {}, FEED)
    assert article.tags == ("Houthis", "Yemen")
    assert article.full_text == "Red Sea\n\nShipping halted.\n\nTags: Houthis · Yemen"
    words = ("Sea", "halted", "Yemen")
    fields = [article.field_at(article.full_text.index(word)) for word in words]
    assert fields == ["title", "text", "tag"]
    [entry] = parse_feed(atom.encode(), {}, FEED)
    assert entry.tags == ("ye", "Yemen")
    assert entry.field_at(entry.full_text.index("Yemen")) == "tag"


def test_article_fields_without_a_title_or_text() -> None:
    tags_only = Article("", "id", "", "", None, "", tags=("Houthis",))
    assert tags_only.full_text == "Tags: Houthis"
    assert tags_only.field_at(6) == "tag"
    plain = Article("", "id", "", "", None, "body")
    assert plain.full_text == "body" and plain.field_at(0) == "text"


def test_ill_formed_xml_is_read_with_a_warning() -> None:
    body = b"<rss version='2.0'><channel><item><guid>1</guid><title>A &nbsp; B</title></item>"
    parsed = parse_document(body, {}, FEED)
    assert parsed.is_feed and len(parsed.items) == 1
    assert parsed.warning.startswith("ill-formed XML at line 1, column")
    clean = parse_document(russian_feed("utf-8", "utf-8"), {"content-type": "text/plain"}, FEED)
    assert clean.warning == ""  # a wrong content type is not an ill-formed document
