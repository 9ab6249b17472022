"""Forms news derives from a listed person's name, written into the watchlist as ``derived``.

The rules (the ``rule`` of each `DerivedName`):

- ``given-family``: the first given name and the family name, without patronymics and middle
  names: ``Ali Khamenei`` for ``Ali Husseini KHAMENEI``, ``Vladimir Putin``.
- ``family-first``: family name first, for Korean, Chinese and Vietnamese names listed given
  name first: ``Kim Jong Un`` for OFAC ``KIM, Jong Un`` (see `watcher.importers.names`).
- ``first-surname``: the first of two Spanish/Portuguese family names: ``Nicolas Maduro`` for
  ``Nicolas MADURO MOROS`` (a person of a Spanish- or Portuguese-speaking country), after the
  first given name and after all of them (``Tarek William Saab`` for ``Tarek William SAAB
  HALABI``).
- ``arabic-last``: an Arabic family name without its article: ``Bashar Assad`` for ``Bashar
  AL-ASSAD`` (the matcher reads romanisations: ``Asad``/``Assad``, ``al-``/``el-``).
- ``weak-alias``: a person's weak alias (never a match on its own) that is the leading words
  of one of the same entry's strong names: OFAC's weak ``ABU BAKR AL-BAGHDADI`` of ``Abu Bakr
  al-Baghdadi al-Husayni Al-Quraishi``. It shortens a listed name as a derived form does,
  so it counts as one, when it keeps a distinctive word (`_distinctive_word`: no common
  name, particle, honorific or word of a news language; not ``ABU HAFS``, ``EL MAYO``) and
  does not read, written as one word, as a one-word name on the list (``Hizb Ullah``:
  Hizbullah, HIZBALLAH).

None is derived when it would mislead:

- it leaves words out and what remains is made only of common names (``Abdul Rahman``,
  ``Mohammad Ismail``, ``Pedro Sanchez`` for ``Pedro SANCHEZ MEDRANO``: not the Spanish prime
  minister): a word that is the given or middle name of `COMMON_GIVEN_COUNT` listed people or
  more, the family name of `COMMON_FAMILY_COUNT` or more, or one of `COMMON_GIVEN` (for short
  lists, where counting tells little); but a given name and a family name of a person whose
  country the list gives are written all the same with ``needs: cue-and-country``
  (`DerivedName.needs`): ``Rosario Murillo`` for ``Rosario MURILLO DE ORTEGA`` of Nicaragua
  counts only right after a title (``Vice President Rosario Murillo``) in an item naming
  Nicaragua, and ``Pedro Sanchez`` of Mexico not in an article about Spain;
- it is another entry's listed name (primary name or alias);
- another entry derives it too: only the entry whose derivation left out fewer words keeps it
  (``Nicolas Maduro`` stays with ``Nicolas MADURO MOROS``, not ``Nicolas Ernesto MADURO
  GUERRA``); when they tie, neither does.

Derivation is pure and takes the whole list at once, because two of these checks are about the
other entries.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from watcher.config.watchlist import (
    NEEDS_CUE_AND_COUNTRY,
    DerivedName,
    Entry,
    EntryType,
    NameOrder,
    NameParts,
)
from watcher.importers.names import HONORIFICS, is_iberian
from watcher.matching import lexicon
from watcher.matching.cards import name_key
from watcher.matching.normalize import word

GIVEN_FAMILY = "given-family"
FAMILY_FIRST = "family-first"
FIRST_SURNAME = "first-surname"
ARABIC_LAST = "arabic-last"
WEAK_ALIAS = "weak-alias"
RULES = (GIVEN_FAMILY, FAMILY_FIRST, FIRST_SURNAME, ARABIC_LAST, WEAK_ALIAS)

COMMON_GIVEN_COUNT = 3
COMMON_FAMILY_COUNT = 10
# Given names so common across the lists' cultures that a name made only of them says nothing.
_COMMON_GIVEN = """
    abd abdel abdul abdal abdallah abdullah abdulla abu ahmad ahmed ahmet akhmed ali aziz
    bakr farouk faruq hassan hasan hussain hussein husain husayn ibrahim ismail ismael isma'il
    jamal karim khalid khaled mahmoud mahmud mohammad mohammed mohamed muhammad muhammed
    mohamad mohd mustafa mostafa nasser omar umar osman othman qasim rahman rahim rauf rashid
    saeed said salah saleh salih sayed sayyid sharif sultan yusuf yousef youssef haji hajji
    mullah maulavi sheikh shaykh
