"""Compiling watchlists into an index the matcher looks words up in.

Every strong name of every entry becomes one or more *patterns*: a sequence of *slots*, one
per word, each with a rule for which text words it accepts (case-exact, key-exact, or key +
inflection + typos). Person names also get list-order (``PUTIN, Vladimir``), initials
(``V. Putin``, ``V.V. Putin``) and first-and-last-only variants; company names their closed
compound (``Gazpromneft``) and their form without legal words (``Rosneft`` for ``PJSC
Rosneft``).

Each pattern is filed under one *anchor* slot, its rarest word. Reading an article costs one
dictionary look-up per word (plus a few for the deletion neighbourhood of unknown long
words): never one comparison per name.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz.distance import OSA

from watcher.config.ignore import IgnoreRule
from watcher.config.watchlist import Entry, EntryType, Watchlist
from watcher.config.yamlfile import gc_paused
from watcher.matching import countries, exonyms, lexicon, people
from watcher.matching.cards import Listing, build_cards
from watcher.matching.normalize import TOKEN_RE, Word, mask_markup, name_word

# Compiling reads the names' words through a memo of their own, emptied after each compile.
word = name_word

INDEX_FORMAT = 17  # 2: derived forms and cards; 3: the rule of each pattern, prominence, countries
# 4: prominence as evidence text (titles, listed families), surname spellings; 5: words that
# corroborate acronyms; 6: Flag.FAMILY; 7: news spellings in other languages (exonyms.yaml,
# its hash in the signature), capitalised-only names; 8: Flag.CUE_AND_COUNTRY; 9: prominence
# of the heads of listed networks; 10: entries linked to a name needing corroboration; 11: a
# prominent person's aliases of common given names, with corroboration; 12: derived forms and
# surnames counted per card (one person on several lists); 13: legal forms of several words;
# 14: sons named after their listed fathers; 15: a generic name naming its country stands alone;
# 16: a company named after one of its countries has that country only; 17: the matcher's
# memos per index (token reads with anchor scores, person readings, sorted long keys)


class Mode:
    """How a slot accepts a text word."""

    STRICT = 0  # exactly as written, case included: common words, short names
    KEY = 1  # same key (any case, any romanisation), no inflection, no typos
    FULL = 2  # same key, or an inflected form, or (long words) a typo
    INITIAL = 3  # a capital single letter; the slot key is the letter ("" for any)
    PATRONYMIC = 4  # any capitalised patronymic (Valentinovich): one the list left out
    PERSON_WORD = 5  # a person's one-word name that is an English word (Trump): as written,
    # or inflected in Polish, or in Cyrillic (see matcher._accept_person_word)
    TITLE = 6  # a word of a name in the list's capitals (QUDS FORCE): as written, or with
    # its first letter capitalised in the text (Quds Force); a function word in lower case


class Gap:
    """Which characters may stand between two words of one mention."""

    PLAIN = 0  # spaces, a line break, a hyphen
    COMMA = 1  # also a comma: list order, ``PUTIN, Vladimir``
    DOT = 2  # also a dot: initials, ``V.V. Putin``
    PERSON = 3  # a person's name: in order, in list order, with initials (see matcher);
    # its slots are the given names, the surname, two INITIAL slots and a PATRONYMIC slot


class Slot(NamedTuple):
    key: str
    stem: str  # the key without a feminine/noun ending ("" if none): Nabiullina
    surface: str
    norm: str
    mode: int
    max_edits: int
    script: str


class Pattern(NamedTuple):
    entry: int  # position in CompiledWatchlists.entries
    alias: str  # the entry's name as written in the list
    slots: tuple[Slot, ...]
    anchor: int  # which slot the pattern is filed under
    penalty: int  # score lost for a looser variant (initials, list order)
    gap: int
    flags: int = 0  # Flag bits: extra checks the matcher makes
    punct: str = ""  # punctuation the name itself has between words: "S.A.", "Al-'Ali", "&"
    rule: str = "name"  # how this name was got from the entry (`Match.rule`)


class _Draft(NamedTuple):
    entry: int
    alias: str
    slots: tuple[Slot, ...]
    penalty: int
    gap: int
    flags: int
    punct: str
    rule: str


class Flag:
    """Extra checks for a pattern, from what its entry is."""

    SURNAME = 1  # a person's bare surname: not when another given name stands before it
    VESSEL_WORD = 2  # a vessel/aircraft name that is also a word: only beside "tanker" etc.
    ORGANIZATION = 4  # a company's name: a real word merely sounding alike is another name
    BARE = 8  # a person's surname the list does not name: needs prominence or a cue
    EXACT_ONLY = 16  # a person's one-word alias (``Hassan``): only exactly as written
    FOREIGN_WORD = 32  # a bare surname that is a word of a news language: not at a sentence start
    CORROBORATE = 64  # an acronym or generic name: only with the entry's country or other name
    WEAK = 128  # a weak alias (an acronym): only with another of the entry's names
    COUNTRY = 256  # a name without its "of <country>": only with the country named
    CORE = 512  # a company's one distinctive word (``Sberbank``): not a Cyrillic everyday word
    COMPOUND = 1024  # ... made with a business word (Sber-bank, Rostele-com): a name all the same
    FAMILY = 2048  # ... of someone known by their listed children: a cue, or the country named
    CAPITALISED = 4096  # a translated name of everyday words (Estado Islámico): first word capital
    CUE_AND_COUNTRY = 8192  # a derived form of common names only (``needs: cue-and-country``):
    # right after a title or rank, in an item naming the entry's country


# Legal-form words: a company is named with or without them.
_LEGAL = """llc ltd limited inc incorporated jsc pjsc ojsc cjsc oao ooo zao pao ao tov pat gmbh ag
sa s a co company corp corporation plc llp lp fze fzco fzc bv nv sarl srl spa"""
LEGAL_WORDS = frozenset(_LEGAL.split())
_MIN_FUZZY_SINGLE = 6  # a one-word name must be this long to be typo tolerant
_MIN_FUZZY = 5
SPLIT_MIN = 8  # letters a one-word name needs to be found written as two words


def max_edits(key: str) -> int:
    """Typos a word of this length may carry: none for short words, two for long ones."""
    if len(key) < _MIN_FUZZY:
        return 0
    return 1 if len(key) < 10 else 2


@dataclass(frozen=True)
class CompiledIgnore:
    rule: IgnoreRule
    phrase: re.Pattern[str] | None


class CompiledWatchlists:
    """The matcher's index of every name on the given watchlists. Picklable."""

    def __init__(
        self,
        *,
        entries: tuple[Entry, ...],
        thresholds: tuple[int, ...],
        patterns: tuple[Pattern, ...],
        anchors: dict[str, list[int]],
        strict_anchors: dict[str, list[int]],
        name_keys: dict[int, frozenset[str]],
        prominent: dict[int, str],
        country_stems: dict[int, tuple[str, ...]],
        fuzzy_keys: dict[str, list[str]],
        excludes: dict[int, re.Pattern[str]],
        ignores: tuple[CompiledIgnore, ...],
        signature: str,
        cards: dict[str, tuple[Listing, ...]] | None = None,
        vouching_words: dict[int, frozenset[str]] | None = None,
        given_names: frozenset[str] = frozenset(),
        armed_groups: frozenset[int] = frozenset(),
        linked: dict[int, frozenset[int]] | None = None,
        namesake_sons: dict[str, str] | None = None,
    ) -> None:
        self.entries = entries
        self.thresholds = thresholds
        self.patterns = patterns
        self.anchors = anchors
        self.strict_anchors = strict_anchors
        self.name_keys = name_keys  # person entry -> keys of all its name words
        # person entry -> what makes it prominent: "title: President ...", "listed with 3 relatives"
        self.prominent = prominent
        self.country_stems = country_stems  # entry -> what its countries' names start with
        self.fuzzy_keys = fuzzy_keys
        self.excludes = excludes
        self.ignores = ignores
        self.signature = signature
        # "list/id" -> every listing of the entity's card (`watcher.matching.cards`)
        self.cards = cards or {}
        # entry with an acronym or generic name -> keys of the distinctive words of its other
        # names, any of which in the item corroborates it (ETA beside Batasuna)
        self.vouching_words = vouching_words or {}
        # keys of the words the lists give as given names more often than as family names
        self.given_names = given_names
        # groups listed for terrorism, no country given: their acronyms count beside talk
        # of terrorism (ETA)
        self.armed_groups = armed_groups
        # entry with an acronym or generic name -> the entries the list links to it (OFAC's
        # "Linked To" remarks, either way): one of them found corroborates it
        self.linked = linked or {}
        # "list/id" of a son named after his listed father -> the father's (`people`)
        self.namesake_sons = namesake_sons or {}
        # built on first use, per first letter (or all at once by `prepare`): compiling
        # stays fast, and a one-off `watcher match` builds only the letters it meets
        self.deletion_indexes: dict[str, dict[str, list[str]]] = {}
        # memo: token as written -> its Word, (pattern, anchor score) of the patterns it may
        # anchor, and whether a name written as two words may start there: one look-up a
        # token (the matcher's `_read_token`; emptied when pickled)
        self.token_cache: dict[str, tuple[Word, tuple[tuple[int, int], ...], bool]] = {}
        # the anchor keys a name written as two words may be, sorted (`starts_long_key`)
        self.long_keys: list[str] | None = None
        # memo: person pattern -> what reading it needs (the matcher's `_Person`)
        self.person_plans: dict[int, Any] = {}

    def deletions_for(self, letter: str) -> dict[str, list[str]]:
        """The deletion index of the typo-tolerant anchor keys starting with `letter`."""
        index = self.deletion_indexes.get(letter)
        if index is None:
            index = deletion_index(self.fuzzy_keys.get(letter, ()))
            self.deletion_indexes[letter] = index
        return index

    def starts_long_key(self, key: str) -> bool:
        """Whether an anchor key of `SPLIT_MIN` letters or more starts with `key`: only there
        may a one-word name written as two start (``Gazprom Bank``)."""
        keys = self.long_keys if self.long_keys is not None else self.build_long_keys()
        at = bisect_left(keys, key)
        return at < len(keys) and keys[at].startswith(key)

    def build_long_keys(self) -> list[str]:
        """Sort the anchor keys `starts_long_key` looks among now, not on first use."""
        self.long_keys = sorted(k for k in self.anchors if len(k) >= SPLIT_MIN)
        return self.long_keys

    def build_deletion_indexes(self) -> None:
        """Build every first letter's deletion index now, not on first use: a daemon does it
        once per snapshot, before any article, so no poll pays for it (~0.1 s, ~10 MB for
        the full OFAC list)."""
        for letter in self.fuzzy_keys:
            self.deletions_for(letter)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["token_cache"] = {}
        state["person_plans"] = {}
        state["long_keys"] = None
        state["deletion_indexes"] = {}  # rebuilt on first use: smaller files, faster loads
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @property
    def entry_count(self) -> int:
        return len(self.entries)

    @property
    def name_count(self) -> int:
        return len({(p.entry, p.alias) for p in self.patterns})


