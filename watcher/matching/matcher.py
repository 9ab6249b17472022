"""Finding watched names in one text: pure functions over a `CompiledWatchlists`.

For each word of the text: look up which pattern anchors it may stand for (exact key,
inflected stem, or, for long words that are not themselves real words, a typo found through
the deletion neighbourhood and confirmed with rapidfuzz), then check the pattern's other
words around it. Mentions are then cleaned (a name inside a longer name of another entry
does not count; ``exclude`` phrases; ignore rules) and merged per entry.

News repeats its words: what depends on a token alone (its keys, the patterns it may anchor
and how well it fills their anchor slot) is worked out once and remembered (`_read_token`,
`_forms`), and a word's offsets only once a name is found there (`normalize.Tokens`).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import compress, count
from operator import itemgetter
from typing import NamedTuple

from rapidfuzz.distance import OSA

from watcher.config.ignore import IgnoreRule
from watcher.config.watchlist import EntryType
from watcher.ingest.article import TAGS_LABEL
from watcher.matching import exonyms, lexicon, people
from watcher.matching.cards import one_per_card
from watcher.matching.index import (
    SPLIT_MIN,
    CompiledWatchlists,
    Flag,
    Gap,
    Mode,
    Pattern,
    Slot,
    deletions,
    stem_fits,
)
from watcher.matching.normalize import Span, Tokens, Word, mask_markup, split_words, stems, word
from watcher.matching.types import Match

# How sure a word-level hit is.
SCORE_EXACT = 100  # same letters (case and diacritics aside)
SCORE_KEY = 96  # same sound in another romanisation or script
SCORE_STEM = 95  # an inflected form
SCORE_TYPO = {1: 92, 2: 90}

_CACHE_LIMIT = 50_000  # words remembered per index (a daemon reads forever): ~8 MB


class _GapRule(NamedTuple):
    """What may stand between two words of one mention besides spaces and one line break."""

    allowed: str  # punctuation allowed (at most three characters of it)
    required: str = ""  # punctuation that must be there


_GAPS = {
    Gap.PLAIN: _GapRule("-‐‑'’"),  # Gazprom-Neft, Al-'Ali
    Gap.COMMA: _GapRule(","),  # PUTIN, Vladimir
    Gap.DOT: _GapRule(".", "."),  # V.V. Putin
}
_MAX_PUNCTUATION = 3
_SENTENCE_END = '.!?…\n:;"«»“”„—–-('  # a capital after these may only mark a sentence start
SNIPPET_WIDTH = 160
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ScanResult:
    matches: tuple[Match, ...]
    suppressed: tuple[tuple[Match, IgnoreRule], ...]


@dataclass(frozen=True, slots=True)
class _Mention:
    entry: int
    alias: str
    start: int
    end: int
    score: int
    rule: str = "name"
    evidence: str = ""
    form: str = ""
    corroborate: int = 0  # Flag.CORROBORATE: only beside the entry's country or another of its
    # names; with Flag.WEAK: only beside another of its names


def match(text: str, compiled: CompiledWatchlists) -> list[Match]:
    """Every entry mentioned in `text`, best mention first per entry (ignore rules applied)."""
    return list(scan(text, compiled).matches)


def scan(text: str, compiled: CompiledWatchlists) -> ScanResult:
    """Like `match`, also returning the matches ignore rules removed."""
    masked = mask_markup(text)
    tokens = split_words(masked)
    mentions, read = _find_mentions(masked, tokens, compiled)
    if not mentions:
        return ScanResult((), ())
    mentions = _corroborate(mentions, read, compiled)
    if not mentions:
        return ScanResult((), ())
    mentions = _drop_contained(mentions)
    mentions = [m for m in mentions if not _excluded(m, masked, compiled)]
    kept, suppressed = _apply_ignores(mentions, masked, compiled)
    return ScanResult(
        matches=tuple(
            _one_reading(
                one_per_card(_merge(kept, text, masked, compiled), compiled.cards),
                compiled.namesake_sons,
            )
        ),
        suppressed=tuple(
            (merged, rule)
            for rule, group in suppressed.items()
            for merged in _merge(group, text, masked, compiled)
        ),
    )


# --- finding -------------------------------------------------------------------------------


def _find_mentions(
    masked: str, tokens: Tokens, compiled: CompiledWatchlists
) -> tuple[list[_Mention], _Text]:
    """The names found in the text, and the text as read (its words)."""
    read = _read_tokens(tokens.surfaces, compiled)
    words = list(map(_WORD, read))
    text = _Text(masked, tokens, words)
    candidates = list(map(_CANDIDATES, read))
    found: list[_Mention] = []
    anchored_at: list[int] = []  # each found mention's anchor word
    # (most words anchor nothing: only those that do are visited, C loops picking them out)
    for position in compress(count(), candidates):
        for number, anchor_score in candidates[position]:
            pattern = compiled.patterns[number]
            score, first, last, form = _verify(number, anchor_score, position, text, compiled)
            if score < compiled.thresholds[pattern.entry]:
                continue
            evidence = _fits_context(pattern, first, last, text, compiled)
            if evidence is not None:
                start, end = text.spans[first][1], text.spans[last][2]
                anchored_at.append(position)
                found.append(
                    _Mention(
                        pattern.entry,
                        pattern.alias,
                        start,
                        end,
                        score,
                        pattern.rule,
                        evidence,
                        form,
                        pattern.flags & (Flag.CORROBORATE | Flag.WEAK),
                    )
                )
    return _with_written_apart(found, anchored_at, map(_SPLIT_HEAD, read), text, compiled), text


_WORD = itemgetter(0)
_CANDIDATES = itemgetter(1)
_SPLIT_HEAD = itemgetter(2)


def _with_written_apart(
    found: list[_Mention],
    anchored_at: list[int],
    heads: Iterable[bool],
    text: _Text,
    compiled: CompiledWatchlists,
) -> list[_Mention]:
    """`found` (anchored at words `anchored_at`) and the one-word names written as two words
    (`_written_apart`) from the words `heads` says one may start at, each after the mentions
    anchored on or before its first word: the order the words are read in (later steps keep
    the first of equals)."""
    anchors, words = compiled.anchors, text.words
    for position in compress(range(len(words) - 1), heads):
        if words[position].key + words[position + 1].key in anchors:
            split = _written_apart(position, text, compiled)
            if split:
                at = bisect_right(anchored_at, position)
                found[at:at] = split
                anchored_at[at:at] = [position] * len(split)
    return found


def _read_tokens(surfaces: list[str], compiled: CompiledWatchlists) -> list[_Read]:
    """Each token's `Word`, the patterns it may anchor with how well it fills their anchor
    slot, and whether a one-word name written as two may start there (capitalised, and a
    long anchor key starts so). Memoised per token as written, in one look-up: most words of
    an article were met before and anchor nothing."""
    known = compiled.token_cache.get
    return [known(surface) or _read_token(surface, compiled) for surface in surfaces]


# A token read: its word, (pattern, `_anchor_score`) of each pattern it may anchor, and
# whether a one-word name written as two may start there
_Read = tuple[Word, tuple[tuple[int, int], ...], bool]


def _read_token(surface: str, compiled: CompiledWatchlists) -> _Read:
    w, forms, typo = _forms(surface)
    numbers = _candidates(w, forms, typo, compiled)
    scored: tuple[tuple[int, int], ...] = ()
    if numbers:  # (most words anchor nothing)
        patterns = compiled.patterns
        pairs = [(n, _anchor_score(patterns[n], w)) for n in numbers]
        scored = tuple(pair for pair in pairs if pair[1] >= 0)
    read = (w, scored, w.capitalized and compiled.starts_long_key(w.key))
    memo = compiled.token_cache
    if len(memo) >= _CACHE_LIMIT:
        memo.clear()
    memo[surface] = read
    return read


def _written_apart(position: int, text: _Text, compiled: CompiledWatchlists) -> list[_Mention]:
    """A one-word name written as two (``Gazprom Bank``, ``Gazprom-bank`` for Gazprombank)."""
    first, second = text.words[position], text.words[position + 1]
    joined = first.key + second.key
    numbers = compiled.anchors.get(joined) if len(joined) >= SPLIT_MIN else None
    if not numbers or not _gap_fits(text, position + 1, _GAPS[Gap.PLAIN]):
        return []
    mentions = []
    for number in numbers:
        pattern = compiled.patterns[number]
        slot = pattern.slots[0]
        spelled = slot.norm == first.norm + second.norm  # only split, not respelled
        if len(pattern.slots) == 1 and slot.mode == Mode.FULL and spelled:
            score = SCORE_KEY - pattern.penalty
            if score >= compiled.thresholds[pattern.entry]:
                start, end = text.spans[position][1], text.spans[position + 1][2]
                mentions.append(
                    _Mention(
                        pattern.entry, pattern.alias, start, end, score, pattern.rule, "", "split"
                    )
                )
    return mentions


# Words that say a name is a ship's or an aircraft's (prefixes of their inflected forms).
_VESSEL_CUES = (
    "tanker", "vessel", "ship", "carrier", "freighter", "boat", "yacht", "barge", "tug",
    "supertanker", "aircraft", "plane", "jet", "airliner", "танкер", "судн", "корабл",
    "теплоход", "сухогруз", "самолет", "самолёт", "літак", "tankowc", "tankowiec", "statek",
    "statk", "samolot", "schiff", "navire", "pétrolier", "petrolier",
)  # fmt: skip
_VESSEL_MARKS = frozenset({"mv", "mt", "ss", "imo", "lng", "m/t", "m/v"})
_CUE_WINDOW = 4
_TITLES = frozenset({"mr", "mrs", "ms", "dr", "sir", "herr", "pan", "pani", "gen", "sen", "rep"})


def _fits_context(
    pattern: Pattern, first: int, last: int, text: _Text, compiled: CompiledWatchlists
) -> str | None:
    """What in the text makes the mention hold ("" when it needs nothing), or None when
    it does not hold there."""
    if pattern.flags & Flag.VESSEL_WORD:
        before = text.words[max(0, first - _CUE_WINDOW) : first]
        cues = [w for w in before if w.norm in _VESSEL_MARKS or w.lower.startswith(_VESSEL_CUES)]
        return f"cue: {cues[-1].surface}" if cues else None
    if _words_not_name(pattern, first, last, text):
        return None
    own = compiled.name_keys.get(pattern.entry)
    inflected = text.words[first].key != pattern.slots[0].key
    if (
        pattern.flags & Flag.SURNAME
        and first > 0
        and _another_given_name(first, text, own, inflected)
    ):
        return None
    if pattern.flags & Flag.BARE:
        if _given_name_after(first, text, own, compiled.given_names):
            return None
        return _bare_surname(pattern, first, text, compiled)
    gated = pattern.flags & Flag.CUE_AND_COUNTRY  # a name of common names only
    return _office_and_country(pattern, first, text, compiled) if gated else ""


def _office_and_country(
    pattern: Pattern, first: int, text: _Text, compiled: CompiledWatchlists
) -> str | None:
    """A name of common names only (``Rosario Murillo``) counts right after a title or rank
    (``Vice President``, ``la vicepresidenta nicaragüense``; no mere ``Mr``), or as an
    editor's person tag (``Tags: Murillo, Rosario``), in an item naming
    one of the entry's countries (its adjectives in lower case too): ``President Pedro
    Sánchez`` in an article on Spain is not a Mexican namesake."""
    stems = compiled.country_stems.get(pattern.entry)
    if not stems:
        return None
    cue = _person_tag(first, text) or _office_cue(first, text, stems)
    if not cue:
        return None
    own = {slot.key for slot in pattern.slots}
    for w in text.words:
        if w.key.startswith(stems) and w.key not in own:
            return f"cue: {cue}; with: {w.surface}"
    return None


def _office_cue(first: int, text: _Text, stems: tuple[str, ...]) -> str:
    """The title or rank right before word `first` ("" for none)."""
    before = first - 1
    if before > 0 and text.words[before].key.startswith(stems):
        before -= 1  # a country adjective between: la vicepresidenta nicaragüense Rosario
    if before < 0 or _CLAUSE_END.search(text.masked, text.spans[before][2], text.spans[first][1]):
        return ""
    cue = text.words[before]
    return cue.surface if people.is_office_cue(cue.lower) else ""


def _person_tag(first: int, text: _Text) -> str:
    """The cue "a person tag" ("" for none): the name starting at word `first` is written as
    an editor tags a person (``Tags: Murillo, Rosario``), in the item's tag line, surname,
    comma, given name."""
    spans, masked = text.spans, text.masked
    if first + 1 >= len(spans):
        return ""
    comma = "," in masked[spans[first][2] : spans[first + 1][1]]
    return "a person tag" if comma and _in_tags(masked, spans[first][1]) else ""


def _words_not_name(pattern: Pattern, first: int, last: int, text: _Text) -> bool:
    """Whether the words are written as everyday words, not as the entity's name: a generic
    name in lower case, or a translated one (``un estado islámico moderno``) without its
    capital."""
    if pattern.flags & Flag.CAPITALISED and text.words[first].surface.islower():
        return True
    if pattern.flags & Flag.ORGANIZATION and _place_beside(first, last, text):
        return True  # the Al-Aqsa mosque is no charity AL-AQSA
    if (
        pattern.flags & Flag.ORGANIZATION
        and text.words[first].surface in _ARTICLES
        and not pattern.rule.startswith(exonyms.RULE)  # (those say how they may be written)
        and text.masked[text.spans[first][1] : text.spans[last][2]].islower()
    ):
        return True  # los rastrojos del maíz: the list's name written as everyday words
    if pattern.flags & Flag.CORROBORATE:
        return not (text.words[first].capitalized and text.words[last].capitalized)
    return False


# Articles of the news languages, as written in lower case: a listed name that starts with
# one (LOS RASTROJOS), all in lower case, is a phrase of the language (``los rastrojos del
# maíz``: the stubble); a one-word brand in lower case (``rosneft``) still names the company.
_ARTICLE_WORDS = "the los las la el le les il lo gli os as der die das den dem"
_ARTICLES = frozenset(_ARTICLE_WORDS.split())


# A holy site or a compound, in the news languages (key spelling of the word's start): the
# name beside it names the place (``the Al-Aqsa mosque``, ``la mezquita de Al Aqsa``,
# ``мечеть Аль-Акса``), not a body named after it.
_PLACE_WORDS = """mosque moschee mosquee mezquita mesquita moschea meczet мечет shrine sanctuario
    santuario sanktuarium compound esplanade explanada"""
_PLACE_KEYS = tuple(dict.fromkeys(word(w).key for w in _PLACE_WORDS.split()))
_PLACE_GLUE = frozenset({"de", "di", "del", "della", "of", "the", "al", "el", "la"})


# A shop, restaurant or hotel, in the news languages (lower case as written: the Russian
# shop, магазин, has the key of the English ``magazine``): the name right after it is the
# shop's own (``в магазине «Феникс»``, ``la tienda Fénix``), not a listed company's.
_SHOPS = """shop store supermarket restaurant café cafe bakery pharmacy hotel cinema boutique
    tienda supermercado restaurante cafetería farmacia panadería cine loja padaria farmácia
    geschäft supermarkt bäckerei apotheke kino magasin supermarché boulangerie pharmacie
    cinéma negozio ristorante supermercato panetteria albergo sklep restauracj kawiarni
    apteka piekarni магазин ресторан кафе супермаркет аптек пекарн гостиниц отел
    кинотеатр готел кінотеатр"""
_SHOP_WORDS = tuple(_SHOPS.split())


def _place_beside(first: int, last: int, text: _Text) -> bool:
    """Whether a place word stands right after the name or before it (across ``of the``,
    ``de``), or a shop's word right before it."""
    words = text.words
    if last + 1 < len(words) and words[last + 1].key.startswith(_PLACE_KEYS):
        return True
    if first > 0 and words[first - 1].lower.startswith(_SHOP_WORDS):
        return True
    index = first - 1
    while index >= 0 and words[index].lower in _PLACE_GLUE and first - index <= 2:
        index -= 1
    return index >= 0 and words[index].key.startswith(_PLACE_KEYS)


