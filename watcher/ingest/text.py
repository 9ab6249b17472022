"""Feed text to plain text for the matcher: HTML parsed as HTML (tags removed, entities decoded,
block breaks kept), plain text kept as it is, whatever ``<`` and ``>`` it contains."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import ftfy

# elements whose start and end break the text into separate lines (HTML's block-level and
# list/table-structure elements); any other tag is inline and vanishes without a space
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})  # neighbouring cells are separate words on one line
_HIDDEN = frozenset({"script", "style", "template", "noscript"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SPACES = re.compile(r"[ \t\r\n\f\xa0]+")
_LINE_BREAKS = re.compile(r" *\n[\n ]*")
_BREAK = "\x00"  # a block boundary, resolved to a line break once all text is collected
# UTF-8 read as windows-1252/Latin-1: a lead byte (Â..ô) then a continuation byte (U+0080..
# U+00BF, or what windows-1252 makes of 0x80..0x9F). Text without such a pair is not
# mojibake, and most text has none: ftfy runs only where one occurs.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6"
    "\u2030\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc"
    "\u2122\u0161\u203a\u0153\u017e\u0178]|[\u00c2\u00c3] "  # (or U+00A0 became a space)
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        self._separate(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._separate(tag)  # <br/>, <hr/>, <td/>: no content to hide

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        self._separate(tag)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)

    def _separate(self, tag: str) -> None:
        if tag in _BLOCK:
            self.chunks.append(_BREAK)
        elif tag in _CELL:
            self.chunks.append(" ")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment. Inline tags vanish without a space (``Igor <b>Sechin</b>``
    reads ``Igor Sechin``); block elements (``<p>``, ``<li>``, ``<br>``, ``<tr>``...) start and
    end a line and table cells are separate words, so nothing glues (``<td>Igor</td><td>Sechin
    </td>`` reads ``Igor Sechin``); whitespace runs collapse as a browser shows them; ``<``
    that starts no tag (``price < $60``) is text."""
    if "<" not in markup and "&" not in markup:  # no markup at all: only whitespace to fold
        return _SPACES.sub(" ", markup).strip()
    parser = _TextCollector()
    parser.feed(markup)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.chunks)).replace(_BREAK, "\n")
    return _LINE_BREAKS.sub("\n", text).strip()


def plain_text(text: str) -> str:
    """Text that is not markup, as the matcher reads it: a no-break space is a space."""
    return text.replace("\xa0", " ").strip()


def content_to_text(value: str, content_type: str) -> str:
    """A feed construct as plain text, read as its declared type says (feedparser reports
    ``text/plain`` or ``text/html`` for every title, summary and content), with mojibake
    repaired."""
    mime = content_type.split(";", maxsplit=1)[0].strip().lower()
    text = html_to_text(value) if mime in _HTML_TYPES else plain_text(value)
    return repair_mojibake(text)


def repair_mojibake(text: str) -> str:
    """Text that was UTF-8 decoded as Latin-1/windows-1252 somewhere upstream (``corrupciÃ³n``
    in a feed that is otherwise correct UTF-8) decoded back (``corrupción``). Only ftfy's
    encoding steps run: quotes, ligatures and widths stay as the publisher wrote them. ftfy
    changes only text that is far likelier mojibake than real Latin-1 (``Ã³`` yes, ``Mãe``
    no)."""
    if text.isascii() or not _MOJIBAKE_HINT.search(text):
        return text
    return plain_text(ftfy.fix_encoding(text))  # a repaired "Â " is a no-break space