def compile_watchlists(
    watchlists: Sequence[Watchlist], threshold: int = 90, ignore: Sequence[IgnoreRule] = ()
) -> CompiledWatchlists:
    """Index every strong name of every entry (weak aliases and, unless opted in,
    vessels/aircraft are left out)."""
    # Compiling allocates ~10**6 small objects and frees none in cycles: the cyclic garbage
    # collector, run on every allocation threshold, took 1.1 s of 2.7 s on the full OFAC list.
    with gc_paused():
        try:
            return _compile(watchlists, threshold, ignore)
        finally:
            name_word.cache_clear()  # ~30,000 words of a big list: not needed once compiled


def _compile(
    watchlists: Sequence[Watchlist], threshold: int, ignore: Sequence[IgnoreRule]
) -> CompiledWatchlists:
    entries = tuple(e for wl in watchlists for e in wl.entries if _is_matched(e))
    drafts: list[_Draft] = []
    seen: set[tuple[object, ...]] = set()
    for position, entry in enumerate(entries):
        gated = {d.name for d in entry.derived if d.needs} if entry.derived else set()
        for name, name_rule in indexed_names(entry):
            punct = _punctuation(name)
            exonym = name_rule.startswith(exonyms.RULE)
            extra = _exonym_flags(entry, name) if exonym else 0
            if gated and name in gated and name_rule.startswith("derived:"):
                extra = Flag.CUE_AND_COUNTRY  # "needs: cue-and-country"
            variants = name_variants(entry, name)
            for slots, penalty, gap, variant in _as_written(variants) if exonym else variants:
                flags = _flags(entry, slots) | extra
                # another name of the entry may read the same (``LUKOIL``/``Lukoil``)
                shape = (position, gap, *(s.surface if s.mode == 0 else s.norm for s in slots))
                if shape not in seen:
                    seen.add(shape)
                    rule = variant or name_rule
                    # a table's spelling yields to the list's own names where both read the
                    # text alike (Хезболла: HIZBALLAH transliterated, and Spanish Hezbolá)
                    loss = penalty + _EXONYM_PENALTY if exonym else penalty
                    drafts.append(_Draft(position, name, slots, loss, gap, flags, punct, rule))
    drafts.extend(_without_country(entries, drafts))
    drafts.extend(_org_cores(entries, drafts))
    drafts = _corroborated_names(entries, drafts)
    given = people.given_name_keys(entries)
    cards = build_cards(entries)
    drafts, prominent = _people(entries, drafts, given, _card_of(entries, cards))
    patterns = _shared_slots(_anchor_patterns(drafts))
    anchors, strict_anchors, fuzzy_keys = _lookup_tables(patterns)
    name_keys = _name_keys(entries, drafts)

    return CompiledWatchlists(
        entries=entries,
        thresholds=tuple(e.threshold if e.threshold is not None else threshold for e in entries),
        patterns=patterns,
        anchors=anchors,
        strict_anchors=strict_anchors,
        name_keys=name_keys,
        prominent=prominent,
        country_stems=_country_stems(entries),
        fuzzy_keys=fuzzy_keys,
        excludes={i: phrase_regex(e.exclude) for i, e in enumerate(entries) if e.exclude},
        ignores=tuple(
            CompiledIgnore(r, phrase_regex([r.phrase]) if r.phrase else None) for r in ignore
        ),
        signature=_signature(watchlists, threshold, ignore),
        cards=cards,
        vouching_words=_vouching_words(entries, patterns),
        linked=_linked(entries, patterns),
        namesake_sons=people.namesake_sons(entries),
        given_names=given,
        armed_groups=_armed_groups(entries),
    )


# Programs of groups listed for terrorism (OFAC's global terrorism and foreign terrorist
# organisation programs; the UN's ISIL/Al-Qaida and Taliban lists).
_TERROR_PROGRAMS = frozenset({"SDGT", "FTO", "SDT", "UN Al-Qaida", "UN Taliban"})


def _armed_groups(entries: tuple[Entry, ...]) -> frozenset[int]:
    """Groups listed for terrorism whose country the list does not give (``EUZKADI TA
    ASKATASUNA``): nothing else but their other names could corroborate their acronyms."""
    return frozenset(
        i
        for i, e in enumerate(entries)
        if not _TERROR_PROGRAMS.isdisjoint(e.programs) and not (e.countries or _named_country(e))
    )


def _country_stems(entries: tuple[Entry, ...]) -> dict[int, tuple[str, ...]]:
    """Entry -> what its countries' names start with (`countries.stems`), once per set of
    countries: thousands of entries share ``Russia``."""
    memo: dict[tuple[str, ...], tuple[str, ...]] = {}
    found: dict[int, tuple[str, ...]] = {}
    for position, entry in enumerate(entries):
        names = _own_country(entry) or (*entry.countries, *_named_country(entry))
        if names:
            stems = memo.get(names)
            if stems is None:
                stems = memo[names] = countries.stems(names)
            found[position] = stems
    return found


