"""Tokens and keys: how text and names are cut into words and reduced to comparable forms.

Every word, of a name or of an article, gets:

* a *surface*: the word as written (possessive ``'s`` removed), for case-exact rules;
* a *norm*: lower case, diacritics and apostrophes removed (``Sergueï`` -> ``serguei``);
* a *key*: the norm transliterated to Latin and folded phonetically, so that the spellings
  news and lists use for the same Russian/Ukrainian name meet (``Путина``, ``Putina``,
  ``Wladimir``/``Vladimir``, ``Setschin``/``Sechin``, ``Ławrow``/``Lavrov``, ``Dmitriy``/
  ``Dmitri``, ``Sovkomflot``/``Sovcomflot``);
* *stems*: the key minus one Slavic case ending (``putina`` -> ``putin``), so inflected
  forms in Russian, Ukrainian and Polish text meet the dictionary form in the list.

A text is cut in one C-level split into its words and the gaps between them (`split_words`).
Raw HTML given as text is survived by masking tags and entities with same-length filler, so
offsets still point into the original string.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress, count
from operator import not_

# Zero-width filler that stays inside a word: what a masked entity leaves behind.
_FILL = "\u200b"
# zero-width characters and soft hyphens hide inside words (``Pes\u200dkov``): part of the word
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_WORD_CHAR = rf"(?:[^\W_]|[\u0300-\u036f{_INVISIBLE}])"
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE)
# Letters that look the same in Latin and Cyrillic: a word mixing the scripts (``Рutin`` with
# a Cyrillic Р) is read in the script most of its letters are in.
_CYRILLIC_LOOKALIKES = "АВЕКМНОРСТУХаеорсухіІ"
_LATIN_LOOKALIKES = "ABEKMHOPCTYXaeopcyxiI"
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
# Runs of letters and of marks, possessive (nothing after a word could take a letter back):
# the same words as [^\W_]{_WORD_CHAR}*(?:['’ʼ`]{_WORD_CHAR}+)*, read 1.8 times as fast. A word
# opens with a run of letters (most words are nothing else), which one repeat reads fastest.
_MARKS = rf"[\u0300-\u036f{_INVISIBLE}]"
_WORD_RUNS = rf"(?:[^\W_]+|{_MARKS}+)"
TOKEN_RE = re.compile(rf"[^\W_]++(?:{_MARKS}++[^\W_]*+)*+(?:['’ʼ`]{_WORD_RUNS}++)*+")
# the same words, with the gaps between them (`split_words`)
_TOKEN_SPLIT = re.compile(f"({TOKEN_RE.pattern})")
_TAG_RE = re.compile(r"<[A-Za-z/!?][^<>]{0,500}>")
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE_ENTITIES = {"\xa0", "\u2002", "\u2003", "\u2009", "\u202f"}
_APOSTROPHES = "'’ʼ`"
_ANY_APOSTROPHE = re.compile(f"[{_APOSTROPHES}]")
# a possessive ending closing a word (``Russia's``): `word` strips it, `tokens` ends the
# word's span before it (the mention is the name)
_POSSESSIVE_ENDINGS = frozenset(apostrophe + s for apostrophe in _APOSTROPHES for s in "sS")


def mask_markup(text: str) -> str:
    """`text` with HTML tags blanked and entities decoded in place, keeping every offset.

    ``Igor <b>Sechin</b>`` becomes ``Igor    Sechin    ``; ``Lukoil&#8217;s`` becomes
    ``Lukoil`` + filler + ``’s``, one word again."""
    if "<" not in text and "&" not in text:
        return text
    masked = _TAG_RE.sub(lambda m: " " * len(m.group()), text)
    return _ENTITY_RE.sub(_decode_entity, masked)


def _decode_entity(found: re.Match[str]) -> str:
    raw = found.group()
    char = html.unescape(raw)
    if len(char) != 1 or char == raw:
        return raw
    if char in _SPACE_ENTITIES or char.isspace():
        return " " * len(raw)
    return _FILL * (len(raw) - 1) + char


# Cyrillic (Russian, Ukrainian, Belarusian) to a plain Latin transliteration.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "e",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f",
    "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "i", "ь": "",
    "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_CYRILLIC_TO_LATIN = str.maketrans(_CYRILLIC)
# Latin letters that NFD does not decompose.
_LATIN_SPECIAL = {
    "ł": "l",
    "ø": "o",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "đ": "d",
    "ı": "i",
    "þ": "th",
}

# Phonetic folding of the transliterated word, in three passes. Each rule merges spellings
# that different romanisation systems (English, German, French, Polish, ISO) give one sound.
_LETTER_RULES = {
    "szcz": "shch",  # Polish щ
    "tsch": "ch",  # German ч: Setschin
    "sch": "sh",  # German ш
    "cz": "ch",  # Polish ч
    "sz": "sh",  # Polish ш
    "rz": "zh",  # Polish ж
    "ph": "f",
    "kh": "h",  # х: Mikhail / Mihail
    "ck": "k",
    "ch": "ch",
    "c": "k",  # Sovcomflot / Sovkomflot
    "x": "ks",  # Alexandr / Aleksandr
    "q": "k",
    "w": "v",  # German/Polish v: Wladimir, Ławrow
    "j": "i",  # Sergey / Sergei / Sergej, Dmitriy, Shoygu
    "y": "i",
}
_LETTERS = re.compile("|".join(sorted(_LETTER_RULES, key=len, reverse=True)))
_FRENCH = re.compile(r"gu(?=[ei])|ou")  # Sergueï, Poutine
# Polish softening "ie" (Siergiej, Pieskow, Rosnieft) and initial Ye-/Je- (Yevgeny, Jewgienij)
_SOFT_I = re.compile(r"(?:^|(?<=[^aeiou]))i(?=e)")
_DOUBLE = re.compile(r"(.)\1+")

# Case endings of Russian, Ukrainian, Polish (and Baltic) nouns and surnames, in key spelling.
# Longest first; a stem must keep at least four letters.
_ENDINGS = tuple(
    sorted(
        {
            "a", "u", "e", "i", "om", "em", "oi", "ei", "im", "iu", "ia", "ovi", "evi", "ami",
            "ah", "ach", "ego", "ogo", "omu", "emu", "oiu", "eiu", "ie", "ovoi", "evoi", "oe",
            "as",  # Lithuanian nominative: Putinas
            "aia", "uiu", "ih", "imi",  # adjectival surnames: Ходорковская, -скую, -ских, -скими
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_ENDINGS_BY_LAST: dict[str, tuple[str, ...]] = {
    last: tuple(e for e in _ENDINGS if e.endswith(last)) for last in {e[-1] for e in _ENDINGS}
}
MIN_STEM = 4


@dataclass(frozen=True, slots=True)
class Word:
    """One word's comparable forms."""

    surface: str  # as written, possessive removed
    lower: str  # lower case, diacritics kept (how word lists spell it)
    norm: str  # lower case, no diacritics or apostrophes
    key: str  # transliterated, phonetically folded
    script: str  # "latin", "cyrillic" or "other"
    capitalized: bool
    # a capitalised Cyrillic word's keys as the Latin names it may render: Байден -> biden,
    # Трамп -> trump, Шольц -> sholz
    foreign: tuple[str, ...] = ()


