"""Values the matcher returns."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.watchlist import EntryType, Severity


@dataclass(frozen=True)
class Match:
    """An entry found in an article: the best mention, merged per entry."""

    list_name: str
    entry_id: str
    name: str  # the entry's primary name
    type: EntryType
    severity: Severity
    programs: tuple[str, ...]
    alias: str  # which of the entry's names matched
    text: str  # exactly as it stands in the article text
    start: int  # offsets into the text that was matched
    end: int
    score: int  # 0-100
    snippet: str  # a short window of text around the mention
    mentions: int = 1  # how many mentions of this entry the article holds
    # the entity's other listings (list name, entry id): one card per real-world entity
    also: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        """The `watcher match --json` contract for one match."""
        return {
            "list": self.list_name,
            "entry": self.entry_id,
            "name": self.name,
            "type": str(self.type),
            "severity": str(self.severity),
            "alias": self.alias,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "snippet": self.snippet,
            "also": [{"list": name, "entry": entry} for name, entry in self.also],
        }