def _own_country(entry: Entry) -> tuple[str, ...]:
    """The one of an organisation's countries its primary name starts with (``IRAN
    PETROCHEMICAL COMMERCIAL COMPANY``): the company's own, where its other countries are
    only addresses (its acronym ``PCC`` beside ``chinês`` is the Chinese party)."""
    if entry.type == EntryType.PERSON:
        return ()
    first = word(TOKEN_RE.findall(entry.name)[0]).key if TOKEN_RE.search(entry.name) else ""
    own = tuple(c for c in entry.countries if first and first.startswith(countries.stems([c])))
    return own if len(own) == 1 and len(entry.countries) > 1 else ()


def _vouching_words(
    entries: tuple[Entry, ...], patterns: tuple[Pattern, ...]
) -> dict[int, frozenset[str]]:
    """Entry -> the keys of the distinctive words of its names (`_distinctive`: no word or
    frequent name of a news language, no country), for entries with a name that needs
    corroboration: an acronym or a generic name counts beside one of them (ETA, listed as
    EUZKADI TA ASKATASUNA and BATASUNA, beside ``Batasuna``; IRGC beside ``Pasdaran``)."""
    needing = {p.entry for p in patterns if p.flags & Flag.CORROBORATE}
    distinctive: dict[str, bool] = {}  # per token: the same words recur across entries

    def telling(token: str) -> bool:
        known = distinctive.get(token)
        if known is None:
            known = distinctive[token] = _distinctive(word(token))
        return known

    found: dict[int, frozenset[str]] = {}
    for position in needing:
        entry = entries[position]
        keys = {
            word(token).key
            for name in entry.names
            if not _is_acronym(name, entry)
            for token in TOKEN_RE.findall(name)
            if telling(token)
        }
        if keys:
            found[position] = frozenset(keys)
    return found


def indexed_names(entry: Entry) -> Iterator[tuple[str, str]]:
    """(name, rule) of every strong name the matcher looks for, the rule as `Match.rule`
    gives it: the primary name (``name``), the listed aliases (``alias``), the derived forms
    the list keeps (``Kim Jong Un``, ``derived:family-first``), then the news spellings in
    other languages of the reference table (``Hezbolá``, ``exonym:es``; `exonyms`), each
    that no earlier name already is. The one place both the compiler and ``watcher match
    --explain`` read."""
    listed = dict.fromkeys(entry.names)
    for name in listed:
        yield name, "name" if name == entry.name else "alias"
    for derived in entry.derived:
        if derived.name not in listed:
            listed[derived.name] = None
            yield derived.name, f"derived:{derived.rule}"
    for form in exonyms.forms_for(entry):
        if form.name not in listed:
            listed[form.name] = None
            yield form.name, form.rule


_EXONYM_PENALTY = 1


def _exonym_flags(entry: Entry, name: str) -> int:
    """A translated name of `entry` counts only with a capital in its first word (``Estado
    Islámico``, ``l'État islamique``); a generic one (``Guardia Revolucionaria``) also only
    beside the entry's country or another of its names."""
    flags = 0
    for form in exonyms.forms_for(entry):
        if form.name == name:
            flags |= Flag.CAPITALISED if form.capitalised else 0
            flags |= Flag.CORROBORATE if form.generic else 0
    return flags


def _as_written(variants: list[Variant]) -> list[Variant]:
    """A news spelling is the table's own form, not a company's closed compound or short form
    of it (``GuardiaRevolucionaria``). One word in lower case (``talibanes``, ``талибов``,
    ``hutíes``), a word of its language naming the group, which news writes every day, counts
    exactly as written, or capitalised at a sentence start: never inflected or misspelled, and
    in lower case although a frequent word (the table lists the case forms that count)."""
    variants = [v for v in variants if not v[3]]
    if len(variants) != 1 or len(variants[0][0]) != 1:
        return variants
    (slot,), penalty, gap, rule = variants[0]
    if not slot.surface[:1].islower():
        return variants
    surfaces = dict.fromkeys((slot.surface, slot.surface[:1].upper() + slot.surface[1:]))
    return [((slot._replace(surface=s, mode=Mode.STRICT),), penalty, gap, rule) for s in surfaces]


_NAME_PUNCTUATION = re.compile(r"[^\w\s]")


def _punctuation(name: str) -> str:
    """The punctuation inside a name (``S.A.`` -> ``.``), which a mention may also have."""
    return "".join(sorted(set(_NAME_PUNCTUATION.findall(name))))


def _flags(entry: Entry, slots: tuple[Slot, ...]) -> int:
    if entry.type == EntryType.PERSON:
        return Flag.SURNAME if len(slots) == 1 else 0
    flags = Flag.ORGANIZATION
    if entry.type in (EntryType.VESSEL, EntryType.OTHER) and all(
        lexicon.is_known_word(s.surface.casefold(), s.norm) or s.norm.isdigit() for s in slots
    ):
        flags |= Flag.VESSEL_WORD
    return flags


_ACRONYM = re.compile(r"[A-Z]{2,6}")
_OF_COUNTRY = re.compile(r"^(?P<core>.+) of (?:the )?(?P<country>[^,()]+)$", re.IGNORECASE)


def _named_country(entry: Entry) -> tuple[str, ...]:
    """The countries an organisation's names end with (``... of the Russian Federation``)."""
    if entry.type == EntryType.PERSON:
        return ()
    found = (_OF_COUNTRY.match(name) for name in entry.names)
    return tuple({m.group("country") for m in found if m and countries.known(m.group("country"))})


def _without_country(entries: tuple[Entry, ...], drafts: list[_Draft]) -> list[_Draft]:
    """An organisation named ``X of the Russian Federation`` as news names it: ``the Russian
    X``, ``Russia's X``, ``X`` in an article about Russia. The name without its country, of
    two words or more, counts beside the country (see `_corroborated_names`)."""
    extra: list[_Draft] = []
    done: set[tuple[int, str]] = set()
    for d in drafts:
        entry = entries[d.entry]
        if entry.type == EntryType.PERSON or d.rule not in ("name", "alias"):
            continue
        found = _OF_COUNTRY.match(d.alias)
        if found is None or not countries.known(found.group("country")):
            continue
        if (d.entry, d.alias) in done:
            continue
        done.add((d.entry, d.alias))
        words = [word(w) for w in TOKEN_RE.findall(found.group("core"))]
        core = [w for w in words if w.norm not in LEGAL_WORDS]
        if len(core) >= 2:
            slots = tuple(
                s._replace(mode=Mode.KEY) if s.mode == Mode.STRICT else s for s in _slots(core)
            )
            flags = Flag.ORGANIZATION | Flag.CORROBORATE | Flag.COUNTRY
            extra.append(
                _Draft(d.entry, d.alias, slots, 2, Gap.PLAIN, flags, d.punct, "short-form")
            )
    return extra


# Words that say what kind of business a company is, not which one (``HUAWEI TECHNOLOGIES``,
# ``GAZPROMBANK JOINT STOCK COMPANY``, ``AKTSIONERNOE OBSHCHESTVO``); "bank" is not one of them:
# ``BANK ROSSIYA`` is not every ``Rossiya``.
_BUSINESS = """technologies technology tech group holding holdings company companies corporation
state industries industry international trading enterprise enterprises services investment
investments joint stock public open closed limited liability commercial airlines publichnoe
aktsionernoe aktsionernogo obshchestvo obshchestva obschestvo otkrytoe zakrytoe ogranichennoi
otvetstvennostiu otvetstvennostyu tovarystvo"""
BUSINESS_WORDS = frozenset(_BUSINESS.split())
# Business words a company's name is often made with, in key spelling (Sberbank, Gazprombank,
# Rostelecom, Transneft): such a compound is a name even where news writes it every day.
_COMPOUND_ROOTS = ("bank", "neft", "telekom", "flot", "energo", "invest", "prom", "gaz")
_MIN_CORE = 5

_FUNCTION = "of the and for de del la el do da der des du in"
_FUNCTION_WORDS = frozenset(_FUNCTION.split())