def _given_name_after(
    first: int, text: _Text, own: frozenset[str] | None, given: frozenset[str]
) -> bool:
    """Whether a bare surname is followed, on the same line, by a common given name not the
    entry's: the surname is someone's given name there (``Asad Umar``, ``Assad Ali``), or a
    namesake's in surname-first order (``Кадыров Иван``)."""
    if first + 1 >= len(text.words):
        return False
    after, gap = text.words[first + 1], text.masked[text.spans[first][2] : text.spans[first + 1][1]]
    if gap.strip(" \t\xa0") or not after.capitalized or after.surface.isupper():
        return False
    common = after.key in given or people.is_slavic_given_name(after.key)
    names = frozenset(k for k in own or () if len(k) > 2)  # not the particle of al-Assad
    return common and not _own_name(after.key, names)


_CUE_REACH = 3  # words a cue may stand before the surname: ``президент России Путин``
_CLAUSE_END = re.compile(r"[.!?;:()\[\]\n]")
# Case endings a Latin-script surname takes in Polish (Putina, Bidenowi, Macronem, Putinie),
# in key spelling: the other Slavic endings read Latin words as names (Galicia, Safari).
_LATIN_NAME_ENDINGS = frozenset({"a", "u", "ovi", "em", "e", "om", "ego", "emu"})
# Polish case endings of a surname in -a (Łukaszenka: Łukaszenki, Łukaszence; ę and ą fold to
# e and a), in key spelling (c is k: Łukaszence is lukashenke).
_LATIN_A_NAME_ENDINGS = frozenset({"i", "e"})
_SHORT_STEM = 5


def _latin_case_form(key: str, surname: str) -> bool:
    """Whether a Latin word (key) is a Polish case form of `surname` (key)."""
    if key.startswith(surname):
        return key[len(surname) :] in _LATIN_NAME_ENDINGS
    stem = surname[:-1]
    return (
        surname.endswith("a")
        and key.startswith(stem)
        and key[len(stem) :] in (_LATIN_A_NAME_ENDINGS)
    )


