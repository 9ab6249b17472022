"""Stable identities for feed items: canonical links, item keys, article ids, content hashes.

Two identities per item:
- the *item key* identifies an item inside one feed: its guid, else its canonical link, else
  a hash of title and content. A key repeated inside one document (copy-pasted guids, several
  blank guids sharing one link) gets the item's content hash appended, so every distinct
  item has a distinct key that is the same on every poll.
- the *article id* identifies the story across feeds: its canonical link when it has one,
  so the same story carried by two feeds is one article with two sources. When several
  items of one document share a link (feeds that link every item to their front page), the
  link identifies nothing and the article id falls back to the feed-scoped item key.

The *content hash* covers title and plain text; a change means the item was edited and is
matched again (only matches not already stored are reported).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# query parameters that only track the reader, never select the content
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "matomo_", "_hs", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "ito",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "rss",
        "ref_src",
        "s_cid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# characters a path keeps as they are (RFC 3986 pchar and "/"); anything else is %-escaped
_PATH_SAFE = "/:@!$&'()*+,;=%-._~"


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def content_hash(title: str, text: str) -> str:
    """Fingerprint of what the matcher reads; changes when the item is edited."""
    return _digest(title.strip(), text.strip())


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def canonical_link(url: str) -> str:
    """The link as an identity: tracking parameters and the fragment removed, the remaining
    parameters in name order, scheme and host lowercased, a host's trailing dot dropped and an
    internationalised host written in punycode, a default port dropped, http written as https,
    percent-escapes normalised (``%7E`` is ``~``, ``%c3`` is ``%C3``, ``ü`` is ``%C3%BC``).
    Not a URL at all (no scheme/host): returned stripped."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    host = _canonical_host(parts.hostname or "")
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    # parameter order carries no meaning for the servers news sites run; a stable sort keeps
    # the order of a repeated name's values, which can
    query.sort(key=lambda pair: pair[0])
    # one story linked over http by one feed and https by another is still one story
    identity_scheme = "https" if scheme == "http" else scheme
    path = _canonical_path(parts.path or "/")
    return urlunsplit((identity_scheme, netloc, path, urlencode(query, doseq=True), ""))


def _canonical_host(hostname: str) -> str:
    """Lowercase, without the root's trailing dot, an IDN as punycode, IPv6 in brackets."""
    host = hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        return f"[{host}]"
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDN (a label too long, ...): compared as written
        return host


def _canonical_path(path: str) -> str:
    """RFC 3986 6.2.2 normalisation: escaped unreserved characters decoded, the other escapes
    in upper case, characters a URL cannot hold (non-ASCII, spaces) escaped as UTF-8."""

    def normalise(escape: re.Match[str]) -> str:
        char = chr(int(escape.group(1), 16))
        return char if char in _UNRESERVED else escape.group(0).upper()

    return quote(_ESCAPE.sub(normalise, path), safe=_PATH_SAFE)


@dataclass(frozen=True)
class RawItem:
    """What identity needs to know about one item of a document."""

    guid: str
    link: str
    title: str
    text: str


@dataclass(frozen=True)
class ItemIdentity:
    key: str  # identity inside its feed
    article_id: str  # identity across feeds
    content_hash: str


def assign_identities(feed_url: str, items: Sequence[RawItem]) -> list[ItemIdentity]:
    """Identities for every item of one document, in order (see the module docstring).
    Exact repeats inside the document share one key; callers keep the first."""
    links = [canonical_link(item.link) if item.link.strip() else "" for item in items]
    hashes = [content_hash(item.title, item.text) for item in items]
    base_keys = [
        _base_key(item, link, digest)
        for item, link, digest in zip(items, links, hashes, strict=True)
    ]
    key_counts = Counter(base_keys)
    link_counts = Counter(link for link in links if link)
    identities: list[ItemIdentity] = []
    for base, link, digest in zip(base_keys, links, hashes, strict=True):
        # an exact repeat (same key, same content) gets the same key: it is the same item
        key = base if key_counts[base] == 1 else f"{base}#{digest}"
        unique_link = bool(link) and link_counts[link] == 1
        article_id = link if unique_link else f"{feed_url} {key}"
        identities.append(ItemIdentity(key=key, article_id=article_id, content_hash=digest))
    return identities


def _base_key(item: RawItem, link: str, digest: str) -> str:
    guid = item.guid.strip()
    if guid:
        return f"guid:{guid}"
    if link:
        return f"link:{link}"
    return f"hash:{digest}"