def _org_cores(entries: tuple[Entry, ...], drafts: list[_Draft]) -> list[_Draft]:
    """A company by its one distinctive word, as news names it (``Sberbank`` for ``PJSC
    SBERBANK``, ``Gazprombank`` for ``GAZPROMBANK JOINT STOCK COMPANY``, ``Belaruskali`` for
    ``BELARUSKALI OAO``): the legal form and business words left out, one word left that is
    no word or frequent name of any news language, no place, no word of a listed person's name,
    and that no other entry is also named by. Where several entries leave the same word, the
    one with the fewest words left out keeps it, then the one with the most names (the
    parent: ``PJSC SBERBANK``, not ``SBERBANK INVESTMENTS LLC``); on a tie, none does."""
    person_words = {
        s.key for d in drafts if entries[d.entry].type == EntryType.PERSON for s in d.slots
    }
    one_word = {d.slots[0].key: d.entry for d in drafts if len(d.slots) == 1}
    groups = _group_words(entries)
    claims: dict[str, list[tuple[int, int, int, str, Word]]] = {}
    for d in drafts:
        entry = entries[d.entry]
        if len(d.slots) < 2 or d.rule not in ("name", "alias"):
            continue
        if entry.type != EntryType.ORGANIZATION:
            continue
        core = [s for s in d.slots if not _business(s.norm)]
        if len(core) != 1:
            continue
        key = core[0].key
        if key in person_words or one_word.get(key, d.entry) != d.entry:
            continue
        w = word(core[0].surface)
        if not _distinctive(w, frequent=key in groups.get(d.entry, ())):
            continue
        dropped = len(d.slots) - 1
        claims.setdefault(key, []).append((dropped, -len(entry.names), d.entry, d.alias, w))
    extra = []
    for key, found in claims.items():
        best = min(found)
        if any(c[:2] == best[:2] and c[2] != best[2] for c in found):
            continue  # two entries with as good a claim: the word names neither
        position = best[2]
        flags = Flag.ORGANIZATION | Flag.CORE
        if any(root in key and len(key) - len(root) >= 3 for root in _COMPOUND_ROOTS):
            flags |= Flag.COMPOUND
        elif entries[position].countries:
            flags |= Flag.CORROBORATE  # AniCura Abros Hospital is not the Russian ABROS
        # each spelling the entry's names give (ROSOBORONEKSPORT OAO, ROSOBORONEXPORT JSC):
        # in Latin script the word counts only as the list spells it
        spellings = {w.norm: (alias, w) for _, _, at, alias, w in sorted(found) if at == position}
        for alias, w in spellings.values():
            slot = _slot(w, Mode.FULL, 0)
            if not slot.stem and len(key) >= _MIN_SOFT_CORE and _SOFT_Y.search(key):
                # BELARUSKALI is Беларуськалий: Беларуськалия, Беларуськалием share belaruskal-
                slot = slot._replace(stem=key[:-1])
            extra.append(_Draft(position, alias, (slot,), 2, Gap.PLAIN, flags, "", "short-form"))
    return extra


_MIN_SOFT_CORE = 8


def _business(norm: str) -> bool:
    return norm in LEGAL_WORDS or norm in BUSINESS_WORDS or norm in _FUNCTION_WORDS


def _linked(entries: tuple[Entry, ...], patterns: tuple[Pattern, ...]) -> dict[int, frozenset[int]]:
    """Entry with a name needing corroboration -> the entries linked to it by the list's
    remarks, either way (Alexander Bortnikov, "Linked To: FEDERAL SECURITY SERVICE")."""
    needing = {p.entry for p in patterns if p.flags & Flag.CORROBORATE}
    by_name: dict[str, int] = {}
    for position, entry in enumerate(entries):
        for name in entry.names:
            by_name.setdefault(people.linked_key(name), position)
    links: dict[int, set[int]] = {}
    for position, entry in enumerate(entries):
        for target in people.LINKED_TO.findall(entry.notes or ""):
            other = by_name.get(people.linked_key(target))
            if other is None or other == position:
                continue
            for one, two in ((position, other), (other, position)):
                if one in needing:
                    links.setdefault(one, set()).add(two)
    return {entry: frozenset(found) for entry, found in links.items()}


def _group_words(entries: tuple[Entry, ...]) -> dict[int, frozenset[str]]:
    """Entry -> the words a group of companies is named by, where the list says so: another
    entry is "Linked To" it (OFAC's remarks) and shares a word of its name (``HUAWEI
    INVESTMENT & HOLDING``, linked to ``HUAWEI TECHNOLOGIES``): a brand, even one the news
    writes every day."""
    linking = [e for e in entries if "Linked To: " in (e.notes or "")]
    targets = {_plain_name(t) for e in linking for t in people.LINKED_TO.findall(e.notes or "")}
    by_name = {
        plain: i
        for i, e in enumerate(entries)
        for n in e.names
        if (plain := _plain_name(n)) in targets
    }
    groups: dict[int, set[str]] = {}
    for entry in linking:
        for target in people.LINKED_TO.findall(entry.notes or ""):
            parent = by_name.get(_plain_name(target))
            if parent is None or entries[parent] is entry:
                continue
            mine = {word(w).key for n in entry.names for w in TOKEN_RE.findall(n)}
            theirs = {word(w).key for n in entries[parent].names for w in TOKEN_RE.findall(n)}
            groups.setdefault(parent, set()).update(mine & theirs)
    return {parent: frozenset(found) for parent, found in groups.items()}


def _plain_name(name: str) -> str:
    """A name as OFAC's "Linked To" remarks write it: ``HUAWEI TECHNOLOGIES CO., LTD``."""
    return name.upper().rstrip(". ")


def _distinctive(w: Word, *, frequent: bool = False) -> bool:
    """A word that names one company: long, of letters, no word or frequent name of a news
    language (``Wagner`` is frequent; ``Terra``, ``Victoria`` words or names), and no country
    (``Syria``, ``Dubai``). `frequent`: the word names a group of companies on the list
    (`_group_words`), however often the news writes it (``Huawei``)."""
    if len(w.norm) < _MIN_CORE or not w.norm.isalpha() or w.script == "other":
        return False
    if lexicon.is_dictionary_word(w.lower) or lexicon.is_proper_noun(w.lower):
        return False
    if lexicon.is_foreign_word(w.lower) or (
        lexicon.is_everyday_word(w.lower, w.norm) and not frequent
    ):
        return False
    # a country's name or adjective (Syria, Moskvy), not a compound with one (Belaruskali)
    return not any(
        w.key.startswith(stem) and len(w.key) - len(stem) <= 3 for stem in countries.all_stems()
    )


def _corroborated_names(entries: tuple[Entry, ...], drafts: list[_Draft]) -> list[_Draft]:
    """Acronyms and generic names of entries whose countries the list gives, and names of an
    article and one noun of those it gives none: they count only where the article also
    names the country or another of the entry's names.

    * an acronym (``IRGC``) only in capitals; a weak alias's (``ANC``) only beside another of
      the entry's names: a country is no proof for the acronyms everyone uses;
    * a generic name (every word an everyday one: ``Ministerio del Interior``, ``Revolutionary
      Guard``) in any case, the article's capitals standing in for the list's."""
    kept: list[_Draft] = []
    for d in drafts:
        entry = entries[d.entry]
        generic = entry.type != EntryType.PERSON and _generic_name(d)
        if entry.type == EntryType.PERSON or (not entry.countries and not _one_noun(d, generic)):
            kept.append(d)
        elif len(d.slots) == 1 and (_is_acronym(d.alias, entry) or _table_acronym(d)):
            kept.append(d._replace(flags=d.flags | Flag.CORROBORATE, rule="acronym"))
        elif generic and _names_its_country(d, entry):
            kept.append(d)  # Central Bank of Iran, Центробанк Ирана: the country is in it
        elif generic:
            # with no country listed, an article and one noun (the UN's AL-QAIDA alias "The
            # Base", not a co-working space) need another of its names (`_vouching_words`)
            slots = tuple(
                s._replace(mode=Mode.KEY) if s.mode == Mode.STRICT else s for s in d.slots
            )
            kept.append(d._replace(slots=slots, flags=d.flags | Flag.CORROBORATE))
        else:
            kept.append(d)
    for position, entry in enumerate(entries):
        if entry.type == EntryType.PERSON:
            continue
        for weak in entry.weak_aliases:
            if not _ACRONYM.fullmatch(weak):
                continue
            # the initials of another of its names (FSB: Federalnaya Sluzhba Bezopasnosti)
            # count beside the country too, as a listed acronym does; with no country listed
            # (ETA: EUZKADI TA ASKATASUNA), beside a word of its other names (`_vouching_words`)
            flags = Flag.ORGANIZATION | Flag.CORROBORATE
            if not _is_acronym(weak, entry):
                if not entry.countries:
                    continue
                flags |= Flag.WEAK
            slot = _slot(word(weak), Mode.STRICT, 0)
            kept.append(_Draft(position, weak, (slot,), 0, Gap.PLAIN, flags, "", "acronym"))
    kept.extend(_embedded_acronyms(entries))
    kept.extend(_cyrillic_acronyms(kept))
    return kept