# Memo sizes, measured: 100,000 words held 41 MB, 100,000 stems 15 MB (random 4-11 letter
# tokens); news vocabulary is Zipfian, so the daemon's hits come from far fewer words.
@lru_cache(maxsize=50_000)
def word(surface: str) -> Word:
    """The comparable forms of one token as `TOKEN_RE` cuts it."""
    return _read_word(surface)


@lru_cache(maxsize=50_000)
def name_word(surface: str) -> Word:
    """`word` for compiling, with its own memo (emptied after each compile): the ~30,000
    words of a big list's names would otherwise evict the article words `word` remembers,
    and a reload would make the daemon read every word of the news anew."""
    return _read_word(surface)


def _read_word(surface: str) -> Word:
    if surface.isalpha():  # no apostrophe, mark or invisible character
        if surface.isascii():
            return _ascii_letters_word(surface)
        if _CYRILLIC_LETTERS.fullmatch(surface):
            return _cyrillic_letters_word(surface)
    visible = surface if surface.isascii() else surface.translate(_DROP_INVISIBLE)
    cleaned = _unmix_scripts(_strip_possessive(visible))
    lower = cleaned.casefold()
    norm = _norm(lower)
    key = fold(norm)
    script = _script(cleaned)
    capitalized = cleaned[:1].isupper()
    return Word(
        surface=cleaned,
        lower=lower,
        norm=norm,
        key=key,
        script=script,
        capitalized=capitalized,
        foreign=_other_keys(norm, key, script) if capitalized else (),
    )


