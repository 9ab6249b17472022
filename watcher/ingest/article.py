"""The unit the pipeline moves around: one news item, as plain text the matcher can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Field = Literal["title", "text", "tag"]  # where in an article a match was found
TAGS_LABEL = "Tags: "  # starts the tag section of `Article.full_text`
TAG_SEPARATOR = " · "


@dataclass(frozen=True)
class Article:
    feed_url: str  # the feed it came from ("" for a local file given to `watcher match`)
    id: str  # stable identity: guid, else canonical link, else a hash of title and content
    link: str
    title: str
    published: datetime | None
    text: str  # plain text of the summary/content, HTML removed and entities decoded
    tags: tuple[str, ...] = ()  # the item's categories (RSS <category>, Atom <category>)

    @property
    def full_text(self) -> str:
        """What the matcher reads: the title, the body text and a ``Tags: a · b`` line, each
        present part separated by a blank line (so a tag match's snippet shows it is a tag)."""
        return "\n\n".join(part for part, _ in self._sections() if part)

    def field_at(self, offset: int) -> Field:
        """Which part of `full_text` the character at ``offset`` belongs to."""
        end = 0
        field: Field = "text"
        for part, field in self._sections():
            if not part:
                continue
            end += len(part) + 2
            if offset < end:
                return field
        return field

    def _sections(self) -> tuple[tuple[str, Field], ...]:
        tags = TAGS_LABEL + TAG_SEPARATOR.join(self.tags) if self.tags else ""
        return ((self.title, "title"), (self.text, "text"), (tags, "tag"))