_EMBEDDED_MIN_NAMES = 3  # names of the entry an acronym must stand in (VTB: BANK VTB PAO, ...)


def _embedded_acronyms(entries: tuple[Entry, ...]) -> list[_Draft]:
    """An acronym the list writes only inside the entry's names (``VTB`` of ``VTB BANK PUBLIC
    JOINT STOCK COMPANY``, ``BANK VTB PAO``, ...): a short word of letters, in three of its
    names or more, no legal form, business word or word of a news language. It counts as a
    listed acronym does: in capitals, beside the country or another of the entry's names.
    Where subsidiaries carry it too (``VTB CAPITAL``), the entry with it in the most names
    keeps it (the parent); on a tie, none does."""
    listed = {n for e in entries for n in (*e.names, *e.weak_aliases) if _ACRONYM.fullmatch(n)}
    claims: dict[str, list[tuple[int, int]]] = {}
    for position, entry in enumerate(entries):
        if not entry.countries or entry.type == EntryType.PERSON or len(entry.names) < 3:
            continue
        counts = Counter(
            w for name in entry.names for w in set(TOKEN_RE.findall(name)) if _ACRONYM.fullmatch(w)
        )
        for acronym, times in counts.items():
            if acronym in listed:  # a name or weak alias of its own (IRGC): as listed
                continue
            if times >= _EMBEDDED_MIN_NAMES and len(acronym) <= 4 and _plain_acronym(acronym):
                claims.setdefault(acronym, []).append((times, position))
    extra = []
    for acronym, found in claims.items():
        found.sort(reverse=True)
        if len(found) > 1 and found[1][0] == found[0][0]:
            continue
        slot = _slot(word(acronym), Mode.STRICT, 0)
        flags = Flag.ORGANIZATION | Flag.CORROBORATE
        extra.append(_Draft(found[0][1], acronym, (slot,), 0, Gap.PLAIN, flags, "", "acronym"))
    return extra


def _plain_acronym(acronym: str) -> bool:
    """No legal form, business word, function word or word of a news language (OAO, BANK)."""
    w = word(acronym)
    everyday = lexicon.is_everyday_word(w.lower) or lexicon.is_dictionary_word(w.lower)
    return not (_business(w.norm) or everyday)


# A Latin acronym's letters as Russian and Ukrainian write the same initials (FSB: ФСБ).
_TO_CYRILLIC_LETTERS = dict(zip("ABVGDEZIKLMNOPRSTUFHC", "АБВГДЕЗИКЛМНОПРСТУФХЦ", strict=True))


def _cyrillic_acronyms(drafts: list[_Draft]) -> list[_Draft]:
    """Each acronym also as written in Cyrillic (``ФСБ`` for FSB), with the same checks."""
    extra = []
    for d in drafts:
        if d.rule == "acronym" and all(c in _TO_CYRILLIC_LETTERS for c in d.alias):
            cyrillic = "".join(_TO_CYRILLIC_LETTERS[c] for c in d.alias)
            slot = _slot(word(cyrillic), Mode.STRICT, 0)
            extra.append(d._replace(slots=(slot,)))
    return extra


def _names_its_country(draft: _Draft, entry: Entry) -> bool:
    """Whether a word of the name is one of the entry's countries (``Banco Central de Irán``)."""
    stems = countries.stems(entry.countries)
    return bool(stems) and any(s.key.startswith(stems) for s in draft.slots)


def _generic_name(draft: _Draft) -> bool:
    """A name of everyday words only (``Ministerio del Interior``, ``The Base``)."""
    return len(draft.slots) > 1 and all(_generic(s) for s in draft.slots)


def _one_noun(draft: _Draft, generic: bool) -> bool:
    """Whether a generic name has one everyday word besides function words (``The Base``)."""
    return generic and sum(s.norm not in _FUNCTION_WORDS for s in draft.slots) == 1


def _table_acronym(draft: _Draft) -> bool:
    """A news spelling that is an acronym in another language or script (``КСИР`` for the
    IRGC, ``ФАРК``): it counts as the entry's listed acronyms do."""
    alias = draft.alias
    return draft.rule.startswith(exonyms.RULE) and alias.isupper() and alias.isalpha()


def _is_acronym(alias: str, entry: Entry) -> bool:
    """Whether a name is the initials of another of the entry's names (``IRGC``, ``TTP``),
    not a short name in the list's capitals (``UNIJET``, ``FENIKS``)."""
    if not _ACRONYM.fullmatch(alias):
        return False
    for name in entry.names:
        words = [w for w in TOKEN_RE.findall(name) if w.casefold() not in _FUNCTION_WORDS]
        if len(words) >= len(alias) and "".join(w[0] for w in words).upper().startswith(alias):
            return True
    return False


def _generic(slot: Slot) -> bool:
    """A word that says what an organisation is, not which one: an everyday word of English
    (``ministry``, ``guard``) or of another news language (``ministerio``); not a name the
    news writes often (``Qaida``)."""
    lower = slot.surface.casefold()
    return (
        slot.norm in _FUNCTION_WORDS
        or slot.norm in LEGAL_WORDS
        or lexicon.is_common_word(slot.norm)
        or lexicon.is_foreign_word(lower)
        or lexicon.is_foreign_word(slot.norm)
    )


def _card_of(entries: tuple[Entry, ...], cards: dict[str, tuple[Listing, ...]]) -> list[int]:
    """Entry position -> the first position of its card (one real-world entity on several
    lists, `watcher.matching.cards`): its own where it is on one list only."""
    position = {entry.key: i for i, entry in enumerate(entries)}
    return [
        min(position[f"{name}/{id_}"] for name, id_ in cards[entry.key])
        if entry.key in cards
        else i
        for i, entry in enumerate(entries)
    ]