# The two commonest words, letters of one script only: no possessive ending, invisible
# character or mixed script to see to. Word's fields in order (the keywords cost 5%).


def _ascii_letters_word(surface: str) -> Word:
    lower = surface.lower()
    key = fold(lower)
    capitalized = surface[0].isupper()
    romanised = capitalized and len(lower) >= _MIN_ROMANISED
    foreign = _romanised_keys(lower, key) if romanised else ()
    return Word(surface, lower, lower, key, "latin", capitalized, foreign)


_CYRILLIC_LETTERS = re.compile("[\u0400-\u04ff]+")


def _cyrillic_letters_word(surface: str) -> Word:
    lower = surface.casefold()
    norm = _norm(lower)  # й, ё lose their marks
    key = fold(norm)
    capitalized = surface[0].isupper()
    foreign = _foreign_keys(key, norm) if capitalized else ()
    return Word(surface, lower, norm, key, "cyrillic", capitalized, foreign)


# How Russian and Ukrainian render a Latin name's sounds (in key spelling): the English long
# "i" as "ai" (Байден: Biden), the English short "u" as "a" (Трамп: Trump, Хантер: Hunter), the
# German "z" as "ts" (Шольц: Scholz).
_FOREIGN_SOUNDS = (
    (re.compile(r"ai(?=[^aeiou])"), "i"),
    (re.compile(r"(?<=^[^aeiou])a(?=[^aeiou])|(?<=^[^aeiou]{2})a(?=[^aeiou])"), "u"),
    (re.compile(r"(?<=[lnr])ts"), "z"),
)


def _other_keys(norm: str, key: str, script: str) -> tuple[str, ...]:
    """`Word.foreign` of a capitalised word: its Cyrillic renderings of Latin names, or the
    Russian name a French or German spelling renders."""
    if script == "cyrillic":
        return _foreign_keys(key, norm)
    if norm.isalpha() and len(norm) >= _MIN_ROMANISED:
        return _romanised_keys(norm, key)
    return ()


# French and German spellings of Russian sounds that English spelling keys tell apart: French
# ch for ш and j for ж (Loukachenko, Choïgou, Prigojine: a French word has "ou" or ends in
# -ine), German sch for ж (Prigoschin; sch is also ш, which the key reads already), German and
# Polish ch for х (Chodorkowski, Chrenin).
_MIN_ROMANISED = 6
_GERMAN_CH = re.compile(r"(?<!s)ch")
_FRENCH_WORD = re.compile(r"ou|ine$")


def _romanised_keys(norm: str, key: str) -> tuple[str, ...]:
    found = []
    if _FRENCH_WORD.search(norm) and ("ch" in norm or "j" in norm):
        found.append(fold(norm.replace("ch", "sh").replace("j", "zh")))
    if "sch" in norm:
        found.append(fold(norm.replace("sch", "zh")))
    if "ch" in norm:  # German and Polish ch for х: Chodorkowski, Chrenin (sch: ш, above)
        found.append(fold(_GERMAN_CH.sub("kh", norm)))
    if not found:  # nearly every word
        return ()
    return tuple(k for k in dict.fromkeys(found) if k != key)


def _foreign_keys(key: str, norm: str) -> tuple[str, ...]:
    """The keys of the Latin names a capitalised Cyrillic word may render, where they differ:
    also an Arabic name's -llah, which Russian writes without its h (Хезболла, Насралла)."""
    found = []
    for sound, latin in _FOREIGN_SOUNDS:
        foreign = sound.sub(latin, key, count=1)
        if foreign != key:
            found.append(foreign)
    for stem in (key, *stems(key)) if "лл" in norm else ():
        if stem.endswith("l") and len(stem) >= 4:  # Хезболла, Хезболлы: hizbol- + ah
            found.append(_ARABIC.sub(_arabic_vowels, f"{stem}ah"))
    russian = _russian_given_name(key)
    if russian:
        found.append(russian)
    return tuple(dict.fromkeys(found))


