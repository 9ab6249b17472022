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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from watcher.ignore import IgnoreRule
from watcher.matching import lexicon
from watcher.matching.normalize import Word, tokens, word
from watcher.watchlist import Entry, EntryType, Watchlist

INDEX_FORMAT = 1


class Mode:
    """How a slot accepts a text word."""

    STRICT = 0  # exactly as written, case included: common words, short names
    KEY = 1  # same key (any case, any romanisation), no inflection, no typos
    FULL = 2  # same key, or an inflected form, or (long words) a typo
    INITIAL = 3  # a capital single letter; the slot key is the letter ("" for any)


class Gap:
    """Which characters may stand between two words of one mention."""

    PLAIN = 0  # spaces, line break, hyphen
    COMMA = 1  # also a comma: list order, ``PUTIN, Vladimir``
    DOT = 2  # also a dot: initials, ``V.V. Putin``


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


# Legal-form words: a company is named with or without them.
_LEGAL = """llc ltd limited inc incorporated jsc pjsc ojsc cjsc oao ooo zao pao ao tov pat gmbh ag
sa s a co company corp corporation plc llp lp fze fzco fzc bv nv sarl srl spa"""
LEGAL_WORDS = frozenset(_LEGAL.split())
_MIN_FUZZY_SINGLE = 6  # a one-word name must be this long to be typo tolerant
_MIN_FUZZY = 5


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
        anchors: dict[str, tuple[int, ...]],
        deletes: dict[str, tuple[str, ...]],
        excludes: dict[int, re.Pattern[str]],
        ignores: tuple[CompiledIgnore, ...],
        signature: str,
    ) -> None:
        self.entries = entries
        self.thresholds = thresholds
        self.patterns = patterns
        self.anchors = anchors
        self.deletes = deletes
        self.excludes = excludes
        self.ignores = ignores
        self.signature = signature
        # memo: word norm+key -> anchors it may stand for (rebuilt after unpickling)
        self.candidate_cache: dict[str, tuple[str, ...]] = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["candidate_cache"] = {}
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
    entries = tuple(e for wl in watchlists for e in wl.entries if _is_matched(e))
    raw: list[tuple[int, str, list[Slot], int, int]] = []
    for position, entry in enumerate(entries):
        for name in dict.fromkeys(entry.names):
            raw.extend((position, name, *variant) for variant in name_variants(entry, name))
    patterns = _anchor_patterns(_dedupe(raw))
    anchors, deletes = _lookup_tables(patterns)
    return CompiledWatchlists(
        entries=entries,
        thresholds=tuple(e.threshold if e.threshold is not None else threshold for e in entries),
        patterns=patterns,
        anchors=anchors,
        deletes=deletes,
        excludes={i: phrase_regex(e.exclude) for i, e in enumerate(entries) if e.exclude},
        ignores=tuple(
            CompiledIgnore(r, phrase_regex([r.phrase]) if r.phrase else None) for r in ignore
        ),
        signature=_signature(watchlists, threshold, ignore),
    )


def _is_matched(entry: Entry) -> bool:
    if entry.type in (EntryType.VESSEL, EntryType.OTHER):
        return entry.match_vessels
    return True


def phrase_regex(phrases: Iterable[str | None]) -> re.Pattern[str]:
    """Whole-word, case-insensitive, any-whitespace alternation of `phrases`."""
    parts = [r"\s+".join(map(re.escape, p.split())) for p in phrases if p and p.split()]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + r")(?![^\W_])", re.IGNORECASE)


# --- name variants -------------------------------------------------------------------------


def name_variants(entry: Entry, name: str) -> list[tuple[list[Slot], int, int]]:
    """(slots, penalty, gap) of every way `name` may be written in the news."""
    words = _name_words(entry, name)
    if not words:
        return []
    slots = _slots(words)
    variants: list[tuple[list[Slot], int, int]] = [(slots, 0, Gap.PLAIN)]
    loose = any(s.mode != Mode.STRICT for s in slots)
    if len(slots) > 1 and loose:
        if entry.type == EntryType.PERSON:
            variants.extend(_person_variants(slots))
        else:
            variants.extend(_company_variants(words))
    return variants


def _name_words(entry: Entry, name: str) -> list[Word]:
    if entry.type == EntryType.PERSON and "," in name:
        surname, _, given = name.partition(",")  # list order: "PUTIN, Vladimir Vladimirovich"
        name = f"{given} {surname}"
    return [word(surface) for surface, _, _ in tokens(name)]


def _slots(words: list[Word]) -> list[Slot]:
    plain = [len(w.norm) <= 4 or lexicon.is_common_word(w.norm) or w.norm.isdigit() for w in words]
    if all(plain):  # DAN, VISTA, JUSTICE, "GOLDEN STAR": only exactly as written
        return [_slot(w, Mode.STRICT, 0) for w in words]
    single = len(words) == 1
    slots = []
    for w, is_plain in zip(words, plain, strict=True):
        if is_plain and (len(w.norm) <= 3 or lexicon.is_common_word(w.norm)):
            slots.append(_slot(w, Mode.KEY, 0))
        else:
            edits = max_edits(w.key) if not single or len(w.key) >= _MIN_FUZZY_SINGLE else 0
            slots.append(_slot(w, Mode.FULL, edits))
    return slots