def _people(
    entries: tuple[Entry, ...], drafts: list[_Draft], given: frozenset[str], card_of: list[int]
) -> tuple[list[_Draft], dict[int, str]]:
    """People's names as news writes them, and which people are prominent (entry -> title).

    * a name made only of common given names (``Abdul Rahman``, ``Mohammad Ismail``) names
      no one in particular: left out; beside them, the one other word takes no typo;
    * a one-word alias of a person that is not the surname (``Hassan``, ``Dass``) counts only
      exactly as written, and not at all when it is a given name or an everyday word;
    * a derived form (not listed) that several people share, or that is made only of everyday
      words for someone not heading a state (``Pedro Sánchez``), is left out;
    * the surname alone (``Putin``, ``Maduro``, ``Assad``) is added when it tells one person
      apart (`_bare_surnames`)."""
    ranks = {
        i: (rank, f"title: {title}") if rank else (0, "")
        for i, e in enumerate(entries)
        if e.type == EntryType.PERSON
        for rank, title in [people.prominence(e)]
    }
    heads, heads_by_aliases = people.family_heads(entries)
    for position, why in (*people.network_heads(entries).items(), *heads.items()):
        if ranks[position][0] < people.OFFICE:
            ranks[position] = (people.OFFICE, why)
    surnames = {i: _surname_key(e) for i, e in enumerate(entries) if i in ranks}
    derived_owners: dict[tuple[str, ...], set[int]] = {}
    for d in drafts:
        if d.rule.startswith("derived:"):
            derived_owners.setdefault(tuple(s.key for s in d.slots), set()).add(d.entry)
    kept: list[_Draft] = []
    for d in drafts:
        if d.entry not in ranks:
            kept.append(d)
            continue
        keys = [s.key for s in d.slots]
        if len(keys) > 1 and all(k in given for k in keys):
            # the person's own primary name (Dawood Ibrahim), or a listed alias of a
            # prominent person (Naim Qassem, Hizballah's leader), counts beside their country,
            # another of their names or an entry linked to them, as an acronym does; another
            # person's alias so made never does
            own = d.rule == "name" or (d.rule == "alias" and ranks[d.entry][0] > 0)
            if not own or not entries[d.entry].countries:
                continue
            d = d._replace(flags=d.flags | Flag.CORROBORATE)  # noqa: PLW2901
        typos = len(keys) > 1 and any(s.max_edits for s in d.slots)
        if typos and sum(k in given for k in keys) == len(keys) - 1:
            # Muhammad Qasir: beside common given names only, the surname must be spelled
            # right (Mohamed Katir is someone else); the given names keep their other
            # languages' forms (Дмитро for Dmitriy, Aleksandr for Alyaksandr)
            exact = tuple(s if s.key in given else s._replace(max_edits=0) for s in d.slots)
            d = d._replace(slots=exact)  # noqa: PLW2901
        if len(keys) == 1 and keys[0] != surnames[d.entry]:
            w = d.slots[0]
            if w.key in given or lexicon.is_everyday_word(w.surface.casefold(), w.norm):
                continue
            d = d._replace(flags=d.flags | Flag.EXACT_ONLY)  # noqa: PLW2901
        derived = d.rule.startswith("derived:")
        if derived and not _derived_holds(d, derived_owners, ranks, given, card_of):
            continue
        kept.append(d)
    # a head known only by his children's aliases is told apart by the surname, not prominent
    told_apart = frozenset(heads) | heads_by_aliases
    bare = _bare_surnames(entries, kept, ranks, surnames, given, card_of=card_of, heads=told_apart)
    kept.extend(
        d._replace(flags=d.flags | Flag.FAMILY) if d.entry in heads_by_aliases else d for d in bare
    )
    return kept, {i: why for i, (rank, why) in ranks.items() if rank}


def _surname_key(entry: Entry) -> str:
    found = people.surname(entry)
    return word(found).key if found else ""


def _derived_holds(
    draft: _Draft,
    owners: dict[tuple[str, ...], set[int]],
    ranks: dict[int, tuple[int, str]],
    given: frozenset[str],
    card_of: list[int],
) -> bool:
    """A derived form counts for one person only (one card: ``Khalil Haqqani`` on the OFAC
    and UN lists is one man), and a two-word one of everyday words (``Pedro Sánchez``, ``José
    Gil``) only for a head of state or movement (``Nicolás Maduro``) or with a rare given name
    (``Diosdado Cabello``)."""
    mine = card_of[draft.entry]
    others = [o for o in owners[tuple(s.key for s in draft.slots)] if card_of[o] != mine]
    if others:
        rank = ranks[draft.entry][0]
        if not rank or any(ranks[o][0] >= rank for o in others):
            return False
    if len(draft.slots) > 2 or draft.flags & Flag.CUE_AND_COUNTRY:  # the latter: with a cue
        return True  # three names (Nicolás Maduro Guerra) tell a person apart, everyday or not
    everyday = all(lexicon.is_everyday_word(s.surface.casefold(), s.norm) for s in draft.slots)
    # a given name that neither the lists nor English news use much is the person's own,
    # however often one language's news writes it (Diosdado Cabello; not Carlos, Rosario)
    first = draft.slots[0]
    rare_given = first.key not in given and not lexicon.is_english_news_word(
        first.surface.casefold(), first.norm
    )
    return not everyday or rare_given or ranks[draft.entry][0] >= people.HEAD


def _bare_surnames(
    entries: tuple[Entry, ...],
    drafts: list[_Draft],
    ranks: dict[int, tuple[int, str]],
    surnames: dict[int, str],
    given: frozenset[str],
    *,
    card_of: list[int],
    heads: frozenset[int],
) -> list[_Draft]:
    """The surname alone, for each person whose surname tells them apart: long enough, no
    English word, no common given name, no other listed person's surname (unless this one
    alone heads a state or movement: ``Assad`` is Bashar, not his brother; or heads the family
    the list names around them: ``Lukashenko``, `people.family_heads`), and not a name the
    list gives already (a hand-made list's ``Putin`` keeps its behaviour). Each spelling of the
    surname the entry's names use counts (Belarusian ``Lukashenka``, Russian ``Lukashenko``)."""
    holders, best = _surname_holders(surnames, ranks, card_of)
    one_word = {(d.entry, d.slots[0].key) for d in drafts if len(d.slots) == 1}
    one_word_keys = {key for _, key in one_word}
    # words of organisations' names: a surname whose plural is one names a movement or a
    # people (Houthi: THE HOUTHIS; Kurd: the Kurds), not the listed person alone
    plurals = {s.key for d in drafts if entries[d.entry].type != EntryType.PERSON for s in d.slots}
    bare = []
    for position, key in surnames.items():
        if not key or (position, key) in one_word:
            continue
        if key.endswith("a") and key[:-1] in holders:
            continue  # Peskova (his daughter) is also Peskov's genitive: not her surname alone
        rank = ranks[position][0]
        family_head = position in heads
        if holders[key] > 1 and not family_head and (rank < people.HEAD or best[key] != [rank, 1]):
            continue
        found = people.surname(entries[position]) or ""
        entry = entries[position]
        spellings = (*_surname_spellings(entry, key), *exonyms.surnames_for(entry))
        for spelling in dict.fromkeys((found, *spellings)):
            w = word(spelling)
            if w.key != key and (
                (w.key in holders and not family_head) or (position, w.key) in one_word
            ):
                continue  # another person's surname, or a name the list gives already
            if len(w.norm) < 4 or w.key in given or w.key in one_word_keys or w.script != "latin":
                continue
            if f"{w.key}s" in plurals:
                continue
            word_too = lexicon.is_dictionary_word(w.lower) or lexicon.is_common_word(w.norm)
            if rank < people.HEAD and (word_too or lexicon.is_everyday_word(w.lower, w.norm)):
                continue  # Moreno, Harris, Korea: frequent in the news, for a head of state only
            flags = Flag.SURNAME | Flag.BARE
            if word_too or lexicon.is_foreign_word(w.lower):
                flags |= Flag.FOREIGN_WORD  # Maduro (Spanish: ripe; English: a cigar)
            slot = _slot(w, Mode.FULL, 0)
            bare.append(_Draft(position, spelling, (slot,), 0, Gap.PLAIN, flags, "", "surname"))
    return bare


def _surname_holders(
    surnames: dict[int, str], ranks: dict[int, tuple[int, str]], card_of: list[int]
) -> tuple[Counter[str], dict[str, list[int]]]:
    """How many people hold each surname (one person on several lists, one card, holds it
    once, at their highest rank), and for a shared one [its holders' highest rank, how many
    hold it at that rank]."""
    card_ranks: dict[tuple[str, int], int] = {}
    for position, key in surnames.items():
        if key:
            held = (key, card_of[position])
            card_ranks[held] = max(card_ranks.get(held, 0), ranks[position][0])
    holders = Counter(key for key, _ in card_ranks)
    best: dict[str, list[int]] = {}
    for (key, _), rank in card_ranks.items():
        if holders[key] > 1:
            top = best.setdefault(key, [0, 0])
            top[:] = [rank, 1] if rank > top[0] else [top[0], top[1] + (rank == top[0])]
    return holders, best


_SPELLING_EDITS = 2  # Lukashenka / Lukashenko, Shoigu / Shoygu (the latter already one key)


def _surname_spellings(entry: Entry, key: str) -> list[str]:
    """Other spellings of the surname among the entry's names (``Lukashenko`` in the aliases
    of ``Alyaksandr LUKASHENKA``): the surname word of each name, where it is a respelling
    of the surname (same first letter, at most two letters apart), not another name."""
    found: dict[str, str] = {}
    for name in entry.names:
        words = TOKEN_RE.findall(name.partition(",")[0] if "," in name else name)
        words = [w for w in words if not people.is_particle(w.casefold())]
        if len(words) < (1 if "," in name else 2):
            continue
        last = words[0] if "," in name else words[-1]
        other = word(last).key
        if other == key or other in found or other[:1] != key[:1]:
            continue
        if OSA.distance(other, key, score_cutoff=_SPELLING_EDITS) <= _SPELLING_EDITS:
            found[other] = last
    return list(found.values())