"""
COMMON_GIVEN = frozenset(_COMMON_GIVEN.split())
_ARTICLE = re.compile(r"^(?:al|el|ad|ar|as|ash|at|az)[-' ’]+(?=\w{3})", re.IGNORECASE)
_SYLLABLE = 6  # letters of a Korean or Chinese syllable, at most (``Jong``, ``Zhuang``)
_GLUE_WORDS = "al el bin ibn bint abu ben ould de del la da dos van von"
_GLUE = frozenset(_GLUE_WORDS.split())


class _Candidate(NamedTuple):
    entry: int  # position in the entries
    name: str
    rule: str
    dropped: int  # words of the full name left out: fewer is the better claim
    needs: str = ""  # `DerivedName.needs`


def with_derived(
    entries: Sequence[Entry], birth_places: Mapping[str, Sequence[str]] | None = None
) -> tuple[Entry, ...]:
    """`entries` with the derived forms of every person's name (see the module docstring).
    `birth_places`: entry id -> countries of birth (they tell a name's culture, not where the
    person belongs, so they are not in `Entry.countries`)."""
    places = birth_places or {}
    common, common_given = _common_words(entries)
    one_word = _one_word_keys(entries)
    listed: dict[str, set[int]] = defaultdict(set)
    for position, entry in enumerate(entries):
        for name in (*entry.names, *entry.weak_aliases):
            if " " in name or "-" in name:  # a derived form has two words or more
                listed[name_key(name)].add(position)
    by_key: dict[str, list[_Candidate]] = defaultdict(list)
    for position, entry in enumerate(entries):
        parts = entry.name_parts
        if entry.type is not EntryType.PERSON or parts is None:
            continue
        countries = (*entry.countries, *places.get(entry.id, ()))
        weak = _shortening_weak(entry, common, one_word)
        for name, rule, dropped in (*forms(parts, countries), *weak):
            key = name_key(name)
            others = listed.get(key, set()) - {position}
            if position in listed.get(key, ()) and rule != WEAK_ALIAS:
                continue
            needs = ""
            if rule != FAMILY_FIRST and _only_common(key, common):  # family-first drops no word
                if not _with_cue_and_country(entry, key, rule, common_given):
                    continue
                needs = NEEDS_CUE_AND_COUNTRY
            if others:  # another entry's listed name (or weak alias)
                continue
            by_key[key].append(_Candidate(position, name, rule, dropped, needs))
    derived: dict[int, list[DerivedName]] = defaultdict(list)
    for candidates in by_key.values():
        for winner in _claim(candidates):
            derived[winner.entry].append(DerivedName(winner.name, winner.rule, winner.needs))
    return tuple(
        dataclasses.replace(entry, derived=tuple(derived[i])) if i in derived else entry
        for i, entry in enumerate(entries)
    )


def forms(parts: NameParts, countries: Sequence[str]) -> list[tuple[str, str, int]]:
    """(name, rule, words left out) of every form derivable from `parts`."""
    family = " ".join(parts.family)
    if not family or not parts.given:
        return []
    if parts.order is NameOrder.FAMILY_FIRST:
        given_names = " ".join(parts.given)
        written = [given_names]
        syllables = given_names.split()
        if len(syllables) == 2 and all(len(s) <= _SYLLABLE for s in syllables):
            written.append(f"{syllables[0]}-{syllables[1].lower()}")  # Kim Jong-un, as in news
        return [(f"{family} {given}", FAMILY_FIRST, 0) for given in written]
    given = parts.given[0]
    middle = len(" ".join((*parts.given[1:], *parts.middle)).split())
    found: list[tuple[str, str, int]] = []
    if middle:
        found.append((f"{given} {family}", GIVEN_FAMILY, middle))
    if len(parts.family) >= 2 and is_iberian(countries):
        rest = len(" ".join(parts.family[1:]).split())
        found.append((f"{given} {parts.family[0]}", FIRST_SURNAME, middle + rest))
        if middle:  # every given name, as Spanish news writes many: Tarek William Saab
            names = " ".join((*parts.given, *parts.middle))
            found.append((f"{names} {parts.family[0]}", FIRST_SURNAME, rest))
    last = parts.family[-1]
    bare = _ARTICLE.sub("", last)
    if bare != last and len(parts.family) == 1:
        found.append((f"{given} {bare}", ARABIC_LAST, middle + 1))
    return found


def _one_word_keys(entries: Iterable[Entry]) -> frozenset[str]:
    """The matcher's keys (romanisations alike) of the one-word names on the list."""
    return frozenset(
        word(name).key for e in entries for name in e.names if name.isalpha() and " " not in name
    )


def _shortening_weak(
    entry: Entry, common: frozenset[str], one_word: frozenset[str]
) -> list[tuple[str, str, int]]:
    """(weak alias, `WEAK_ALIAS`, words left out) of each weak alias of two words or more
    that is the leading words of one of the entry's strong names and keeps a distinctive
    word (see the module docstring)."""
    found: list[tuple[str, str, int]] = []
    strong = [name_key(n.replace(",", " ")).split() for n in entry.names]
    for weak in entry.weak_aliases:
        words = name_key(weak).split()
        if len(words) < 2 or word("".join(words)).key in one_word:
            continue  # Hizb Ullah: Hizbullah, read as another entry's one-word name HIZBALLAH
        if words in strong:
            continue  # already a strong name
        longer = [len(s) - len(words) for s in strong if s[: len(words)] == words]
        if longer and any(_distinctive_word(w, common) for w in _named_words(words)):
            found.append((weak, WEAK_ALIAS, min(longer)))
    return found