# Ukrainian given names and the Russian ones they are (Олександр Лукашенко is Aleksandr, as the
# lists write him), in key spelling: a different first letter or two letters apart, more than
# a name's typo tolerance reads.
_UKRAINIAN_GIVEN = """олександр:александр володимир:владимир олексій:алексей дмитро:дмитрий
    андрій:андрей сергій:сергей юрій:юрий євген:евгений михайло:михаил микола:николай
    петро:петр павло:павел григорій:григорий василь:василий анатолій:анатолий
    валерій:валерий геннадій:геннадий аркадій:аркадий костянтин:константин олег:олег
    ілля:илья федір:федор тимофій:тимофей віталій:виталий"""


def _russian_given_name(key: str) -> str:
    """The Russian given name's key a Ukrainian one renders, in any case (Олександра)."""
    table = _ukrainian_to_russian()
    for form in (key, *stems(key)):
        russian = table.get(form)
        if russian:
            return russian
    return ""


@lru_cache(maxsize=1)
def _ukrainian_to_russian() -> dict[str, str]:
    pairs = [pair.split(":") for pair in _UKRAINIAN_GIVEN.split()]
    keys = {fold(_norm(ukrainian)): fold(_norm(russian)) for ukrainian, russian in pairs}
    return {ukrainian: russian for ukrainian, russian in keys.items() if ukrainian != russian}


def _unmix_scripts(token: str) -> str:
    # the counts only matter when both scripts are there, which a regex finds without a loop
    if token.isascii() or not (_ANY_CYRILLIC.search(token) and _ANY_ASCII_LETTER.search(token)):
        return token
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in token)
    latin = sum(c.isascii() and c.isalpha() for c in token)
    return token.translate(_TO_LATIN if latin >= cyrillic else _TO_CYRILLIC)


# the letters `_unmix_scripts` counts
_ANY_CYRILLIC = re.compile("[\u0400-\u04ff]")
_ANY_ASCII_LETTER = re.compile("[A-Za-z]")


def _strip_possessive(token: str) -> str:
    return token[:-2] if token[-2:] in _POSSESSIVE_ENDINGS else token


# Polish ż is ж (Prigożyn: Prigozhin), not the z NFD would leave of it.
_POLISH_ZH = str.maketrans({"ż": "zh"})


def _norm(lowered: str) -> str:
    """The norm of a casefolded token."""
    if lowered.isascii():
        return lowered.replace("'", "").replace("`", "")
    return lowered.translate(_NORM_CHARS)