def _name_keys(entries: tuple[Entry, ...], drafts: list[_Draft]) -> dict[int, frozenset[str]]:
    """Person entry -> the keys of all the words of its names."""
    keys: dict[int, set[str]] = {}
    for entry, _, slots, *_ in drafts:
        if entries[entry].type == EntryType.PERSON:
            keys.setdefault(entry, set()).update(s.key for s in slots)
    return {entry: frozenset(found) for entry, found in keys.items()}


def _is_matched(entry: Entry) -> bool:
    if entry.type in (EntryType.VESSEL, EntryType.OTHER):
        return entry.match_vessels
    return True


def phrase_regex(phrases: Iterable[str | None]) -> re.Pattern[str]:
    """Whole-word, case-insensitive, any-whitespace alternation of `phrases`."""
    parts = [r"\s+".join(map(re.escape, p.split())) for p in phrases if p and p.split()]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + r")(?![^\W_])", re.IGNORECASE)


# --- name variants -------------------------------------------------------------------------


Variant = tuple[tuple[Slot, ...], int, int, str]


def name_variants(entry: Entry, name: str) -> list[Variant]:
    """(slots, penalty, gap, rule) of every way `name` may be written in the news (rule:
    "" for the name itself, else how the variant was made: ``short-form``, ``one-word``).

    A person's name is one pattern (Gap.PERSON): the matcher tries the name in order, in
    list order, with initials and without middle names around its surname."""
    words = _name_words(entry, name)
    if not words:
        return []
    slots = _slots(words)
    loose = any(s.mode != Mode.STRICT for s in slots)
    person = entry.type == EntryType.PERSON
    if person and len(slots) > 1 and not loose and not all(_common(w) for w in words):
        # a name of short words (Kim Jong Un) is still a name: any case (Kim Jong-un)
        slots, loose = tuple(s._replace(mode=Mode.KEY) for s in slots), True
    if len(slots) > 1 and loose and person:
        return [(slots, 0, Gap.PERSON, "")]
    if person and len(slots) == 1 and slots[0].mode == Mode.STRICT and _word_name(words[0]):
        slots = (slots[0]._replace(mode=Mode.PERSON_WORD),)
    if not person and not loose and _title_case_name(words):
        slots = tuple(s._replace(mode=Mode.TITLE) for s in slots)
    variants: list[Variant] = [(slots, 0, Gap.PLAIN, "")]
    if len(slots) > 1 and loose:
        variants.extend(_company_variants(words))
    return variants


def _title_case_name(words: list[Word]) -> bool:
    """A name of short or everyday words in capitals (``QUDS FORCE``, ``EVIN PRISON``,
    ``MEHR BANK``, ``BANK OF RUSSIA``) with two words or more besides function words and legal
    forms, one of them no everyday English word or a country: news writes it capitalised
    (``Quds Force``). A name of everyday words only (``GOLDEN STAR``) stays as written."""
    if not all(w.surface.isupper() or not w.surface.isalpha() for w in words):
        return False
    content = [w for w in words if w.norm not in _FUNCTION_WORDS and w.norm not in LEGAL_WORDS]
    content = [w for w in content if not w.norm.isdigit()]
    # a country is a name, however common the word (BANK OF RUSSIA)
    country = countries.all_stems()
    named = (not lexicon.is_common_word(w.norm) or w.key.startswith(country) for w in content)
    return len(content) >= 2 and any(named)


def _word_name(w: Word) -> bool:
    """A person's one-word name that is an English word (Trump), not a short one (Kim)."""
    return len(w.norm) >= 5 and w.norm.isalpha() and w.script == "latin"


def _common(w: Word) -> bool:
    return lexicon.is_common_word(w.norm) or w.norm.isdigit()


def _name_words(entry: Entry, name: str) -> list[Word]:
    if entry.type == EntryType.PERSON and "," in name:
        surname, _, given = name.partition(",")  # list order: "PUTIN, Vladimir Vladimirovich"
        name = f"{given} {surname}"
    return [word(found.group()) for found in TOKEN_RE.finditer(mask_markup(name))]


def _slots(words: list[Word]) -> tuple[Slot, ...]:
    plain = [len(w.norm) <= 4 or lexicon.is_common_word(w.norm) or w.norm.isdigit() for w in words]
    if all(plain):  # DAN, VISTA, JUSTICE, "GOLDEN STAR": only exactly as written
        return tuple(_slot(w, Mode.STRICT, 0) for w in words)
    single = len(words) == 1
    slots = []
    for w, is_plain in zip(words, plain, strict=True):
        if is_plain and (len(w.norm) <= 3 or lexicon.is_common_word(w.norm)):
            slots.append(_slot(w, Mode.KEY, 0))
        else:
            edits = max_edits(w.key) if not single or len(w.key) >= _MIN_FUZZY_SINGLE else 0
            slots.append(_slot(w, Mode.FULL, edits))
    return tuple(slots)


_ADJECTIVAL = re.compile(r"(?<=sk|zk|ck)(?:i|oi)$")  # Khodorkovsky, Ходорковский, Trubetskoy


# A name in -ий/-ый/-y (Dmitriy, Yevgeniy, Navalny): its case forms share the key without
# the final i (Дмитрия, Дмитрием: dmitr-; Навального, Навальному: navaln-).
_SOFT_Y = re.compile(r"[^aeiou]i$")
# The masculine case forms of such a name, in key spelling: the feminine ones (Навальная,
# Навальной) name a wife or daughter, not the man the list names.
_SOFT_Y_ENDINGS = frozenset({"ia", "iu", "em", "ogo", "omu", "ego", "emu", "im", "om"})


def _y_ending(norm: str) -> bool:
    return norm[-1:] in ("y", "j") or norm[-2:] in ("ii", "ыи", "ии", "іи")


def stem_fits(slot: Slot, key: str) -> bool:
    """Whether a word with this key, one of whose stems is the slot's stem, is a case form
    of the slot's name: any form of a feminine or -sky name, a masculine one of an -y name."""
    if not _SOFT_Y.search(slot.key) or _ADJECTIVAL.search(slot.key):
        return True
    return key[len(slot.stem) :] in _SOFT_Y_ENDINGS


def _slot(w: Word, mode: int, edits: int) -> Slot:
    """The slot for a name word; a long word gets the stem its case forms share: a feminine
    or noun ending off (Nabiullina), an adjectival one (Ходорковского, -скому, -ская: the
    stem of Khodorkovsky), the final i of an -y name (Дмитрием, Навального)."""
    stem = ""
    if mode == Mode.FULL and len(w.key) >= 6 and w.key.endswith("a"):
        stem = w.key[:-2] if w.key.endswith("ia") else w.key[:-1]
    elif mode == Mode.FULL and len(w.key) >= 7 and _ADJECTIVAL.search(w.key):
        stem = _ADJECTIVAL.sub("", w.key)
    elif mode == Mode.FULL and len(w.key) >= 6 and _SOFT_Y.search(w.key) and _y_ending(w.norm):
        stem = w.key[:-1]
    return Slot(w.key, stem, w.surface, w.norm, mode, edits, w.script)


# Legal forms written in several words: their words go with them (``MYANMA ECONOMIC HOLDINGS
# PUBLIC COMPANY LIMITED``: ``Myanma Economic Holdings``), though ``public`` or ``joint`` alone
# may be a name's own word.
_LEGAL_PHRASES = tuple(
    tuple(phrase.split())
    for phrase in (
        "public joint stock company",
        "open joint stock company",
        "closed joint stock company",
        "joint stock company",
        "limited liability company",
        "public company limited",
        "public limited company",
        "publicly traded company",
        "federal state unitary enterprise",
        "state unitary enterprise",
    )
)