_OPENING_QUOTES = "«„“\"'‘"
_CLOSING_QUOTES = "»“”\"'’"
_OPENING = frozenset(_OPENING_QUOTES)


def _quoted_alone(text: _Text, index: int) -> bool:
    """Whether word `index` stands alone in quotes (``«Чайка»``; not ``«Лукашенко уйдёт»``)."""
    _, start, end = text.spans[index]
    before = text.masked[max(0, start - 2) : start].rstrip(" \xa0")[-1:]
    after = text.masked[end : end + 2].lstrip(" \xa0")[:1]
    return bool(before) and before in _OPENING_QUOTES and bool(after) and after in _CLOSING_QUOTES


def _bare_surname(
    pattern: Pattern, first: int, text: _Text, compiled: CompiledWatchlists
) -> str | None:
    """A surname the list does not name counts when capitalised, and the text (a title or
    rank before it) or the list (a title, a listed family) says the person is prominent. Where
    the surname may be something else, the item must also name the person's country: one that
    is a word of a news language opening a sentence (``Maduro``: ripe), and the surname of a
    person the list knows only by their children's aliases (``Peskov said``)."""
    # «Чайка», "Sokol": a title, a brand, a team (a person is not quoted so)
    if not _surname_form(text.words[first], pattern.slots[0]) or _quoted_alone(text, first):
        return None
    if first and people.is_namesake_calling(text.words[first - 1].lower):
        return None  # le chanteur Assad, striker Kadyrov: a namesake
    cue = _cue_before(first, text)
    if cue:
        return f"cue: {cue}"
    prominent = compiled.prominent.get(pattern.entry)  # "title: ...", "listed with 3 relatives"
    if prominent and not _word_of_the_language(pattern, first, text):
        return prominent
    if not prominent and not pattern.flags & Flag.FAMILY:
        return None
    # the item must say whose surname this is: Maduro (Spanish: ripe) opening a sentence, or
    # Peskov (known by his listed children, no title) are the listed person where the item
    # names their country; a namesake without either is anyone's
    country = _country_in_item(first, text, compiled.country_stems.get(pattern.entry))
    return f"{prominent or 'known by listed family'}; with: {country}" if country else None


def _surname_form(w: Word, slot: Slot) -> bool:
    """Whether `w` is the surname, capitalised, as written or in a Polish case form."""
    if not w.capitalized:
        return False
    if w.script != "latin" or w.key == slot.key or slot.key in w.foreign:
        return True
    # a short surname's case form that is a word or name of its own: Spanish Nuria is not
    # Nuri's genitive (Polish news writes Putina often enough to be frequent)
    short_word = len(slot.key) < _SHORT_STEM and lexicon.is_everyday_word(w.lower, w.norm)
    return _latin_case_form(w.key, slot.key) and not short_word


def _word_of_the_language(pattern: Pattern, first: int, text: _Text) -> bool:
    """Whether a bare surname at word `first` may be a word of the text's language there: a
    word of a news language (``Maduro``: Spanish for ripe) opening a sentence. An English
    possessive (``Maduro's``) is a name's."""
    if not pattern.flags & Flag.FOREIGN_WORD:
        return False
    start, end = text.spans[first][1:]
    return _sentence_initial(text.masked, start) and text.masked[end : end + 2] not in ("'s", "’s")


def _country_in_item(first: int, text: _Text, stems: tuple[str, ...] | None) -> str:
    """A word naming one of the entry's countries anywhere in the item but the surname."""
    if not stems:
        return ""
    for index, w in enumerate(text.words):
        if index != first and w.capitalized and w.key.startswith(stems):
            return w.surface
    return ""


def _cue_before(first: int, text: _Text) -> str:
    """A title, rank or honorific right before word `first` (``Russian President Putin``),
    or in Cyrillic with capitalised genitives between (``глава МИД России Лавров``); in Latin
    script a capitalised word between is a given name (``Senator Kamala Harris``)."""
    start = text.spans[first][1]
    for index in range(first - 1, max(-1, first - 1 - _CUE_REACH), -1):
        if _CLAUSE_END.search(text.masked, text.spans[index][2], start):
            return ""
        before = text.words[index]
        if people.is_cue(before.lower) or people.is_cue_key(before.key):
            return before.surface
        if before.script != "cyrillic" or not before.capitalized:
            return ""
    return ""


def _own_name(key: str, own: frozenset[str] | None) -> bool:
    """One of the entry's names, in some language's form (Сергій / Sergey, Michaił / Mikhail,
    Володимир / Vladimir); a short name only one letter apart (Bushra is not Bashar)."""
    allowed = 2 if len(key) >= 8 else 1
    return bool(own) and any(
        key[:1] == name[:1] and OSA.distance(key, name, score_cutoff=allowed) <= allowed
        for name in own or ()
    )


_SILENT = str.maketrans("", "", "aeiouyh")


def _j_skeleton(key: str) -> str:
    """A given name's consonants with Cyrillic дж, Latin j (key ``i``) and g as one sound, to
    tell a Cyrillic Дж- name's own Latin name (Джо: Joe, Джордж: George, Джон: John) from
    another (Джилл: Jill)."""
    key = key.replace("dzh", "j")
    key = f"j{key[1:]}" if key[:1] == "i" else key
    plain = key.replace("g", "j").replace("z", "s").translate(_SILENT)
    return re.sub(r"(.)\1+", r"\1", plain)


def _another_given_name(
    first: int, text: _Text, own: frozenset[str] | None, inflected: bool = False
) -> bool:
    """Whether the word before a bare surname is a given name not the entry's (``Lyudmila
    Putina``, ``Vladimir Kiriyenko`` for Sergei Kiriyenko): a relative or a namesake.

    A capitalised word right before it (only spaces between) is taken for a given name unless
    it is one of the entry's own names, an ordinary dictionary word (``President``,
    ``Yesterday``), a very frequent word of a news language (``Wczoraj``), a title, a
    possessive (``Russia's``), in capitals (a headline), or on another line. Russian and
    Ukrainian put capitalised genitives before names (``Речник Кремля Пєсков``, ``глава МИД
    России Лавров``), so there only a common given name counts (``Людмила Путина``). A
    particle (``al``, ``bin``, ``von``) in between is skipped: ``Bushra al-Assad``."""
    while first > 1 and people.is_particle(text.words[first - 1].lower):
        first -= 1
    before, raw = text.words[first - 1], text.spans[first - 1][0]
    gap = text.masked[text.spans[first - 1][2] : text.spans[first][1]]
    if gap.strip(" \t\xa0\u200b") or not before.capitalized or len(before.norm) < 2:
        return False
    if before.surface.isupper() or any(_own_name(k, own) for k in (before.key, *before.foreign)):
        return False  # (a Ukrainian form of the entry's own given name too: Олександра)
    if before.script == "cyrillic" and before.key.startswith("dzh"):
        # Дж- renders an English or Arabic J (G): Джилл is not Joe, even where Russian news
        # writes Джилл often enough to make it a word of the language; Джордж is George, and
        # a short form Joseph's (Джо), James's (Джим)
        skeleton = _j_skeleton(before.key)
        return not any(_j_skeleton(name).startswith(skeleton) for name in own or ())
    if before.script != "latin":
        return _cyrillic_given_name(before)
    return _latin_given_name(before, raw, text, first - 1, inflected)


def _latin_given_name(before: Word, raw: str, text: _Text, index: int, inflected: bool) -> bool:
    """`_another_given_name` for a capitalised Latin word (at word `index`)."""
    # a very frequent word of another language (Wczoraj, Heute), not a given name the world
    # writes (Vladimir, Maria: frequent in Portuguese or German news too)
    frequent = lexicon.is_frequent_word(before.lower)
    if frequent and not lexicon.is_english_news_word(before.lower, before.norm):
        return False
    if raw[-1:] in "sS" and raw[-2:-1] in "'’":
        return False
    if before.norm in _TITLES or lexicon.is_common_word(before.lower):
        return False
    if people.is_cue(before.lower):  # a title or rank (Ayatollah, Kremlchef, Präsident)
        return False
    if inflected and lexicon.is_foreign_word(before.lower):
        # a word of the language before a surname in a case form (Polish ``Doradcy Bidena``,
        # ``Krytycy Macrona``): a given name stands before the nominative (``Lucía Biden``)
        return not _sentence_initial(text.masked, text.spans[index][1])
    return not lexicon.is_dictionary_word(before.lower)


# Endings of Russian/Ukrainian adjectives and adjectival genitives (key spelling): a region or
# a body before a name (``губернатор Белгородской области``), never a given name.
_ADJECTIVE_ENDING = re.compile(r"(?:oi|aia|ogo|ego|omu|emu|ih|im|oe|ee)$")


