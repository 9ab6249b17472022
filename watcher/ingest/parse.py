"""Feed documents to `Article` values (feedparser does the parsing; we never let it fetch).

Decoding is done here, before feedparser, because feeds lie about their encoding:
1. a byte-order mark (or the XML spec's UTF-16/32 signature) decides;
2. bytes that are valid UTF-8 are UTF-8, whatever the declaration says (a latin-1
   declaration on UTF-8 bytes is the most common lie, and random legacy bytes are
   practically never valid UTF-8); so are bytes that are valid UTF-8 but for a few broken
   sequences (decoded with replacement characters);
3. otherwise the declarations (HTTP ``charset``, XML prolog, HTML ``<meta>``) that name a
   known codec and decode the bytes are candidates; a single-byte *Western* declaration whose
   result looks like Cyrillic read as Latin (mostly accented capitals) is checked against
   windows-1251 and KOI8-R, because that is how undeclared Russian feeds usually arrive;
4. with no usable declaration: windows-1252, or windows-1251/KOI8-R (charset-normalizer
   decides which) when windows-1252 reads as Cyrillic-as-Latin.
The text is then re-encoded as UTF-8 with the prolog and the header saying so, and only then
handed to feedparser, so the matcher never sees mojibake.

Pure functions, safe to run in a worker thread.
"""

from __future__ import annotations

import codecs
import io
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
import feedparser

from watcher.ingest.article import Article
from watcher.ingest.identity import RawItem, assign_identities
from watcher.ingest.schedule_math import parse_ttl
from watcher.ingest.text import content_to_text, plain_text, repair_mojibake

