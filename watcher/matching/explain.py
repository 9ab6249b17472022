"""Why a match was made, and what the matcher looks for, for ``watcher match --explain``.

For a match: the rule that made it (`Match.rule`, in words `Match.why`), the name that
matched and where that name comes from (the primary name, a listed alias, a form derived
from the name and by which rule, see `watcher.importers.derive`, or a news spelling in another
language, see `watcher.matching.exonyms`), and every list the entity is
on (`watcher.matching.cards`). For an entry: every name it is found by, with the same
provenance, its weak aliases, and its other listings.
"""

from __future__ import annotations

from collections.abc import Sequence

from watcher.config.watchlist import Entry
from watcher.errors import WatcherError
from watcher.matching.cards import listed_on
from watcher.matching.exonyms import RULE as EXONYM_RULE
from watcher.matching.index import CompiledWatchlists, indexed_names
from watcher.matching.types import RULES, Match

PRIMARY = "primary name"
ALIAS = "listed alias"
EXONYM = RULES[EXONYM_RULE]


def derived_label(rule: str) -> str:
    return f"derived form ({rule})"


def name_label(rule: str) -> str:
    """Where a name comes from, from its rule as `indexed_names` gives it."""
    kind, _, how = rule.partition(":")
    if kind == "derived":
        return derived_label(how)
    if kind == EXONYM_RULE:
        return f"{EXONYM} ({how})"
    return PRIMARY if kind == "name" else ALIAS


class Explainer:
    """Explanations against one compiled index."""

    def __init__(self, compiled: CompiledWatchlists) -> None:
        self.compiled = compiled
        self.positions = {entry.key: i for i, entry in enumerate(compiled.entries)}

    def name_rule(self, m: Match) -> str:
        """Where the name that matched comes from: one the list gives or derives, a weak
        alias, or a form the matcher reads from the entry (a surname, a short form)."""
        position = self.positions.get(f"{m.list_name}/{m.entry_id}")
        if position is None:
            return ALIAS
        entry = self.compiled.entries[position]
        rules = dict(indexed_names(entry))
        if m.alias in rules:
            return name_label(rules[m.alias])
        if m.alias in entry.weak_aliases:
            return "weak alias"
        return f"{m.rule} (read by the matcher from its names, not listed)"

    def _listings(self, entry: Entry) -> tuple[str, ...]:
        card = self.compiled.cards.get(entry.key, ())
        own = (entry.list_name, entry.id)
        return listed_on(entry.list_name, entry.id, [c for c in card if c != own])

    def match(self, m: Match) -> dict[str, object]:
        """The ``explain`` object of one match in ``watcher match --json --explain``."""
        return {
            "rule": m.rule,  # in words: the match's "why"
            "name": m.alias,
            "name_rule": self.name_rule(m),
            "listed_on": list(listed_on(m.list_name, m.entry_id, m.also)),
        }

    def lines(self, m: Match) -> list[str]:
        name_rule = self.name_rule(m)
        return [f"why: matched {m.alias!r}, the entry's {name_rule}", f"rule: {m.rule} ({m.why})"]

    def entries(self, keys: Sequence[str]) -> list[Entry]:
        """The entries named by ``list/id`` (all when none); unknown keys are an error."""
        if not keys:
            return list(self.compiled.entries)
        unknown = [key for key in keys if key not in self.positions]
        if unknown:
            raise WatcherError(
                f"no entry {', '.join(unknown)} on the watchlists given (write LIST/ID, as"
                " `watcher match` prints it; vessels are only there with match_vessels)"
            )
        return [self.compiled.entries[self.positions[key]] for key in keys]

    def entry(self, entry: Entry) -> dict[str, object]:
        """What the matcher looks for, for one entry (one JSON line of ``--explain``)."""
        return {
            "list": entry.list_name,
            "entry": entry.id,
            "name": entry.name,
            "type": str(entry.type),
            "names": [{"name": name, "rule": rule} for name, rule in self._names(entry)],
            "weak_aliases": list(entry.weak_aliases),
            "listed_on": list(self._listings(entry)),
        }

    def entry_lines(self, entry: Entry) -> list[str]:
        lines = [f"{name!r}: {rule}" for name, rule in self._names(entry)]
        if entry.weak_aliases:
            weak = ", ".join(repr(w) for w in entry.weak_aliases)
            lines.append(f"weak aliases (never a match on their own): {weak}")
        lines.append("listed on: " + ", ".join(self._listings(entry)))
        return lines

    @staticmethod
    def _names(entry: Entry) -> list[tuple[str, str]]:
        return [(name, name_label(rule)) for name, rule in indexed_names(entry)]