def _cyrillic_given_name(before: Word) -> bool:
    """Whether a capitalised Cyrillic word before a surname is a given name: a common Russian
    or Ukrainian one (``Людмила Путина``), or a name news writes rarely enough not to be a
    word of the language and not shaped like an adjective or a title (``Джилл Байден``, ``Ахмата
    Кадырова``, ``Брижит Макрон``); not ``Кремля``, ``России``, ``Прэзідэнт``."""
    if any(map(people.is_slavic_given_name, (before.key, *stems(before.key)))):
        return True  # also in a case form: Сергія, Сергея (genitive), Олександром
    if people.is_cue(before.lower) or people.is_cue_key(before.key):
        return False
    if lexicon.is_known_word(before.lower, before.norm) or len(before.norm) < 3:
        return False
    return not _ADJECTIVE_ENDING.search(before.key)


@dataclass(slots=True)
class _Text:
    masked: str
    tokens: Tokens
    words: list[Word]
    # (word, words a name may reach) -> `_nicknames_beside`'s runs
    nicknames: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    # (first word, words) -> the text without them (`_without_words`)
    spliced: dict[tuple[int, int], _Text] = field(default_factory=dict)

    @property
    def spans(self) -> list[Span]:
        """(surface, start, end) of each word: worked out on first need (`Tokens`)."""
        return self.tokens.spans


# As many as `word` holds: a reload's new index finds the words read before it ready.
@lru_cache(maxsize=50_000)
def _forms(surface: str) -> tuple[Word, tuple[str, ...], bool]:
    """A token's `Word`, the keys it may stand for (its key and stems, and those of the Latin
    names a Cyrillic word may render: ``Байдена``, Biden), and whether it may be a typo of a
    name: capitalised, long, and no real word (a real word spelled right is no typo:
    ``Sachin``, ``garantía``). The same whatever the index: remembered across indexes."""
    w = word(surface)
    forms = (w.key, *stems(w.key))
    for foreign in w.foreign:
        forms += (foreign, *stems(foreign))
    typo = w.capitalized and len(w.key) >= 4 and not lexicon.is_known_word(w.lower, w.norm)
    return w, forms, typo


def _candidates(
    w: Word, forms: tuple[str, ...], typo: bool, compiled: CompiledWatchlists
) -> tuple[int, ...]:
    """Patterns anchored on a word this text word (its `_forms`) may stand for
    (`_read_token` remembers them per token)."""
    keys = _anchor_keys(w, forms, typo, compiled)
    if not keys:  # (most words)
        strict = compiled.strict_anchors.get(w.surface)
        return tuple(dict.fromkeys(strict)) if strict else ()
    numbers = [n for key in keys for n in compiled.anchors[key]]
    # A lower-case everyday word (``para``, ``more``) is that word, not a listed name
    # (``Parra``, ``MORYE``): only a name spelled exactly so may start there. Asked only
    # of a word that anchors something: most do not, and the word lists cost more.
    if numbers and not w.capitalized and lexicon.is_everyday_word(w.lower, w.norm):
        # Russian capitalises a name's first word only: as a word of a longer company
        # name («Газпром нефти»); in other scripts, nothing
        patterns = compiled.patterns
        numbers = [
            n
            for n in numbers
            if w.script == "cyrillic"
            and len(patterns[n].slots) > 1
            and patterns[n].gap != Gap.PERSON
        ]
    numbers.extend(compiled.strict_anchors.get(w.surface, ()))
    return tuple(dict.fromkeys(numbers))


def _anchor_score(pattern: Pattern, w: Word) -> int:
    """How well `w` fills the pattern's anchor slot (`accept`; -1: the pattern cannot be read
    there). It depends on the word alone: worked out once per token (`_read_token`)."""
    slot = pattern.slots[pattern.anchor]
    if pattern.gap == Gap.PERSON:
        if slot.surface[:1].isupper() and not w.capitalized:
            return -1  # people's names are written with capitals (Son-gwang: as listed)
        return accept(slot, w, org=False, caps=True)
    org = bool(pattern.flags & Flag.ORGANIZATION)
    return accept(slot, w, org=org, caps=len(pattern.slots) > 1)


def _anchor_keys(
    w: Word, forms: tuple[str, ...], typo: bool, compiled: CompiledWatchlists
) -> list[str]:
    anchors = compiled.anchors
    found = [form for form in forms if form in anchors]
    if typo and w.key[0] in compiled.fuzzy_keys:  # (typo: capitalised words only)
        deletes = compiled.deletions_for(w.key[0])
        near = set(deletes.get(w.key, ()))  # the text word lacks a letter
        for variant in deletions(w.key):
            near.update(deletes.get(variant, ()))  # a letter changed or two swapped
            if variant in anchors:
                near.add(variant)  # the text word has a letter too many
        near.discard(w.key)
        found.extend(sorted(near))
    return found


_NO_MATCH = (-1, 0, 0, "")


def _form(score: int) -> str:
    """How the weakest word differed from the name's (see `Match.form`)."""
    if score >= SCORE_EXACT:
        return ""
    if score == SCORE_KEY:
        return "transliteration"
    return "inflection" if score == SCORE_STEM else "typo"


def _verify(
    number: int, anchor_score: int, position: int, text: _Text, compiled: CompiledWatchlists
) -> tuple[int, int, int, str]:
    """(score, first word, last word, form) of pattern `number` with its anchor at word
    `position`, which fills the anchor slot with `anchor_score` (`_anchor_score`)."""
    pattern = compiled.patterns[number]
    if pattern.gap == Gap.PERSON:
        person = compiled.person_plans.get(number)
        if person is None:
            person = compiled.person_plans[number] = _Person(pattern)
        return _verify_person(pattern, person, anchor_score, position, text)
    first = position - pattern.anchor
    org = bool(pattern.flags & Flag.ORGANIZATION)
    gap = _GAPS[pattern.gap]
    if pattern.punct:
        gap = _with_punctuation(gap, pattern.punct)
    score = _sequence(pattern.slots, first, text, pattern.anchor, anchor_score, gap, org=org)
    if score < 0:
        return _NO_MATCH
    if len(pattern.slots) == 1 and not _plausible_single(pattern.slots[0], text, first, score):
        return _NO_MATCH
    if len(pattern.slots) == 1 and score < SCORE_EXACT and _respelled(pattern, text, first, score):
        return _NO_MATCH
    return score - pattern.penalty, first, first + len(pattern.slots) - 1, _form(score)


@lru_cache(maxsize=256)  # (a name's own punctuation is one of a few: ".", "-", "'", "&")
def _with_punctuation(rule: _GapRule, punct: str) -> _GapRule:
    return rule._replace(allowed=rule.allowed + punct) if punct else rule


def _gap_fits(text: _Text, index: int, rule: _GapRule) -> bool:
    """Whether what stands between word `index - 1` and word `index` keeps them one name."""
    gap = text.tokens.gaps[index]  # (after any possessive 's)
    if len(gap) == 1:
        return gap.isspace() or gap in rule.allowed
    if gap.count("\n") > 1:
        return False
    punctuation = [c for c in gap if not c.isspace() and c != "\u200b"]
    if len(punctuation) > _MAX_PUNCTUATION or (rule.required and rule.required not in gap):
        return False
    return all(c in rule.allowed for c in punctuation)


def _sequence(
    slots: Sequence[Slot],
    first: int,
    text: _Text,
    anchor: int,
    anchor_score: int,
    *gaps: _GapRule,
    org: bool = False,
) -> int:
    """The weakest word score of `slots` read from word `first` on (-1: not there), the
    anchor slot filled with `anchor_score`. `gaps[i]` is the gap rule before slot i + 1
    (the last rule repeats). Words beside an anchor spelled right (no typo) may be another
    language's form of the name even if they are real words (``Aleksandr`` for
    ``Alexander``): the anchor vouches for the name."""
    if first < 0 or first + len(slots) > len(text.words):
        return -1
    caps = len(slots) > 1
    score, vouched = anchor_score, anchor_score >= SCORE_STEM
    words, between, last_rule = text.words, text.tokens.gaps, len(gaps) - 1
    for offset, slot in enumerate(slots):
        index = first + offset
        # (one space, the most common gap, fits every rule: asked without a call)
        gap = between[index]
        if offset and gap != " " and not _gap_fits(text, index, gaps[min(offset - 1, last_rule)]):
            return -1
        if offset == anchor:
            continue
        slot_score = accept(slot, words[index], lenient=vouched, org=org, caps=caps)
        if slot_score < 0:
            return -1
        score = min(score, slot_score)
    return score


# The ways a person's name is written, for n given names: which slots in which order (n is
# the surname, n + 1 and n + 2 the initials slots, n + 3 the patronymic slot), the gap rules
# between them, the score penalty, and the kind of reading (for `_names_allow`).
_Reading = tuple[tuple[int, ...], tuple[_GapRule, ...], int, str]
# Match.form of each kind of reading
_READING_FORMS = {
    "in order": "",
    "list order": "list-order",
    "no patronymic": "no-middle-name",
    "list order, no patronymic": "list-order,no-middle-name",
    "with patronymic": "patronymic",
    "middle initial": "middle-initial",
    "initials": "initials",
}
PATRONYMIC = re.compile(r"(?:ovich|evich|ich|ovna|evna|ichna|inichna|ogli|kizi)$")


