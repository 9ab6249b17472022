"""One real-world entity, one card: the same entity listed on several watchlists.

Putin is on a hand-made list and on OFAC's; Al-Shabaab on OFAC's and the UN's. A match
reports the entity once, keeping the listing that matched best (its ``list`` and ``entry``)
and naming the others in ``also``. Listings are grouped into a card, never by one name alone:

- they share an identifier (``passport:...``, ``imo:...``) and are of the same type;
- or they share a birth date and a name (primary name, alias or derived form), same type;
- or, for organisations (which have no birth date), they share two names or more
  (``AL-SHABAAB`` and ``THE YOUTH``): one shared name is a namesake, two are the same group;
  the pairs sharing most names are grouped first.

Only listings on different lists are grouped (a list names an entity once), and a card never
holds two listings of one list: the first grouping found wins and a later one that would
join two entries of one list is not made. Grouping is computed once, when the watchlists are
compiled, and is carried (and pickled) in the compiled index.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence

from watcher.config.watchlist import Entry, EntryType
from watcher.matching.types import Match

Listing = tuple[str, str]  # (list name, entry id)
_WORDS = re.compile(r"\w+")
_MIN_SHARED_NAMES = 2  # organisations without a birth date or identifier


def build_cards(entries: Sequence[Entry]) -> dict[str, tuple[Listing, ...]]:
    """``list/id`` -> every listing on its card (itself included, in list order), for the
    entries that share a card with another; empty when only one list is loaded."""
    if len({e.list_name for e in entries}) < 2:
        return {}
    cards = _Cards(entries)
    for group in _by_identifier(entries):
        cards.join(group)
    for group in _by_birth_date(entries):
        cards.join(group)
    for first, second in _by_two_names(entries):
        cards.join([first, second])
    return cards.result()


class _Cards:
    """Union-find over entry positions, refusing to put two entries of one list together."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = entries
        self.parent = list(range(len(entries)))
        self.lists: dict[int, set[str]] = {}

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def _lists(self, root: int) -> set[str]:
        return self.lists.get(root) or {self.entries[root].list_name}

    def join(self, group: Iterable[int]) -> None:
        members = list(group)
        for other in members[1:]:
            a, b = self.root(members[0]), self.root(other)
            if a == b or self._lists(a) & self._lists(b):
                continue
            self.parent[b] = a
            self.lists[a] = self._lists(a) | self._lists(b)
            self.lists.pop(b, None)

    def result(self) -> dict[str, tuple[Listing, ...]]:
        members: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.entries)):
            members[self.root(i)].append(i)
        cards: dict[str, tuple[Listing, ...]] = {}
        for group in members.values():
            if len(group) > 1:
                listings = tuple((self.entries[i].list_name, self.entries[i].id) for i in group)
                for i in group:
                    cards[self.entries[i].key] = listings
        return cards


def _groups(keyed: Iterable[tuple[object, int]], entries: Sequence[Entry]) -> list[list[int]]:
    """Positions sharing a key, for the keys shared across two lists or more."""
    buckets: dict[object, dict[int, None]] = defaultdict(dict)
    for key, position in keyed:
        buckets[key][position] = None
    return [
        list(group)
        for group in buckets.values()
        if len(group) > 1 and len({entries[i].list_name for i in group}) > 1
    ]


def _by_identifier(entries: Sequence[Entry]) -> list[list[int]]:
    keyed: Iterable[tuple[object, int]] = (
        ((e.type, ident), i) for i, e in enumerate(entries) for ident in e.identifiers
    )
    return _groups(keyed, entries)


def _by_birth_date(entries: Sequence[Entry]) -> list[list[int]]:
    dated: Iterable[tuple[object, int]] = (
        ((e.type, date), i) for i, e in enumerate(entries) for date in e.birth_dates
    )
    # names are only compared for listings that share a birth date with another list
    candidates = sorted({i for group in _groups(dated, entries) for i in group})
    named: Iterable[tuple[object, int]] = (
        ((entries[i].type, date, key), i)
        for i in candidates
        for date in entries[i].birth_dates
        for key in _name_keys(entries[i])
    )
    return _groups(named, entries)


def _by_two_names(entries: Sequence[Entry]) -> list[tuple[int, int]]:
    organisations = [
        i for i, e in enumerate(entries) if e.type is EntryType.ORGANIZATION and not e.birth_dates
    ]
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for group in _groups(
        ((key, i) for i in organisations for key in _name_keys(entries[i])), entries
    ):
        for a in group:
            for b in group:
                if a < b and entries[a].list_name != entries[b].list_name:
                    shared[(a, b)] += 1
    # the closest pairs first: OFAC's AL QA'IDA shares nine names with the UN's AL-QAIDA and
    # four with EGYPTIAN ISLAMIC JIHAD (which OFAC lists as its aliases): the UN's al-Qaida
    # must claim the card before a list's one place on it is taken
    strongest = sorted(shared.items(), key=lambda item: (-item[1], item[0]))
    return [pair for pair, count in strongest if count >= _MIN_SHARED_NAMES]


def _name_keys(entry: Entry) -> set[str]:
    names = (*entry.names, *entry.weak_aliases, *(d.name for d in entry.derived))
    return {key for key in map(name_key, names) if key}


def name_key(name: str) -> str:
    """Case, diacritics and punctuation aside: ``AL-SHABAAB`` = ``Al Shabaab``."""
    folded = name.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORDS.findall(folded))


def one_per_card(matches: Sequence[Match], cards: dict[str, tuple[Listing, ...]]) -> list[Match]:
    """The first (best) match of each card, naming the card's other listings in ``also``;
    `matches` come best first, and keep their order."""
    if not cards:
        return list(matches)
    kept: list[Match] = []
    seen: set[Listing] = set()
    for m in matches:
        listings = cards.get(f"{m.list_name}/{m.entry_id}")
        if listings is None:
            kept.append(m)
            continue
        if listings[0] in seen:
            continue
        seen.add(listings[0])
        own = (m.list_name, m.entry_id)
        kept.append(dataclasses.replace(m, also=tuple(x for x in listings if x != own)))
    return kept


def listed_on(list_name: str, entry_id: str, also: Iterable[Listing]) -> tuple[str, ...]:
    """Every listing of the entity, the matched one first: ``ofac ofac-35096``."""
    return tuple(f"{name} {entry}" for name, entry in ((list_name, entry_id), *also))