class _NormChars(dict[int, str]):
    """A `str.translate` table: what `_norm` makes of each character, worked out the first
    time a character is met. Character by character is the same as the whole word at once:
    NFD decomposes each character on its own and reorders only combining marks, which are
    dropped."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code).translate(_POLISH_ZH))
        # й/ё decompose to и/е + combining mark; the mark is gone, which is what we want
        kept = "".join(
            _LATIN_SPECIAL.get(char, char)
            for char in decomposed
            if not (unicodedata.combining(char) or char in _APOSTROPHES)
        )
        if len(self) < _NORM_CHARS_HELD:
            self[code] = kept
        return kept


# Enough for the alphabets and the common Chinese characters; a text of rarer characters
# than that costs time, not memory.
_NORM_CHARS_HELD = 10_000
_NORM_CHARS = _NormChars()


def fold(norm: str) -> str:
    """The phonetic key of a normalised word: Latin letters, one romanisation."""
    latin = norm if norm.isascii() else norm.translate(_CYRILLIC_TO_LATIN)
    # Each pass runs only where its pattern can match (most words need few of them): every
    # word of a big list and of the news is folded once, so this is compiling's hot path.
    if not _LETTER_STARTS.isdisjoint(latin) or "ph" in latin or "kh" in latin:
        latin = _LETTERS.sub(_letter_rule, latin)
    if "ou" in latin or "gu" in latin:
        latin = _FRENCH.sub(_french_rule, latin)
    latin = _collapse(latin)  # Nabiullina / Nabiulina, Dmitriy + ev
    if "ie" in latin:
        latin = _collapse(_SOFT_I.sub("", latin))
    if latin.endswith("lah") or latin.startswith(_ARABIC_STARTS):
        latin = _ARABIC.sub(_arabic_vowels, latin)
    return latin


# Letters some `_LETTER_RULES` rule needs (beside "ph" and "kh"): c, x, q, w, j, y, and the z
# of "sz", "rz".
_LETTER_STARTS = frozenset("cxqwjyz")
# How an `_ARABIC` match can start, or "lah" ends the word.
_ARABIC_STARTS = ("hezb", "kaed", "moham", "muham", "el")


def _letter_rule(found: re.Match[str]) -> str:
    return _LETTER_RULES[found.group()]


def _french_rule(found: re.Match[str]) -> str:
    return "g" if found.group() == "gu" else "u"


# The vowels the romanisations of Arabic names disagree on, where they disagree most (key
# spelling): Hizballah/Hezbollah, Qaida/Qaeda, Muhammad/Mohammed, Abdullah/Abdallah,
# Nasrallah/Nasrullah, the article al/el.
_ARABIC_VOWELS = {"hezb": "hizb", "kaed": "kaid"}
_ARABIC = re.compile(r"^(?:hezb|kaed|m[ou]ham[ae]d)|(?<=..)[ou](?=lah$)|^el$")


def _arabic_vowels(found: re.Match[str]) -> str:
    text = found.group()
    if text in ("o", "u"):
        return "a"
    if text.startswith("m"):
        return "muhamad"
    return "al" if text == "el" else _ARABIC_VOWELS[text]


# As many as `word` holds (~5.6 MB when full, +3 MB over 20,000): fewer than one pass's
# vocabulary (2,000 news items: 37,000 words) are evicted in the order they are asked again,
# so each index a reload builds stemmed every word of the news anew.
@lru_cache(maxsize=50_000)
def stems(key: str) -> tuple[str, ...]:
    """`key` without each case ending it carries (the stem keeps `MIN_STEM` letters)."""
    found = []
    for ending in _ENDINGS_BY_LAST.get(key[-1:], ()):
        if key.endswith(ending) and len(key) - len(ending) >= MIN_STEM:
            found.append(_collapse(key[: -len(ending)]))
    return tuple(dict.fromkeys(found))


def _collapse(text: str) -> str:
    """Doubled letters written once (``Nabiullina`` / ``Nabiulina``)."""
    return _DOUBLE.sub(_first_letter, text)


def _first_letter(found: re.Match[str]) -> str:
    return found.group(1)


def _script(token: str) -> str:
    for char in token:
        if char.isalpha():
            if "\u0400" <= char <= "\u04ff":
                return "cyrillic"
            if char.isascii() or "\u00c0" <= char <= "\u024f":
                return "latin"
            return "other"
    return "other"


# French and Italian elided articles and prepositions (``d'Assad``, ``l'Iran``, ``dell'Isis``):
# the word is what follows the apostrophe. Lower case only: ``D'Souza`` is a name.
_ELISION = re.compile(
    r"(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|dell|all|nell|sull|dall|coll|quell|quest)"
    r"['’](?=[A-ZÀ-ÖØ-ÞА-ЯЁ])"
)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(surface, start, end) of every word in `text`, markup masked, offsets into `text`."""
    return split_words(text).spans


Span = tuple[str, int, int]  # a word as written, its start and end offsets