_KUNYA = frozenset(("abu", "abou", "umm", "bin", "ibn", "bint"))


def _named_words(words: list[str]) -> list[str]:
    """The words that may tell the person apart: not the given name after ``Abu``/``bin``
    (a kunya or a father's name, which many share: ``ABU HAFS``, ``ABU SUFIAN``)."""
    kept: list[str] = []
    after_kunya = False
    for w in words:
        if w in _KUNYA:
            after_kunya = True
        elif w not in _GLUE:
            if not after_kunya:
                kept.append(w)
            after_kunya = False
    return kept


# Honorifics, and the religious titles that are part of names as lists write them but tell
# nobody apart on their own (``Mufti Hazrat``).
_RELIGIOUS_TITLES = "mufti qari hazrat maulana mawlawi mawlana"
_TITLE_WORDS = HONORIFICS | frozenset(_RELIGIOUS_TITLES.split())
_MIN_DISTINCTIVE = 4  # letters: ``TA FA`` of ``Ta Fa Cha`` tells nobody apart


def _distinctive_word(w: str, common: frozenset[str]) -> bool:
    """A word that tells one person apart: no common given or family name, particle or
    honorific, at least `_MIN_DISTINCTIVE` letters, and no everyday word of a news language
    (``Islam``, Spanish ``mayo``)."""
    if len(w) < _MIN_DISTINCTIVE or w in common or w in _GLUE or w in _TITLE_WORDS:
        return False
    return w not in lexicon.everyday_words()


def _claim(candidates: list[_Candidate]) -> list[_Candidate]:
    """The forms (``Kim Jong Un``, ``Kim Jong-un``) of the one entry a derived name may stand
    for: the only one deriving it, or the one that left out fewer words; none on a tie."""
    best = min(c.dropped for c in candidates)
    winners = [c for c in candidates if c.dropped == best]
    if len({c.entry for c in winners}) > 1:
        return []
    spellings = {c.name: c for c in sorted(winners, key=lambda c: c.rule, reverse=True)}
    return sorted(spellings.values(), key=lambda c: c.name)


def _common_words(entries: Iterable[Entry]) -> tuple[frozenset[str], frozenset[str]]:
    """(common names, common given names): given names of `COMMON_GIVEN_COUNT` listed people
    or more (``Pedro``, ``Mohammad``), family names of `COMMON_FAMILY_COUNT` or more
    (``Sanchez``, ``Gonzalez``; not ``Maduro``, three times), and the built-in
    `COMMON_GIVEN`."""
    given: Counter[str] = Counter()
    family: Counter[str] = Counter()
    for entry in entries:
        parts = entry.name_parts
        if parts is not None and parts.order is NameOrder.GIVEN_FIRST:
            given.update(_words((*parts.given, *parts.middle)))
            family.update(_words(parts.family))
    common_given = {w for w, n in given.items() if n >= COMMON_GIVEN_COUNT} | COMMON_GIVEN
    common = common_given | {w for w, n in family.items() if n >= COMMON_FAMILY_COUNT}
    return frozenset(common), frozenset(common_given)


# Programs against crime and terror rather than a government: their people are seldom named
# with a title, and their common names (Luis Rodriguez, Mexico) are everyone's in that
# country's news, titled or not (el diputado Luis Rodríguez).
_NOT_OFFICIALS = (
    "SDNT",
    "SDNTK",
    "ILLICIT-DRUGS",
    "TCO",
    "SDGT",
    "FTO",
    "UN Al-Qaida",
    "UN Taliban",
)


def _with_cue_and_country(entry: Entry, key: str, rule: str, common_given: frozenset[str]) -> bool:
    """Whether a form made only of common names may still be written, to count only after a
    title in an item naming the entry's country (``Vice President Rosario Murillo``,
    Nicaragua): a given name and a family name (not ``Mohammad Ismail``, two given names) of
    a person whose country the list gives, listed under a program about a government (not a
    drug cartel's or a terrorist group's)."""
    words = [w for w in key.split() if w not in _GLUE]
    family_name = bool(words) and words[-1] not in common_given
    official = not any(p.startswith(_NOT_OFFICIALS) for p in entry.programs)
    return (
        rule != WEAK_ALIAS
        and bool(entry.countries)
        and len(words) >= 2
        and family_name
        and official
    )


def _words(names: Iterable[str]) -> set[str]:
    return {w for name in names for w in name_key(name).split()}


def _only_common(key: str, common: frozenset[str]) -> bool:
    words = [w for w in key.split() if w not in _GLUE]
    return all(w in common for w in words)