def _legal_phrase_words(words: list[Word]) -> set[int]:
    """The positions of the words of `_LEGAL_PHRASES` in `words`."""
    norms = [w.norm for w in words]
    found: set[int] = set()
    for phrase in _LEGAL_PHRASES:
        for start in range(len(norms) - len(phrase) + 1):
            if tuple(norms[start : start + len(phrase)]) == phrase:
                found.update(range(start, start + len(phrase)))
    return found


def _company_variants(words: list[Word]) -> list[Variant]:
    """The name without legal-form words (``PJSC Lukoil`` -> ``Lukoil``... only when two
    words or more remain: a bare word counts only when the list names it, as ``OOO
    Viktoriya`` is not every ``Victoria``), and written as one word (``Gazpromneft``)."""
    legal = _legal_phrase_words(words)
    core = [w for i, w in enumerate(words) if i not in legal and w.norm not in LEGAL_WORDS]
    if len(core) < 2:
        return []
    variants: list[Variant] = []
    if len(core) < len(words):
        variants.append((_slots(core), 2, Gap.PLAIN, "short-form"))
    joined = "".join(w.key for w in core)
    if len(joined) >= 8 and all(w.script == core[0].script for w in core):
        surface, lower = "".join(w.surface for w in core), "".join(w.lower for w in core)
        norm, script = "".join(w.norm for w in core), core[0].script
        closed = Word(surface, lower, norm, joined, script, core[0].capitalized)
        variants.append(((_slot(closed, Mode.FULL, 0),), 0, Gap.PLAIN, "one-word"))
    return variants


def _anchor_patterns(drafts: list[_Draft]) -> tuple[Pattern, ...]:
    """File each pattern under its most telling word: rare in the news before everyday,
    typo-tolerant before exact-only, long before short, rare in the lists before frequent
    (``Sechin`` before ``Igor``, ``Melli`` before ``Bank``, never ``of``)."""
    frequency = Counter(s.key for draft in drafts for s in draft[2])

    everyday = lexicon.everyday_words()

    def rank(slot: Slot) -> tuple[bool, bool, bool, bool, bool, int, int]:
        word_like = len(slot.key) >= 3 and not slot.norm.isdigit()  # not "1", "Yu", "al"
        rare_in_news = slot.norm not in everyday
        telling = slot.mode == Mode.FULL and len(slot.key) >= 4
        # a word written in lower case (``groupe`` of ``le groupe Wagner``) is read in the
        # text as the everyday word it is, never as where a name starts: file under the name
        named = not slot.surface[:1].islower()
        return (
            slot.mode != Mode.STRICT,
            named,
            word_like,
            rare_in_news,
            telling,
            -frequency[slot.key],
            len(slot.key),
        )

    patterns = []
    for entry, alias, slots, penalty, gap, flags, punct, rule in drafts:
        anchor = 0 if len(slots) == 1 else max(range(len(slots)), key=lambda i: rank(slots[i]))
        surname = slots[-1]
        if gap == Gap.PERSON and surname.mode == Mode.FULL and len(surname.key) >= 4:
            anchor = len(slots) - 1  # every reading of a person's name has the surname
        if gap == Gap.PERSON:  # the initials a person's name may be written with
            given = slots[0].key[:1]
            second = slots[1].key[:1] if len(slots) > 2 else ""
            initials = (_initial(given, slots[0].script), _initial(second, slots[0].script))
            patronymic = Slot("", "", "", "", Mode.PATRONYMIC, 0, slots[0].script)
            extra = (*initials, patronymic)
            slots = (*slots, *extra)  # noqa: PLW2901 (the same slots, with the extra ones)
        patterns.append(Pattern(entry, alias, slots, anchor, penalty, gap, flags, punct, rule))
    return tuple(patterns)


def _shared_slots(patterns: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    """The patterns with one `Slot` object per distinct slot: the OFAC list's 190,000 slots
    are 38,000 distinct ones (initials, patronymics, a surname in every variant), and sharing
    them (pickling keeps the sharing) takes ~25 MB off a daemon's resident size."""
    canonical: dict[Slot, Slot] = {}
    return tuple(
        p._replace(slots=tuple(canonical.setdefault(s, s) for s in p.slots)) for p in patterns
    )


def _initial(letter: str, script: str) -> Slot:
    return Slot(letter, "", "", "", Mode.INITIAL, 0, script)


def _lookup_tables(
    patterns: tuple[Pattern, ...],
) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, list[str]]]:
    """key -> patterns anchored there; exact surface -> patterns with a case-exact anchor;
    first letter -> the typo-tolerant anchor keys."""
    anchors: dict[str, list[int]] = {}
    strict: dict[str, list[int]] = {}
    fuzzy: dict[str, set[str]] = {}
    for number, pattern in enumerate(patterns):
        slot = pattern.slots[pattern.anchor]
        if slot.mode == Mode.STRICT:
            strict.setdefault(slot.surface, []).append(number)
            if len(pattern.slots) > 1 and slot.surface.upper() != slot.surface:
                strict.setdefault(slot.surface.upper(), []).append(number)  # in a headline
            continue
        if slot.mode == Mode.TITLE:
            for surface in dict.fromkeys((slot.surface, slot.surface.capitalize())):
                strict.setdefault(surface, []).append(number)
            continue
        anchors.setdefault(slot.key, []).append(number)
        if slot.stem:
            anchors.setdefault(slot.stem, []).append(number)
        if slot.max_edits:
            fuzzy.setdefault(slot.key[0], set()).add(slot.key)
    return anchors, strict, {letter: sorted(keys) for letter, keys in fuzzy.items()}


def prepare(compiled: CompiledWatchlists) -> None:
    """Build what matching would otherwise build on first use: the matcher's word lists, the
    index's typo neighbourhoods and its sorted long keys. A daemon calls it for each new
    snapshot, before any article is read (and from one thread: concurrent matchers would each
    build a copy)."""
    lexicon.preload()
    compiled.build_deletion_indexes()
    compiled.build_long_keys()


def deletion_index(keys: Iterable[str]) -> dict[str, list[str]]:
    """One-deletion variant -> keys (the SymSpell neighbourhood of radius 1, first letter
    kept: a word within one edit of a key that starts with the same letter shares a
    variant with it, or is one, or has the key as one)."""
    index: dict[str, list[str]] = {}
    for key in keys:
        for i in range(1, len(key)):
            variant = key[:i] + key[i + 1 :]
            # not setdefault(variant, []): its throwaway list per call would make the
            # collector walk the whole index again and again (built while matching, ~8x slower)
            found = index.get(variant)
            if found is None:
                index[variant] = [key]
            else:
                found.append(key)
    return index


def deletions(key: str) -> list[str]:
    """Every string one deletion away from `key`, its first letter kept."""
    return [key[:i] + key[i + 1 :] for i in range(1, len(key))]


def _signature(
    watchlists: Sequence[Watchlist], threshold: int, ignore: Sequence[IgnoreRule]
) -> str:
    digest = hashlib.sha256(repr((INDEX_FORMAT, threshold, tuple(ignore))).encode())
    digest.update(exonyms.digest().encode())  # the reference table is compiled in too
    for wl in watchlists:
        digest.update(repr(wl).encode())
    return digest.hexdigest()


# --- persistence ---------------------------------------------------------------------------


def save_index(compiled: CompiledWatchlists, path: Path) -> None:
    """Write the compiled index (atomically) for a later `load_index`."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        pickle.dump((INDEX_FORMAT, compiled), out, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def load_index(path: Path, signature: str | None = None) -> CompiledWatchlists | None:
    """The index saved at `path`, or None when absent, stale or of another format.

    Only load files this program wrote itself (it is a pickle)."""
    try:
        with path.open("rb") as source:
            version, compiled = pickle.load(source)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    if version != INDEX_FORMAT or not isinstance(compiled, CompiledWatchlists):
        return None
    if signature is not None and compiled.signature != signature:
        return None
    return compiled


def watchlists_signature(
    watchlists: Sequence[Watchlist], threshold: int = 90, ignore: Sequence[IgnoreRule] = ()
) -> str:
    """What `load_index` compares to tell a saved index is still current."""
    return _signature(watchlists, threshold, ignore)