class Tokens:
    """A text's words as `TOKEN_RE` cuts them, in one C-level split: ``surfaces[i]``, and
    ``gaps[i]``, what stands between word i - 1 and word i (``gaps[0]`` before the first
    word, ``gaps[-1]`` after the last). The (surface, start, end) `spans` are worked out on
    first need: most texts name nobody, and trying a name needs only the words and gaps."""

    __slots__ = ("_endings", "_parts", "_spans", "gaps", "surfaces")

    def __init__(
        self,
        surfaces: list[str],
        gaps: list[str],
        endings: dict[int, int],
        spans: list[Span] | None = None,
        parts: list[str] | None = None,
    ) -> None:
        self.surfaces = surfaces
        self.gaps = gaps
        self._endings = endings  # word -> length of the possessive ending its span leaves out
        self._spans = spans
        self._parts = parts  # gap, word, gap, word, ..., gap: their lengths give the offsets

    @classmethod
    def of_parts(cls, parts: list[str], endings: dict[int, int]) -> Tokens:
        """The tokens of a text split into gap, word, gap, ..., gap."""
        return cls(parts[1::2], parts[0::2], endings, None, parts)

    @property
    def spans(self) -> list[Span]:
        if self._spans is None:
            assert self._parts is not None  # (made by `of_parts`: the others have spans)
            offsets = list(accumulate(map(len, self._parts), initial=0))
            ends = offsets[2::2]
            for index, ending in self._endings.items():
                ends[index] -= ending
            self._spans = list(zip(self.surfaces, offsets[1::2], ends, strict=False))
        return self._spans

    def has_ending(self, index: int) -> bool:
        """Whether word `index`'s span leaves out a possessive ending (``Russia's``)."""
        return index in self._endings

    def without(self, first: int, words: int) -> Tokens:
        """These tokens without words `first`..`first + words - 1`, as if blanked out of the
        text from the end of the word before them to the start of the next."""
        spans = self.spans
        after = spans[first - 1][1] + len(spans[first - 1][0])  # after any possessive ending
        gap = " " * (spans[first + words][1] - after)
        return Tokens(
            self.surfaces[:first] + self.surfaces[first + words :],
            [*self.gaps[:first], gap, *self.gaps[first + words + 1 :]],
            {
                index if index < first else index - words: ending
                for index, ending in self._endings.items()
                if not first <= index < first + words
            },
            spans[:first] + spans[first + words :],
        )

    @classmethod
    def of_spans(cls, text: str, spans: list[Span]) -> Tokens:
        """The tokens of `text` whose words are `spans` (the gaps are read from `text`)."""
        gaps: list[str] = []
        endings: dict[int, int] = {}
        last = 0
        for index, (surface, start, end) in enumerate(spans):
            gaps.append(text[last:start])
            last = start + len(surface)  # after any possessive ending
            if end != last:
                endings[index] = last - end
        gaps.append(text[last:])
        return cls([surface for surface, _, _ in spans], gaps, endings, spans)


def split_words(text: str) -> Tokens:
    """The words of `text` (markup masked) and the gaps between them."""
    masked = mask_markup(text)
    parts = _TOKEN_SPLIT.split(masked)
    endings: dict[int, int] = {}
    if _ANY_APOSTROPHE.search(masked):
        # only a word with an apostrophe in it has an elision or a possessive ending; a word
        # of letters and digits has no apostrophe, but for ʼ, which is a letter
        surfaces = parts[1::2]
        if "ʼ" in masked:
            marked = [i for i, surface in enumerate(surfaces) if "ʼ" in surface]
        else:
            marked = []
        for index in {*compress(count(), map(not_, map(str.isalnum, surfaces))), *marked}:
            _cut_article_and_ending(parts, endings, index)
    tokens = Tokens.of_parts(parts, endings)
    if masked is not text and masked != text:
        # the words were cut from text with markup its entities spelled out masked too: the
        # gaps are the text's
        return Tokens.of_spans(text, tokens.spans)
    return tokens


def _cut_article_and_ending(parts: list[str], endings: dict[int, int], index: int) -> None:
    """Word `index` of `parts` (`Tokens`) without the elided article before its capital
    (``d'Assad``: ``Assad``; the article joins the gap), its span without its possessive
    ending (``Russia's``: the mention is the name)."""
    surface = parts[2 * index + 1]
    elided = _ELISION.match(surface)
    if elided is not None:
        parts[2 * index] += surface[: elided.end()]
        surface = parts[2 * index + 1] = surface[elided.end() :]
    if len(surface) > 2 and surface[-2:] in _POSSESSIVE_ENDINGS:
        ending = 2
        while ending < len(surface) and surface[-ending - 1] == _FILL:
            ending += 1
        endings[index] = ending