def _slot(w: Word, mode: int, edits: int) -> Slot:
    stem = ""
    if mode == Mode.FULL and len(w.key) >= 6 and w.key.endswith("a"):
        stem = w.key[:-2] if w.key.endswith("ia") else w.key[:-1]
    return Slot(w.key, stem, w.surface, w.norm, mode, edits, w.script)


def _person_variants(slots: list[Slot]) -> list[tuple[list[Slot], int, int]]:
    given, surname = slots[:-1], slots[-1]
    first = given[0]
    variants = [([surname, *given], 2, Gap.COMMA)]
    if len(given) > 1:  # a patronymic or middle name the news leaves out
        variants += [([first, surname], 3, Gap.PLAIN), ([surname, first], 4, Gap.COMMA)]
    if first.key.isalpha():
        initial = Slot(first.key[:1], "", "", "", Mode.INITIAL, 0, first.script)
        any_initial = Slot("", "", "", "", Mode.INITIAL, 0, first.script)
        variants += [
            ([initial, surname], 6, Gap.DOT),
            ([initial, any_initial, surname], 6, Gap.DOT),
        ]
    return variants


def _company_variants(words: list[Word]) -> list[tuple[list[Slot], int, int]]:
    variants: list[tuple[list[Slot], int, int]] = []
    joined = "".join(w.key for w in words)
    if len(joined) >= 8 and all(w.script == words[0].script for w in words):
        closed = Word("".join(w.surface for w in words), "".join(w.norm for w in words), joined,
                      (), words[0].script, words[0].capitalized)  # fmt: skip
        variants.append(([_slot(closed, Mode.FULL, max_edits(joined))], 0, Gap.PLAIN))
    core = [w for w in words if w.norm not in LEGAL_WORDS]
    if 0 < len(core) < len(words):
        core_slots = _slots(core)
        if len(core_slots) > 1 or core_slots[0].mode != Mode.STRICT:
            variants.append((core_slots, 2, Gap.PLAIN))
    return variants


def _dedupe(
    raw: list[tuple[int, str, list[Slot], int, int]],
) -> list[tuple[int, str, tuple[Slot, ...], int, int]]:
    """Drop variants another name of the same entry already covers (``Putin``/``Путин``)."""
    seen: set[tuple[object, ...]] = set()
    kept = []
    for entry, alias, slots, penalty, gap in raw:
        shape = (
            entry,
            gap,
            tuple((s.key, s.mode, s.surface if s.mode == 0 else "") for s in slots),
        )
        if shape in seen:
            continue
        seen.add(shape)
        kept.append((entry, alias, tuple(slots), penalty, gap))
    return kept


def _anchor_patterns(
    raw: list[tuple[int, str, tuple[Slot, ...], int, int]],
) -> tuple[Pattern, ...]:
    """File each pattern under its rarest, longest word."""
    frequency = Counter(s.key for _, _, slots, _, _ in raw for s in slots)

    def rank(item: tuple[int, Slot]) -> tuple[bool, int, int]:
        _, s = item
        return (s.mode in (Mode.FULL, Mode.KEY), -frequency[s.key], len(s.key))

    patterns = []
    for entry, alias, slots, penalty, gap in raw:
        candidates = [(i, s) for i, s in enumerate(slots) if s.mode != Mode.INITIAL]
        anchor = max(candidates, key=rank)[0]
        patterns.append(Pattern(entry, alias, slots, anchor, penalty, gap))
    return tuple(patterns)


def _lookup_tables(
    patterns: tuple[Pattern, ...],
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[str, ...]]]:
    """key -> patterns anchored there; deletion variant -> typo-tolerant anchor keys."""
    anchors: defaultdict[str, list[int]] = defaultdict(list)
    fuzzy_keys: set[str] = set()
    for number, pattern in enumerate(patterns):
        slot = pattern.slots[pattern.anchor]
        anchors[slot.key].append(number)
        if slot.stem:
            anchors[slot.stem].append(number)
        if slot.max_edits:
            fuzzy_keys.add(slot.key)
    deletes: defaultdict[str, list[str]] = defaultdict(list)
    for key in fuzzy_keys:
        for variant in deletions(key):
            deletes[variant].append(key)
    return (
        {k: tuple(dict.fromkeys(v)) for k, v in anchors.items()},
        {k: tuple(v) for k, v in deletes.items()},
    )


def deletions(key: str) -> set[str]:
    """`key` and every string one deletion away (the SymSpell neighbourhood, radius 1)."""
    return {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}


def _signature(
    watchlists: Sequence[Watchlist], threshold: int, ignore: Sequence[IgnoreRule]
) -> str:
    digest = hashlib.sha256(repr((INDEX_FORMAT, threshold, tuple(ignore))).encode())
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