def _readings(n: int) -> list[_Reading]:
    plain, comma, dot = _GAPS[Gap.PLAIN], _GAPS[Gap.COMMA], _GAPS[Gap.DOT]
    given = tuple(range(n))
    readings: list[_Reading] = [
        ((*given, n), (plain,), 0, "in order"),  # Vladimir Vladimirovich Putin
        ((n, *given), (comma, plain), 2, "list order"),  # PUTIN, Vladimir / LAVROV Sergey
    ]
    if n > 1:
        readings += [
            ((0, n), (plain,), 3, "no patronymic"),  # Vladimir Putin
            ((n, 0), (comma,), 4, "list order, no patronymic"),  # PUTIN, Vladimir
        ]
    else:  # a patronymic the list leaves out: Alexander Valentinovich Novak
        readings += [((0, n + 3, n), (plain,), 1, "with patronymic")]
    readings += [
        ((0, n + 2, n), (plain, dot), 1, "middle initial"),  # Vladimir V. Putin
        ((n + 1, n + 2, n), (dot,), 6, "initials"),  # V.V. Putin
        ((n + 1, n), (dot,), 6, "initials"),  # V. Putin
    ]
    return readings


class _Plan(NamedTuple):
    """A reading as `_verify_person` walks it, for a given anchor slot."""

    order: tuple[int, ...]  # the slots in the order the text has them
    at: int  # the anchor's place in `order`
    gaps: tuple[_GapRule, ...]
    penalty: int
    kind: str
    initials: int  # how many initials slots
    before: int  # the slot just before the anchor, -1 if none
    list_order: bool  # whether the text must write it as a list does (`_list_order_written`)
    pick: Callable[[tuple[Slot, ...]], tuple[Slot, ...]]  # the pattern's slots in `order`


@lru_cache(maxsize=256)
def _reading_plan(n: int, anchor: int) -> tuple[_Plan, ...]:
    """The readings of a name of `n` given names that hold its anchor slot."""
    plans = []
    for order, gaps, penalty, kind in _readings(n):
        if anchor in order:
            at = order.index(anchor)
            initials = sum(i > n for i in order)
            before = order[at - 1] if at else -1
            list_order = kind.startswith("list order")
            pick = itemgetter(*order)  # (every reading has two slots or more: a tuple)
            plans.append(_Plan(order, at, gaps, penalty, kind, initials, before, list_order, pick))
    return tuple(plans)


@lru_cache(maxsize=8192)
def _person_plans(anchor: int, punct: str, given: tuple[Slot, ...]) -> tuple[_Plan, ...]:
    """The readings of a person's name (its anchor slot, its own punctuation, its given
    names) that its names allow (`_names_allow`), the name as listed with its punctuation.
    Worked out once per name (many patterns share one), and remembered per pattern
    (`CompiledWatchlists.person_plans`), not for each word the name is tried on."""
    plans = []
    for plan in _reading_plan(len(given), anchor):
        if _names_allow(plan.kind, given, plan.initials):
            gaps = plan.gaps
            if plan.kind == "in order" and punct:
                gaps = tuple(_with_punctuation(g, punct) for g in gaps)
            plans.append(plan._replace(gaps=gaps))
    return tuple(plans)


class _Person:
    """What reading a person's pattern needs that depends on the pattern alone, worked out
    on its first use in an index (`CompiledWatchlists.person_plans`)."""

    __slots__ = ("_viable", "own_words", "plans")

    def __init__(self, pattern: Pattern) -> None:
        given = pattern.slots[: len(pattern.slots) - 4]
        self.plans = _person_plans(pattern.anchor, pattern.punct, given)
        self.own_words = frozenset(slot.key for slot in given)  # (``bin``, ``al``, ``de``)
        self._viable: list[tuple[_Plan, ...] | None] = [None] * len(_RULED_OUT)

    def viable(self, ruled_out: int, every: tuple[Slot, ...]) -> tuple[_Plan, ...]:
        """The readings without those that need a slot of a mode the word before the anchor
        rules out (`_ruled_out_before`; `every`: the pattern's slots): most words before a
        surname are no initial and no patronymic, and their readings are not tried."""
        viable = self._viable[ruled_out]
        if viable is None:
            modes = _RULED_OUT[ruled_out]
            viable = tuple(
                p for p in self.plans if p.before < 0 or every[p.before].mode not in modes
            )
            self._viable[ruled_out] = viable
        return viable


def _name_word_at(index: int, person: _Person, text: _Text) -> bool:
    """Whether word `index` may be part of the person's name: capitalised, or one of the
    name's own lower-case words (``bin``, ``al``, ``de``)."""
    if not 0 <= index < len(text.words):
        return False
    w = text.words[index]
    return w.capitalized or w.key in person.own_words


def _verify_person(
    pattern: Pattern,
    person: _Person,
    anchor_score: int,
    position: int,
    text: _Text,
    *,
    nicknames: bool = True,
) -> tuple[int, int, int, str]:
    """The best reading of a person's name (`person`: its readings) with its anchor word at
    `position`, which fills the anchor slot with `anchor_score` (`nicknames`: also with a
    quoted nickname between its words)."""
    n = len(pattern.slots) - 4
    before_anchor = text.words[position - 1] if position else None
    if not (
        (before_anchor is not None and before_anchor.capitalized)  # (most often: asked first)
        or _name_word_at(position - 1, person, text)
        or _name_word_at(position + 1, person, text)
    ):
        return _NO_MATCH  # every reading has a name word beside the anchor
    ruled_out = 0 if before_anchor is None else _ruled_out_before(before_anchor)
    every = pattern.slots
    words = len(text.words)
    # (unpacked: a NamedTuple's fields read by name cost a call each, on the hottest loop)
    for order, at, gaps, penalty, kind, _, _, list_order, pick in person.viable(ruled_out, every):
        first = position - at
        # Cheap checks first: most readings fail on how a list order is written (no comma,
        # no capitals).
        if first < 0 or first + len(order) > words:
            continue  # the reading runs off the text
        if list_order and not _list_order_written(first, text):
            continue
        score = _sequence(pick(every), first, text, at, anchor_score, *gaps)
        if score >= 0:
            form = ",".join(f for f in (_READING_FORMS[kind], _form(score)) if f)
            return score - penalty, first, first + len(order) - 1, form
    if not nicknames:
        return _NO_MATCH
    runs = _nicknames_beside(position, n, text)
    if not runs:
        return _NO_MATCH
    return _without_nickname(pattern, person, anchor_score, position, text, runs=runs)


# The special slot modes a word before the anchor cannot fill (what `accept` needs of an
# initial and of a patronymic), by `_ruled_out_before`
_RULED_OUT: tuple[frozenset[int], ...] = (
    frozenset(),
    frozenset({Mode.PATRONYMIC}),
    frozenset({Mode.INITIAL}),
    frozenset({Mode.INITIAL, Mode.PATRONYMIC}),
)


def _ruled_out_before(before: Word) -> int:
    """Which of `_RULED_OUT` the word before the anchor rules out: 0 for an initial, 2 for
    another capitalised word (most words before a surname), 1 or 3 if not capitalised."""
    initial = len(before.norm) == 1 and before.surface.isupper()
    return (0 if initial else 2) + (0 if before.capitalized else 1)


_NICKNAME_WORDS = 3  # words a quoted nickname between two words of a name may have


def _without_nickname(
    pattern: Pattern,
    person: _Person,
    anchor_score: int,
    position: int,
    text: _Text,
    *,
    runs: list[tuple[int, int]],
) -> tuple[int, int, int, str]:
    """The person's name read as if a quoted nickname of one to three words right before or
    after the anchor were not there (``Joaquin "El Chapo" Guzman``, ``Рамзан «Дон» Кадыров``):
    only quotes and spaces around it, no sentence end or other punctuation (`runs`: the
    quoted runs beside the anchor, `_nicknames_beside`)."""
    for first, words in runs:
        spliced = _without_words(text, first, words)
        anchor = position if position < first else position - words
        score, begin, last, form = _verify_person(
            pattern, person, anchor_score, anchor, spliced, nicknames=False
        )
        if score >= 0 and begin < first <= last:  # the nickname stands inside the name
            return score, begin, last + words, ",".join(f for f in (form, "nickname") if f)
    return _NO_MATCH


def _without_words(text: _Text, first: int, words: int) -> _Text:
    """The text with words `first`..`first + words - 1` blanked out, from the end of the word
    before them to the start of the next (remembered per text: names anchored on one word
    try the same)."""
    spliced = text.spliced.get((first, words))
    if spliced is None:
        start, end = text.spans[first - 1][2], text.spans[first + words][1]
        spliced = text.spliced[first, words] = _Text(
            text.masked[:start] + " " * (end - start) + text.masked[end:],
            text.tokens.without(first, words),
            text.words[:first] + text.words[first + words :],
        )
    return spliced


def _nicknames_beside(position: int, reach: int, text: _Text) -> list[tuple[int, int]]:
    """(first word, words) of each quoted run of words after or before word `position`,
    at most `reach` name words away, with a word on its other side. Remembered per text:
    every name anchored on one word asks the same."""
    found = text.nicknames.get((position, reach))
    if found is None:
        found = text.nicknames[position, reach] = _quoted_runs_beside(position, reach, text)
    return found


