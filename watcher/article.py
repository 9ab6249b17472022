"""The unit the pipeline moves around: one news item, as plain text the matcher can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Article:
    feed_url: str  # the feed it came from ("" for a local file given to `watcher match`)
    id: str  # stable identity: guid, else canonical link, else a hash of title and content
    link: str
    title: str
    published: datetime | None
    text: str  # plain text of the summary/content, HTML removed and entities decoded

    @property
    def full_text(self) -> str:
        """What the matcher reads: the title, a blank line, then the body text."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text
