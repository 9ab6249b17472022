"""HTML to plain text for the matcher: tags removed, entities decoded, block breaks kept."""

from __future__ import annotations

import html
import re

_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^>]*>", re.I)
_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment. Inline tags vanish without a space (``Igor <b>Sechin</b>``
    reads ``Igor Sechin``); block ends become line breaks; ``&nbsp;`` becomes a space."""
    text = _DROP.sub(" ", markup)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    return text.strip()