def _quoted_runs_beside(position: int, reach: int, text: _Text) -> list[tuple[int, int]]:
    found = []
    gaps, last = text.tokens.gaps, len(text.words) - 1
    for words in range(1, _NICKNAME_WORDS + 1):
        for away in range(reach):
            for first in (position + 1 + away, position - words - away):
                # (a quote right before the word, asked first: most words have none)
                opened = first > 0 and first + words <= last and gaps[first][-1:] in _OPENING
                if opened and _quoted_run(text, first, words):
                    found.append((first, words))
    return found


def _quoted_run(text: _Text, first: int, words: int) -> bool:
    """Whether words `first`..`first + words - 1` stand in quotes with only spaces around
    the quotes and between the words (no possessive ending: ``'s`` is no space)."""
    tokens = text.tokens
    if any(tokens.has_ending(index) for index in range(first - 1, first + words)):
        return False
    gaps = tokens.gaps
    if not (_quote_between(gaps[first], _OPENING_QUOTES, opening=True)):
        return False
    if not _quote_between(gaps[first + words], _CLOSING_QUOTES, opening=False):
        return False
    return all(gaps[index].isspace() for index in range(first + 1, first + words))


def _quote_between(gap: str, quotes: str, *, opening: bool) -> bool:
    """``' "'`` before a nickname, ``'" '`` after it: one quote, a space on the outer side."""
    stripped = gap.strip()
    if len(stripped) != 1 or stripped not in quotes:
        return False
    outer, inner = (gap[0], gap[-1]) if opening else (gap[-1], gap[0])
    return outer.isspace() and not inner.isspace()


def _list_order_written(first: int, text: _Text) -> bool:
    """List order needs a comma or a surname in capitals (``PUTIN Vladimir``, never
    ``... Núñez Juan ...``); the surname is word `first`."""
    surname = text.words[first].surface
    comma = "," in text.tokens.gaps[first + 1]  # (a possessive ending has none)
    return comma or (surname.isupper() and len(surname) > 1)


def _names_allow(kind: str, given: Sequence[Slot], initials: int) -> bool:
    """Leaving names out is only for a patronymic or middle initial (``Vladimir Putin`` for
    ``Vladimir Vladimirovich Putin``, but ``Mohammad Ismail`` is not ``Mohamad Hassan
    Ismail``). Depends on the name only: `_person_plans` asks once per name."""
    if kind.endswith("no patronymic"):
        return _droppable(given[1:]) and given[0].mode == Mode.FULL
    if kind == "middle initial":  # Vladimir V. Putin: the initial stands for the second name
        return _droppable(given[2:])
    if kind == "initials":  # V. Putin: the names after the initials must be droppable
        return _droppable(given[2:] if len(given) > 1 and initials == 2 else given[1:])
    return True


def _droppable(left_out: Sequence[Slot]) -> bool:
    return all(len(s.norm) == 1 or PATRONYMIC.search(s.key) for s in left_out)


_PLAIN_MODES = frozenset({Mode.KEY, Mode.FULL})


def accept(
    slot: Slot, w: Word, *, lenient: bool = False, org: bool = False, caps: bool = False
) -> int:
    """How well text word `w` fills `slot` (-1: not at all). `lenient`: a word beside the
    anchor of a longer name, which may be a typo even if it is a real word; `org`: a
    company's name, which a real word merely sounding alike is not (``Alpha`` for ``Alfa``);
    `caps`: a phrase of everyday words may also be written in capitals (``ALFA-BANK``)."""
    if slot.mode not in _PLAIN_MODES:
        return _accept_special(slot, w, caps)
    if w.key == slot.key:
        return _accept_spelling(slot, w, org)
    if w.foreign and slot.script == "latin":
        # Михаила may render "Mihila" or be Mikhail's genitive: either reading may fit
        foreign = _accept_foreign(slot, w)
        if foreign >= 0:
            return foreign
    return _accept_variant(slot, w, lenient) if slot.mode == Mode.FULL else -1


def _accept_special(slot: Slot, w: Word, caps: bool) -> int:
    """`accept` for the slots that are no plain name word: case-exact, initials, patronymics,
    a person's name that is an English word."""
    if slot.mode == Mode.STRICT:
        upper = caps and w.surface.isupper() and w.surface == slot.surface.upper()
        return SCORE_EXACT if w.surface == slot.surface or upper else -1
    if slot.mode == Mode.INITIAL:
        single = len(w.norm) == 1 and w.surface.isupper()
        return SCORE_EXACT if single and w.key.startswith(slot.key) else -1
    if slot.mode == Mode.PATRONYMIC:
        return SCORE_EXACT if w.capitalized and PATRONYMIC.search(w.key) else -1
    if slot.mode == Mode.TITLE:
        if w.surface == slot.surface or w.surface == slot.surface.capitalize():
            return SCORE_EXACT
        small = w.surface.islower() and w.norm in _SMALL_WORDS  # Post Bank of Iran
        return SCORE_EXACT if small and w.surface == slot.surface.lower() else -1
    return _accept_person_word(slot, w, caps)


# Words a capitalised name keeps in lower case (``Post Bank of Iran``, ``Banco de la Nación``)
_SMALL = "of the and for de del la el do da der des du in"
_SMALL_WORDS = frozenset(_SMALL.split())


# Polish case endings of a Latin-script name, in key spelling (Trumpa, Trumpowi, Trumpem)
_POLISH_NAME_ENDINGS = frozenset({"a", "u", "ovi", "em", "e", "ie", "om"})


def _accept_person_word(slot: Slot, w: Word, caps: bool) -> int:
    """A person's one-word name that is also an English word (``Trump``): as written, in
    Polish case forms that are no English word (``Trumpem``), or in Cyrillic (``Трампа``)."""
    if w.surface == slot.surface or (caps and w.surface == slot.surface.upper()):
        return SCORE_EXACT
    if not w.capitalized:
        return -1
    if w.script == "cyrillic":
        return _accept_foreign(slot, w)
    inflected = w.key.startswith(slot.key) and w.key[len(slot.key) :] in _POLISH_NAME_ENDINGS
    return SCORE_STEM if inflected and not lexicon.is_dictionary_word(w.lower) else -1


def _accept_foreign(slot: Slot, w: Word) -> int:
    """A Latin name as Russian or Ukrainian write it (``Байден``, ``Байдена``: Biden;
    ``Трампом``: Trump, inflected as Russian inflects it even where the Latin name is an
    English word)."""
    if slot.key in w.foreign:
        return SCORE_KEY
    inflected = any(slot.key in stems(foreign) for foreign in w.foreign)
    return SCORE_STEM if inflected and slot.mode != Mode.STRICT else -1


def _accept_spelling(slot: Slot, w: Word, org: bool) -> int:
    """Same key: the same spelling, or another romanisation (not a real word, for companies)."""
    if w.norm == slot.norm:
        return SCORE_EXACT
    if org and lexicon.is_dictionary_word(w.lower):  # Alpha Bank is not Альфа-Банк/Alfa-Bank
        return -1
    return SCORE_KEY


def _accept_variant(slot: Slot, w: Word, lenient: bool) -> int:
    """An inflected form, or a typo in a long word that is not itself a real word."""
    inflected = stems(w.key)
    if (
        slot.key in inflected
        or (slot.stem and slot.stem in inflected and stem_fits(slot, w.key))
        or (lenient and _short_feminine_form(slot.key, w.key))
    ):
        return SCORE_STEM
    if not slot.max_edits or not w.capitalized:
        return -1
    allowed = slot.max_edits
    if lenient and len(slot.key) >= 6:
        # a given name beside a matched surname, in another language's form: Aleksandr /
        # Alexander, Олександр / Александр, Володимир / Vladimir; two letters apart only in
        # a long name (Bushra is not Bashar, nor Miguel Manuel)
        allowed = 2 if len(slot.key) >= 8 else 1
    elif w.key[:1] != slot.key[:1] or w.script != slot.script:
        return -1  # a typo on top of a transliteration is too loose
    elif lexicon.is_known_word(w.lower, w.norm):
        return -1
    forms = (w.key, *stems(w.key)) if lenient else (w.key,)  # Володимира: volodimir(a)
    edits = min(OSA.distance(form, slot.key, score_cutoff=allowed) for form in forms)
    return SCORE_TYPO[edits] if edits <= allowed else -1


# Case endings of a short feminine given name (key spelling): Елены, Елене, Еленой, Марии.
_FEMININE_ENDINGS = frozenset({"i", "e", "u", "oi", "ei", "iu", "iei", "ie"})


def _short_feminine_form(name: str, key: str) -> bool:
    """A case form of a short -a given name (``Елена``: ``Елены``; ``Мария``: ``Марии``),
    too short for the stems a longer name's forms share (only beside a matched surname)."""
    if len(name) > 5 or not name.endswith("a"):
        return False
    base = name[:-2] if name.endswith("ia") else name[:-1]
    return len(base) >= 3 and key.startswith(base) and key[len(base) :] in _FEMININE_ENDINGS