_XML_DECL = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)([\"'])", re.S)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SIGNATURES = (  # XML 1.0 appendix F: "<?" without a BOM
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_WESTERN = frozenset({"latin-1", "iso8859-1", "cp1252", "iso8859-15", "ascii"})
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.I)
_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*([\"'])(.*?)\2", re.S)
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_LATIN_RUN = re.compile("[\u00c0-\u00ff]{4,}")
_CYRILLIC_CANDIDATES = ["cp1251", "koi8_r"]


@dataclass(frozen=True)
class FeedItem:
    article: Article
    key: str  # identity inside this feed (see `watcher.ingest.identity`)
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    items: tuple[FeedItem, ...]
    is_feed: bool  # False: the document is not RSS/Atom (an HTML page, garbage)
    ttl: float | None  # RSS <ttl>, in seconds
    encoding: str  # the codec the bytes were decoded with
    problem: str  # feedparser's complaint about an ill-formed document ("" if none)
    warning: str = ""  # a feed read despite ill-formed XML: what is wrong, where ("" if none)
    alternates: tuple[str, ...] = ()  # feeds an HTML page links to (when it is not a feed)


def parse_document(body: bytes, headers: Mapping[str, str], feed_url: str) -> ParsedFeed:
    """The whole document: items with their identities, the ttl, whether it is a feed at all."""
    content_type = _header(headers, "content-type")
    text, encoding = decode_document(body, content_type)
    utf8_body = _XML_DECL.sub(rb"\g<1>utf-8\g<3>", text.encode("utf-8", "replace"), count=1)
    mime = content_type.split(";")[0].strip() or "application/xml"
    parsed = feedparser.parse(
        io.BytesIO(utf8_body),
        response_headers={"content-type": f"{mime}; charset=utf-8"},
        sanitize_html=False,  # we reduce everything to plain text anyway
        resolve_relative_uris=False,
    )
    items = _items(parsed.entries, feed_url)
    is_feed = bool(parsed.get("version")) or bool(items)
    problem = str(parsed.get("bozo_exception", "")) if parsed.get("bozo") else ""
    return ParsedFeed(
        items=items,
        is_feed=is_feed,
        ttl=parse_ttl(parsed.feed.get("ttl")),
        encoding=encoding,
        problem=problem,
        warning=_ill_formed(parsed.get("bozo_exception"), utf8_body) if is_feed else "",
        alternates=() if is_feed else feed_links(text, feed_url),
    )


def _ill_formed(exception: object, document: bytes) -> str:
    """feedparser's "bozo" for XML that is not well-formed (it then reads the document
    leniently, so items may be missing or cut), in words; "" for any other complaint."""
    if not isinstance(exception, xml.sax.SAXParseException):
        return ""
    # feedparser puts a line with an XML declaration before a document that has none
    line = (exception.getLineNumber() or 1) - (0 if document.startswith(b"<?xml") else 1)
    where = f"line {line}, column {exception.getColumnNumber()}"
    return (
        f"ill-formed XML at {where}: {exception.getMessage()}; read leniently, "
        "so items may be missing (tell the publisher)"
    )


def feed_links(html: str, base_url: str) -> tuple[str, ...]:
    """The RSS/Atom feeds an HTML page advertises (``<link rel="alternate" type=...>``),
    made absolute, so a user who configured a page URL is told which feed URL to use."""
    found = []
    for tag in _LINK_TAG.findall(html[:200_000]):
        attributes = {k.lower(): v for k, _, v in _ATTRIBUTE.findall(tag)}
        if attributes.get("type", "").lower() in _FEED_TYPES and attributes.get("href"):
            found.append(urljoin(base_url, attributes["href"].strip()))
    return tuple(dict.fromkeys(found))


def decode_document(body: bytes, content_type: str = "") -> tuple[str, str]:
    """The document as text and the codec used (see the module docstring for the rules)."""
    unambiguous = _unambiguous_codec(body)
    if unambiguous:
        return body.decode(unambiguous, "replace"), unambiguous
    return _decode_declared_or_guessed(body, content_type)


def _unambiguous_codec(body: bytes) -> str | None:
    """A BOM or UTF-16/32 signature, or bytes that are valid UTF-8."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    for signature, codec in _SIGNATURES:
        if body.startswith(signature):
            return codec
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _decode_declared_or_guessed(body: bytes, content_type: str) -> tuple[str, str]:
    mostly_utf8 = _mostly_utf8(body)
    if mostly_utf8 is not None:
        return mostly_utf8, "utf-8"
    candidates = _declared_codecs(body, content_type)
    decoded = [(c, t) for c in candidates if (t := _try_decode(body, c)) is not None]
    if len(decoded) == 1:
        codec, text = decoded[0]
        if codec in _WESTERN and _looks_like_cyrillic_as_latin(text):
            return _guess(body, _CYRILLIC_CANDIDATES, fallback=(text, codec))
        return text, codec
    if decoded:
        return _guess(body, [c for c, _ in decoded], fallback=(decoded[0][1], decoded[0][0]))
    # Nothing usable declared. A full charset-normalizer guess on a short feed is unreliable
    # (Portuguese comes out as Baltic cp1257), so: windows-1252, unless that reads as
    # Cyrillic-as-Latin, in which case charset-normalizer picks windows-1251 or KOI8-R.
    western = body.decode("cp1252", "replace")
    if _looks_like_cyrillic_as_latin(western):
        return _guess(body, _CYRILLIC_CANDIDATES, fallback=(western, "cp1252"))
    return western, "cp1252"


def _mostly_utf8(body: bytes) -> str | None:
    """UTF-8 with a few broken bytes (a truncated character, one stray Latin-1 byte) is still
    UTF-8: decoded with replacement characters rather than all of it read as windows-1252.
    Legacy single-byte text almost never forms valid multi-byte sequences, so it fails this."""
    text = body.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - broken
    return text if valid >= 10 * broken else None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().lower()).name
    except (LookupError, ValueError):
        return None


def _declared_codecs(body: bytes, content_type: str) -> list[str]:
    declared: list[str] = []
    http = _HTTP_CHARSET.search(content_type)
    if http:
        declared.append(http.group(1))
    prolog = _XML_DECL.match(body[:1024])
    if prolog:
        declared.append(prolog.group(2).decode("ascii"))
    meta = _META_CHARSET.search(body[:16384])
    if meta:
        declared.append(meta.group(1).decode("ascii"))
    codecs_found: list[str] = []
    for name in declared:
        codec = _codec(name)
        # utf-8 already failed to decode; a utf-16/32 declaration without a BOM or
        # signature on an ASCII-compatible document is a lie
        if (
            codec
            and codec not in codecs_found
            and not codec.startswith(("utf-8", "utf-16", "utf-32"))
        ):
            codecs_found.append(codec)
    return codecs_found


def _try_decode(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _looks_like_cyrillic_as_latin(text: str) -> bool:
    """windows-1251/KOI8-R bytes read as Latin-1 turn whole words into runs of letters in
    U+00C0..U+00FF ("ÏÐÉÓÁÎÉÅ"); Western languages have at most two accented letters in a
    row. Counting such runs ignores how much ASCII markup surrounds the text."""
    return len(_LATIN_RUN.findall(text)) >= 2


def _guess(body: bytes, candidates: list[str] | None, fallback: tuple[str, str]) -> tuple[str, str]:
    matches = charset_normalizer.from_bytes(body, cp_isolation=candidates)
    best = matches.best()
    if best is None:
        return fallback
    return str(best), _codec(best.encoding) or best.encoding


def _items(entries: list[Any], feed_url: str) -> tuple[FeedItem, ...]:
    raw = [_raw_item(entry) for entry in entries]
    identities = assign_identities(feed_url, [item for item, _, _ in raw])
    items: dict[str, FeedItem] = {}
    for (item, published, tags), identity in zip(raw, identities, strict=True):
        if identity.key in items:  # an exact repeat inside the document
            continue
        article = Article(
            feed_url=feed_url,
            id=identity.article_id,
            link=item.link.strip(),
            title=item.title,
            published=published,
            text=item.text,
            tags=tags,
        )
        items[identity.key] = FeedItem(article, identity.key, identity.content_hash)
    return tuple(items.values())


def _raw_item(entry: Any) -> tuple[RawItem, datetime | None, tuple[str, ...]]:
    title = _construct_text(entry.get("title_detail"), entry.get("title"))
    return (
        RawItem(
            guid=_string(entry.get("id")),
            link=_string(entry.get("link")),
            title=title,
            text=_body_text(entry),
        ),
        _published(entry),
        _tags(entry),
    )


def _tags(entry: Any) -> tuple[str, ...]:
    """The item's categories (a term and, when it says more, its label), each once. Not part
    of the content hash: tags are screened, but a re-tagged item is not an edited story."""
    found: list[str] = []
    for tag in entry.get("tags") or []:
        for value in (tag.get("term"), tag.get("label")):
            text = repair_mojibake(plain_text(_string(value)))
            if text and text not in found:
                found.append(text)
    return tuple(found)


def _body_text(entry: Any) -> str:
    """Every distinct text the item carries (content parts, then the summary when it is not
    already part of the content), so no mention hides in the part we skipped."""
    parts: list[str] = []
    for content in entry.get("content") or []:
        value = _construct_text(content, content.get("value"))
        if value and all(value not in p for p in parts):
            parts.append(value)
    summary = _construct_text(entry.get("summary_detail"), entry.get("summary"))
    if summary and all(summary not in p for p in parts):
        parts.append(summary)
    return "\n\n".join(parts)


def _construct_text(detail: Any, value: object) -> str:
    """A title, summary or content part as plain text, read as the type feedparser gives it
    (RSS titles are text unless they hold markup; Atom says ``type="text"``/``"html"``)."""
    content_type = detail.get("type", "") if isinstance(detail, Mapping) else ""
    return content_to_text(_string(value), content_type or "text/html")


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get maps updated->published with a DeprecationWarning
        value = dict.get(entry, key)
        if value:
            try:
                year, month, day, hour, minute, second = value[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None
