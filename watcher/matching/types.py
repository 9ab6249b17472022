"""Values the matcher returns."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.config.watchlist import EntryType, Severity

# Match.rule: how the matched words were got from the entry's names.
RULES = {
    "name": "listed name",
    "alias": "listed alias",
    "derived": "derived form",  # "derived:given-family": the entry's `derived` list
    "short-form": "name without legal form or generic words",
    "one-word": "name written as one word",
    "surname": "surname of a prominent person",
    "acronym": "acronym",
    "exonym": "news spelling in another language",  # "exonym:es": `watcher.matching.exonyms`
}
# Match.form: how the words in the text differ from the name's.
FORMS = {
    "transliteration": "another romanisation or script",
    "inflection": "inflected form",
    "typo": "spelling slip",
    "list-order": "in list order",
    "initials": "with initials",
    "middle-initial": "with a middle initial",
    "no-middle-name": "without middle name or patronymic",
    "patronymic": "with a patronymic",
    "split": "written as two words",
    "nickname": "with a quoted nickname between the names",
}


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
    rule: str = "name"  # which rule made the match: one of RULES, or "derived:<how>"
    evidence: str = ""  # what the rule relied on: the cue, title or corroborating name
    form: str = ""  # how the words differed from the name: FORMS, comma-separated

    @property
    def why(self) -> str:
        """The rule in words, for the digest: ``surname of a prominent person, cue:
        President``; ``listed alias (inflected form)``."""
        kind, _, how = self.rule.partition(":")
        text = RULES.get(kind, kind)
        if how:
            text = f"{text} ({how})"
        if self.evidence:
            text = f"{text}, {self.evidence}"
        forms = [FORMS.get(f, f) for f in self.form.split(",") if f]
        return f"{text}; {', '.join(forms)}" if forms else text

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
            "rule": self.rule,
            "why": self.why,
            "also": [{"list": name, "entry": entry} for name, entry in self.also],
        }