def _respelled(pattern: Pattern, text: _Text, index: int, score: int) -> bool:
    """A one-word name that must be spelled as listed (a person's one-word alias: ``Hassan``),
    or a company's one-word name met respelled as a word of some news language (``Fénix`` is
    not ``FENIKS``, ``Únete`` not ``UNIJET``)."""
    if pattern.flags & Flag.EXACT_ONLY:
        return True
    w = text.words[index]
    if pattern.flags & Flag.CORE:
        # one word left of a company's name: in Latin script as listed or respelled as no
        # word (German ``Sowcomflot``), not as a word or name the news writes (``Ajax`` is
        # not AYAKS, ``Atlanta`` not ATLANT); in Cyrillic, not a word of the language
        # («Звезда», «в Альянсе»), unless a compound with a business word (Сбербанка)
        if w.script != "cyrillic":
            return lexicon.is_known_word(w.lower, w.norm)
        return not pattern.flags & Flag.COMPOUND and _cyrillic_everyday(w.lower)
    if pattern.flags & Flag.ORGANIZATION and _guessed_rendering(pattern.slots[0], w):
        # as in Latin script, a company's name guessed from a word of the language is that
        # word: «Чайка» (seagull) may render CHIKA'S as Байден renders Biden, but is not it
        return _cyrillic_everyday(w.lower)
    if not pattern.flags & Flag.ORGANIZATION or w.script != "latin":
        return False  # the name in Cyrillic, inflected or not (``ХАМАС``, ``Роснефти``)
    return lexicon.is_foreign_word(w.lower)  # Hezbollah, frequent in English too, is a name


def _guessed_rendering(slot: Slot, w: Word) -> bool:
    """Whether a Cyrillic word meets a Latin name only as Russian renders English sounds (ai
    for a long i, a for a short u, ц for z), not by its plain transliteration (Газпром,
    Роснефти) nor an Arabic name's -llah (Хезболла)."""
    if w.script != "cyrillic" or slot.script != "latin":
        return False
    plain = w.key == slot.key or slot.key in stems(w.key)
    return not plain and "лл" not in w.norm


_CYRILLIC_ENDINGS = (
    "ами",
    "ями",
    "ом",
    "ем",
    "ой",
    "ей",
    "ах",
    "ях",
    "ов",
    "ев",
    "а",
    "я",
    "у",
    "ю",
    "е",
    "ы",
    "и",
)


def _cyrillic_everyday(lower: str) -> bool:
    """Whether a Cyrillic word, or it without a case ending, is an everyday word."""
    forms = [lower, *(lower[: -len(e)] for e in _CYRILLIC_ENDINGS if lower.endswith(e))]
    return any(lexicon.is_everyday_word(form) for form in forms if len(form) >= 3)


def _plausible_single(slot: Slot, text: _Text, index: int, score: int) -> bool:
    """Extra care for one-word names, the ones everyday words collide with.

    * a lower-case word must be the name itself (``rosneft``), not a near form of it;
    * an English word that merely sounds like the name in the same script is that word
      (``Knock`` is not ``CNOOC``);
    * an English word at a sentence start must be spelled as the name;
    * a hit in the other script (a Latin-only name in Cyrillic text) must be capitalised."""
    if slot.mode == Mode.STRICT:
        return True
    w = text.words[index]
    if not w.capitalized:
        return score == SCORE_EXACT and not lexicon.is_everyday_word(w.lower, w.norm)
    if score == SCORE_EXACT:
        return True
    cross_script = {slot.script, w.script} == {"latin", "cyrillic"}
    if score == SCORE_KEY and not cross_script and lexicon.is_dictionary_word(w.lower):
        return False
    # A sentence-initial capital says nothing; inflected Cyrillic names on a Cyrillic list
    # (``Роснефти удалось...``) are still trusted there.
    doubtful = cross_script or w.script != "cyrillic"
    if doubtful and lexicon.is_dictionary_word(w.lower):
        return not _sentence_initial(text.masked, text.spans[index][1])
    return True


def _sentence_initial(text: str, start: int) -> bool:
    """Whether `start` opens a sentence, a line or the text (the title and body are lines)."""
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_END or "\n" in text[len(before) : start]


# --- cleaning ------------------------------------------------------------------------------


def _corroborate(
    mentions: list[_Mention], text: _Text, compiled: CompiledWatchlists
) -> list[_Mention]:
    """Acronyms and generic names kept only beside another of the entry's names, an entry
    linked to it, or a mention of its country (``IRGC`` with ``Iran``; ``Revolutionary
    Guard`` with ``Iran's``; ``FSB`` with its director ``Bortnikov``)."""
    if not any(m.corroborate for m in mentions):
        return mentions
    named = {m.entry for m in mentions if not m.corroborate}
    needing: dict[int, list[_Mention]] = {}
    for m in mentions:
        if m.corroborate and m.entry not in named:
            needing.setdefault(m.entry, []).append(m)
    named.update(entry for entry, found in needing.items() if _two_names(found))
    kept = []
    for m in mentions:
        if not m.corroborate:
            kept.append(m)
        elif m.entry in named:
            kept.append(replace(m, evidence="with another of its names"))
        elif evidence := _corroboration(m, named, text, compiled):
            kept.append(replace(m, evidence=f"with: {evidence}"))
    return kept


def _two_names(mentions: list[_Mention]) -> bool:
    """Whether two names of one entry stand apart among its mentions (the name and its
    acronym vouch for each other), not two listed spellings read in the same words
    (``Naim Qassem`` is both ``Naim Qassem`` and ``Naim Kassem``) nor one name twice."""
    return any(
        a.alias != b.alias and (a.end <= b.start or b.end <= a.start)
        for i, a in enumerate(mentions)
        for b in mentions[i + 1 :]
    )


def _corroboration(m: _Mention, named: set[int], text: _Text, compiled: CompiledWatchlists) -> str:
    """What in the item vouches for an acronym or generic name ("" for nothing): a word of
    another of its names, an entry the list links to it, talk of terrorism (a group listed
    for it), or its country."""
    if m.corroborate & Flag.WEAK:
        return ""
    vouching = _vouching_word(m, text, compiled.vouching_words.get(m.entry))
    if vouching:
        return vouching
    linked = compiled.linked.get(m.entry, frozenset()) & named
    if linked:
        return compiled.entries[min(linked)].name
    if _armed_group_acronym(m, compiled) and (talk := _terror_near(m, text)):
        return talk
    if m.entry not in compiled.country_stems:
        return ""
    stems = compiled.country_stems[m.entry]
    country = _country_near(m, text, stems, _in_tags(text.masked, m.start))
    if not country and m.rule == "acronym":
        country = _country_in_sentence(m, text, stems)
    if not country and _coined_word(m, text.masked):
        country = _word_among(text, 0, len(text.words), m, stems)  # anywhere
    return country


_COUNTRY_REACH = 8  # words between a generic name or acronym and its country


# Words of terrorism and armed struggle in the news languages (key spelling of their starts):
# an acronym of a group listed for terrorism beside them is that group (``la banda terrorista
# ETA``), wherever its country goes unnamed.
_TERROR_WORDS = """terror terroryst террор терор jihad yihad djihad dschihad dzhihad джихад
    militant militan insurg insurrect guerril guerill боевик бойовик extremis ekstremi
    экстремист екстреміст separatis separatys сепаратист"""
_TERROR_KEYS = tuple(dict.fromkeys(word(w).key for w in _TERROR_WORDS.split()))
_TERROR_REACH = 20  # words either side: the sentence before or after may carry it


def _armed_group_acronym(m: _Mention, compiled: CompiledWatchlists) -> bool:
    """An acronym of three letters or more (not ``SL``, ``HM``) of a group listed for
    terrorism with no country to corroborate it."""
    return m.rule == "acronym" and len(m.alias) >= 3 and m.entry in compiled.armed_groups


_START = itemgetter(1)  # of a span: the words are in text order, so spans bisect by it


def _terror_near(m: _Mention, text: _Text) -> str:
    """A word of terrorism or armed struggle within a few sentences' words of the mention."""
    at = bisect_left(text.spans, m.start, key=_START)
    low, high = max(0, at - _TERROR_REACH), min(len(text.words), at + _TERROR_REACH)
    return _word_among(text, low, high, m, _TERROR_KEYS)


def _in_tags(masked: str, offset: int) -> bool:
    """Whether `offset` stands in the item's tag line (``Tags: Russia · ...``)."""
    line = masked.rfind("\n", 0, offset) + 1
    return masked.startswith(TAGS_LABEL, line)


def _vouching_word(m: _Mention, text: _Text, keys: frozenset[str] | None) -> str:
    """A distinctive word of another of the entry's names anywhere in the item, in any case
    form (``ETA`` ... ``Batasunan``): the item is about that entity."""
    if not keys:
        return ""
    for (_, start, _), w in zip(text.spans, text.words, strict=True):
        if m.start <= start < m.end:
            continue
        if w.capitalized and (w.key in keys or not keys.isdisjoint(stems(w.key))):
            return w.surface
    return ""


def _country_near(m: _Mention, text: _Text, stems: tuple[str, ...], tag: bool = False) -> str:
    """A word naming the country within a few words of the mention (``Iran's Revolutionary
    Guard``, ``the Russian Ministry of Finance``, ``Ministerio del Interior cubano``): the
    Ministry of Finance in an article that names Russia elsewhere may be Ukraine's. A tag
    is about the whole item: its country may stand anywhere in it (``Tags: Russia · ... ·
    Federal Security Service``)."""
    at = bisect_left(text.spans, m.start, key=_START)
    low, high = max(0, at - _COUNTRY_REACH), min(len(text.words), at + _COUNTRY_REACH + 4)
    if tag:
        low, high = 0, len(text.words)
    return _word_among(text, low, high, m, stems)


def _word_among(text: _Text, low: int, high: int, m: _Mention, starts: tuple[str, ...]) -> str:
    """The first of words `low`..`high - 1`, outside the mention, whose key starts with one
    of `starts` (a country's stems, the words of terrorism), as written."""
    spans, words = text.spans, text.words
    for index in range(low, high):
        surface, start, _ = spans[index]
        if not m.start <= start < m.end and words[index].key.startswith(starts):
            return surface
    return ""


_MIN_COINED = 6  # letters of a company's one coined word that the whole item may vouch for


def _coined_word(m: _Mention, masked: str) -> bool:
    """A company found by its one distinctive word (``Rostec``, ``Rosoboronexport``), long
    enough that a country named anywhere in the item vouches for it; not a short one such as
    ``Abros`` (AniCura Abros Hospital), which needs the country beside it."""
    found = masked[m.start : m.end]
    return m.rule == "short-form" and len(found) >= _MIN_COINED and not _SPACE.search(found)


_SENTENCE_BREAK = re.compile(r"[.!?\n]\s")


def _country_in_sentence(m: _Mention, text: _Text, stems: tuple[str, ...]) -> str:
    """A word naming the country in the acronym's sentence, however far (``The IRGC said its
    navy ... as Iran held war games``): an acronym is no generic name that another country's
    body could bear, so its sentence is close enough."""
    masked, spans = text.masked, text.spans
    breaks = [b.start() for b in _SENTENCE_BREAK.finditer(masked)]
    at = bisect_left(breaks, m.start)
    low = breaks[at - 1] if at else 0
    high = breaks[at] if at < len(breaks) else len(masked)
    first, last = bisect_left(spans, low, key=_START), bisect_left(spans, high, key=_START)
    return _word_among(text, first, last, m, stems)


def _drop_contained(mentions: list[_Mention]) -> list[_Mention]:
    """A name inside a longer mention of another entry is part of that name, not a mention
    (``Gazprom`` inside ``Gazprom Neft``)."""
    if len({m.entry for m in mentions}) < 2:
        return mentions
    by_length = sorted(mentions, key=lambda m: m.start - m.end)
    kept: list[_Mention] = []
    for m in by_length:
        inside_other = any(
            k.entry != m.entry
            and k.start <= m.start
            and m.end <= k.end
            and k.end - k.start > m.end - m.start
            for k in kept
        )
        if not inside_other:
            kept.append(m)
    return kept


def _overlaps(m: _Mention, spans: list[tuple[int, int]]) -> bool:
    return any(start < m.end and m.start < end for start, end in spans)


def _phrase_spans(regex: re.Pattern[str], masked: str) -> list[tuple[int, int]]:
    return [found.span() for found in regex.finditer(masked.replace("\u200b", " "))]


def _excluded(m: _Mention, masked: str, compiled: CompiledWatchlists) -> bool:
    regex = compiled.excludes.get(m.entry)
    return regex is not None and _overlaps(m, _phrase_spans(regex, masked))


def _apply_ignores(
    mentions: list[_Mention], masked: str, compiled: CompiledWatchlists
) -> tuple[list[_Mention], dict[IgnoreRule, list[_Mention]]]:
    if not compiled.ignores:
        return mentions, {}
    kept: list[_Mention] = []
    suppressed: dict[IgnoreRule, list[_Mention]] = {}
    phrase_spans: dict[int, list[tuple[int, int]]] = {}
    for m in mentions:
        entry = compiled.entries[m.entry]
        for number, ignore in enumerate(compiled.ignores):
            rule = ignore.rule
            if rule.entry and rule.entry not in (entry.key, entry.id):
                continue
            if ignore.phrase is not None:
                if number not in phrase_spans:
                    phrase_spans[number] = _phrase_spans(ignore.phrase, masked)
                if not _overlaps(m, phrase_spans[number]):
                    continue
            suppressed.setdefault(rule, []).append(m)
            break
        else:
            kept.append(m)
    return kept, suppressed


# --- merging -------------------------------------------------------------------------------


def _merge(
    mentions: list[_Mention], text: str, masked: str, compiled: CompiledWatchlists
) -> list[Match]:
    """One `Match` per entry: its best mention, with the count of distinct mentions."""
    by_entry: dict[int, list[_Mention]] = {}
    for m in mentions:
        by_entry.setdefault(m.entry, []).append(m)
    merged = []
    for number, group in by_entry.items():
        clusters = _clusters(group)
        best = max(clusters, key=lambda m: (m.score, m.end - m.start, -m.start))
        entry = compiled.entries[number]
        merged.append(
            Match(
                list_name=entry.list_name,
                entry_id=entry.id,
                name=entry.name,
                type=entry.type,
                severity=entry.severity,
                programs=entry.programs,
                alias=best.alias,
                rule=best.rule,
                evidence=best.evidence,
                form=best.form,
                text=text[best.start : best.end],
                start=best.start,
                end=best.end,
                score=best.score,
                snippet=snippet(masked, best.start, best.end),
                mentions=len(clusters),
            )
        )
    merged.sort(key=lambda m: (-m.severity.rank, -m.score, m.start))
    return merged


_SHORTENED = "no-middle-name"


def _one_reading(matches: list[Match], sons: dict[str, str]) -> list[Match]:
    """Where words match several entries, the ones they name: the listed name over another
    entry's news spelling read loosely (``Банк Россия`` is Bank Rossiya, not ``Банк России``,
    the Bank of Russia), and people told apart (`_told_apart`)."""
    listed = {(m.start, m.end) for m in matches if m.rule in ("name", "alias")}
    kept = [
        m for m in matches if not (m.rule.startswith(exonyms.RULE) and (m.start, m.end) in listed)
    ]
    return _told_apart(kept, sons)


def _told_apart(matches: list[Match], sons: dict[str, str]) -> list[Match]:
    """People one shortened name does not tell apart. A listed name read without its middle
    name or patronymic (``Sergey Sergeevich Chemezov`` as ``Sergei Chemezov``) is another
    listed person's where that person bears those very words (his father, listed as ``Sergei
    Chemezov``); where only shortened readings of several people fall on the words, the
    name is theirs in common and tells none of them apart (as a derived form several people
    share: `watcher.importers.derive`), except for a father and the son named after him
    (`people.namesake_sons`): ``Boris Rotenberg`` is the father."""
    people_at: dict[tuple[int, int], list[Match]] = {}
    for m in matches:
        if m.type == EntryType.PERSON:
            people_at.setdefault((m.start, m.end), []).append(m)
    dropped: set[int] = set()
    for found in people_at.values():
        shortened = [m for m in found if _SHORTENED in m.form.split(",")]
        if len(found) > 1 and shortened:
            keys = {f"{m.list_name}/{m.entry_id}" for m in found}
            son = [m for m in found if sons.get(f"{m.list_name}/{m.entry_id}") in keys]
            dropped.update(id(m) for m in (son if len(found) == 2 and son else shortened))
    return [m for m in matches if id(m) not in dropped]


def _clusters(group: list[_Mention]) -> list[_Mention]:
    """Overlapping hits of one entry are one mention (``V. Putin`` and ``Putin`` in it): the
    longest hit stands for it, with the best score any of them got."""
    clusters: list[list[_Mention]] = []
    reach = -1
    for m in sorted(group, key=lambda m: (m.start, -m.end)):
        if m.start >= reach:
            clusters.append([])
        clusters[-1].append(m)
        reach = max(reach, m.end)
    merged = []
    for cluster in clusters:
        longest = max(cluster, key=lambda m: (m.end - m.start, m.score))
        best_score = max(m.score for m in cluster)
        merged.append(
            longest if longest.score == best_score else _replace_score(longest, best_score)
        )
    return merged


def _replace_score(m: _Mention, score: int) -> _Mention:
    return replace(m, score=score)


def snippet(
    text: str, start: int, end: int, width: int = SNIPPET_WIDTH, marks: tuple[str, str] = ("", "")
) -> str:
    """About `width` characters around text[start:end], whitespace collapsed, cut at word
    boundaries; `marks` go around the mention itself (``("[[", "]]")`` to highlight it)."""
    room = max(0, (width - (end - start)) // 2)
    left, right = max(0, start - room), min(len(text), end + room)
    if left > 0:  # drop the partial word at the left edge
        first_space = _SPACE.search(text, left, start)
        left = first_space.end() if first_space else left
    if right < len(text):  # and at the right edge
        spaces = list(_SPACE.finditer(text, end, right))
        right = spaces[-1].start() if spaces else right
    body = f"{text[left:start]}{marks[0]}{text[start:end]}{marks[1]}{text[end:right]}"
    body = " ".join(body.replace("\u200b", "").split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")
