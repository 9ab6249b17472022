"""Everyday words, from two well-kept open word lists, for the matcher's noise rules.

* `wordfreq` (word frequencies in many languages, from web, news, subtitles, Wikipedia...):
  how often a word is written in English, Russian, Ukrainian, Polish, German, French, Spanish,
  Portuguese and Italian news.
  It lower-cases everything, so it cannot tell ``vista`` from ``putin``.
* `english-words` (Webster's 2nd, ``web2``): lists proper nouns capitalised and ordinary words
  in lower case, so it can.

A *common word* (``DAN``, ``VISTA``, ``HUGE``, ``JUSTICE``) is an ordinary English dictionary
word that is also frequent in running text: a name made only of such words needs a case-exact
hit. A *known word* is any word written often enough in one of the news languages
(``Sachin``, ``Novartis``, ``Djokovic`` included): a word spelled as itself is not a typo of
a watched name, so typo tolerance never applies to it.

Both sets are built once per process, on first use (never at import), or restored from the
compiled-index cache (`saved`/`restore`: 1.2 s of building saved at a daemon's start), as
`WordSet`s: the matcher only asks whether a word is in one, and 900,000 Python strings in
frozensets would cost ~110 MB of the daemon's memory, their hashes in sorted arrays ~8 MB.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from functools import cache, lru_cache
from hashlib import blake2b
from itertools import chain

# Languages of the news the product reads (the corpora it is judged on).
NEWS_LANGUAGES = ("en", "ru", "uk", "pl", "de", "fr", "es", "pt", "it")
# wordfreq buckets words by centibels: bucket i holds words of Zipf frequency 9 - i/100.
_COMMON_ZIPF = 3.0  # about once per million words: everyday vocabulary
_KNOWN_ZIPF = 1.5  # about three times per billion words: attested, not a typo (Transnet)
_EVERYDAY_ZIPF = 3.0  # a frequent word in some news language (for lower-case hits)
_FREQUENT_ZIPF = 4.0  # very frequent: function words, adverbs (names rarely get this far)
_ENGLISH_NEWS_ZIPF = 2.5  # read in English news too: a name, not another language's word


class WordSet:
    """Words, for membership tests only: a sorted array of 53-bit hashes (BLAKE2b of the
    UTF-8 bytes: the same in every process, so a WordSet can be saved) held as doubles (exact
    below 2**53, and sorted several times faster than big ints): 8 bytes a word, not the
    ~100 of a string in a set. Two words sharing a hash would be confused: about one chance
    in 10**10 per look-up."""

    __slots__ = ("_answers", "_hashes")

    def __init__(self, words: Iterable[str]) -> None:
        self._hashes = array("d", sorted({_hash53(w) for w in words}))
        # the same words are asked about again and again (a list's names, a feed's words):
        # a bounded memo of answers saves the hash and the search
        self._answers: dict[str, bool] = {}

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        answer = self._answers.get(word)
        if answer is None:
            hashed = _looked_up_hash(word)
            at = bisect_left(self._hashes, hashed)
            answer = at < len(self._hashes) and self._hashes[at] == hashed
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            self._answers[word] = answer
        return answer

    def __len__(self) -> int:
        return len(self._hashes)

    def __getstate__(self) -> array[float]:
        return self._hashes

    def __setstate__(self, state: array[float]) -> None:
        self._hashes = state
        self._answers = {}


_ANSWERS_KEPT = 50_000  # answers a WordSet remembers (~5 MB): then it starts afresh


def _hash53(word: str) -> float:
    digest = blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return float(int.from_bytes(digest, "little") >> 11)


# Look-ups repeat the same words (a list's company and given names while compiling, news
# vocabulary while matching), each in several sets: hash each once. Sets are built unmemoised.
# 65,536 words hold about 10 MB.
_looked_up_hash = lru_cache(maxsize=65_536)(_hash53)


# Word sets read from the index cache, taken instead of building them (see `restore`).
_restored: dict[str, WordSet] = {}


def _words_at_least(language: str, zipf: float, wordlist: str = "small") -> list[str]:
    from wordfreq import get_frequency_list  # noqa: PLC0415 (slow import, used lazily)

    # not through wordfreq's unbounded cache, which would keep every list for good (~25 MB)
    buckets = get_frequency_list.__wrapped__(language, wordlist=wordlist)
    last = round((9 - zipf) * 100)
    return [w for bucket in buckets[: last + 1] for w in bucket]


@cache
def dictionary_words() -> WordSet:
    """Ordinary (lower-case, not proper-noun) English dictionary words."""
    return _restored.pop("dictionary_words", None) or WordSet(_dictionary())


def _dictionary() -> list[str]:
    from english_words import get_english_words_set  # noqa: PLC0415 (slow, used lazily)

    dictionary = get_english_words_set(["web2"], lower=False, alpha=True)
    return [w for w in dictionary if w.islower()]


@cache
def proper_nouns() -> WordSet:
    """English dictionary proper nouns, lower case (places, given names, surnames of the
    famous: ``victoria``, ``wagner``, ``dubai`` is not one, ``persia`` is)."""
    return _restored.pop("proper_nouns", None) or WordSet(_proper_nouns())


def _proper_nouns() -> list[str]:
    from english_words import get_english_words_set  # noqa: PLC0415 (slow, used lazily)

    dictionary = get_english_words_set(["web2"], lower=False, alpha=True)
    return [w.casefold() for w in dictionary if not w.islower()]


def is_proper_noun(lower: str) -> bool:
    return lower in proper_nouns()


def is_dictionary_word(lower: str) -> bool:
    words = dictionary_words()
    return lower in words or _base_form(lower) in words


@cache
def common_english_words() -> WordSet:
    """Lower-case English dictionary words that are frequent in running text."""
    if "common_english_words" in _restored:
        return _restored.pop("common_english_words")
    ordinary = dictionary_words()
    frequent = _words_at_least("en", _COMMON_ZIPF)
    return WordSet(w for w in frequent if w in ordinary or _base_form(w) in ordinary)


def _base_form(inflected: str) -> str:
    """The dictionary form of a regular English plural/participle (web2 lists only those):
    services -> service, companies -> company, holdings -> holding, trading -> trade."""
    for ending, replacement in (("ies", "y"), ("es", "e"), ("s", ""), ("ing", "e"), ("ed", "")):
        if inflected.endswith(ending) and len(inflected) > len(ending) + 2:
            return inflected[: -len(ending)] + replacement
    return inflected


@cache
def known_words() -> WordSet:
    """Words attested in the news languages, lower case (names included).

    English down to rare words (the names of people in the news are in there: Sachin,
    Djokovic); the other languages from their compact everyday lists, which keeps this set
    small (the full lists would cost a quarter of a gigabyte)."""
    if "known_words" in _restored:
        return _restored.pop("known_words")
    lists = (_words_at_least(language, _COMMON_ZIPF) for language in NEWS_LANGUAGES)
    return WordSet(chain(_words_at_least("en", _KNOWN_ZIPF, wordlist="best"), *lists))


@cache
def everyday_words() -> WordSet:
    """Frequent words of any news language, lower case (frequent names included)."""
    return _restored.pop("everyday_words", None) or WordSet(_words_in_news(_EVERYDAY_ZIPF))


@cache
def english_everyday_words() -> WordSet:
    """Words written in English news at least a few times per million words, lower case
    (names the world writes included: ``qaida``, ``hezbollah``)."""
    return _restored.pop("english_everyday_words", None) or WordSet(
        _words_at_least("en", _ENGLISH_NEWS_ZIPF, wordlist="best")
    )


def is_foreign_word(lower: str) -> bool:
    """Frequent in another news language but rare in English: a word there (``ministerio``,
    ``fénix``, ``únete``), where a name the world writes is read in English too (``Qaida``)."""
    return lower in everyday_words() and lower not in english_everyday_words()


def is_english_news_word(*forms: str) -> bool:
    """Written in English news a few times per million words (given names included)."""
    words = english_everyday_words()
    return any(form in words for form in forms)


def is_common_word(norm: str) -> bool:
    return norm in common_english_words()


@cache
def frequent_words() -> WordSet:
    """Very frequent words of any news language: ``wczoraj``, ``heute``, ``yesterday``."""
    return _restored.pop("frequent_words", None) or WordSet(_words_in_news(_FREQUENT_ZIPF))


def _words_in_news(zipf: float) -> Iterator[str]:
    """The words of every news language at least this frequent (one list in memory at once)."""
    for language in NEWS_LANGUAGES:
        yield from _words_at_least(language, zipf)


def is_frequent_word(lower: str) -> bool:
    return lower in frequent_words()


def is_known_word(*forms: str) -> bool:
    """Whether any of `forms` (lower case: as written, and without diacritics) is attested."""
    return _any_in(known_words(), forms)


def is_everyday_word(*forms: str) -> bool:
    return _any_in(everyday_words(), forms)


def _any_in(words: WordSet, forms: tuple[str, ...]) -> bool:
    for form in forms:  # noqa: SIM110 (not any() over a generator: asked of most words read)
        if form in words:
            return True
    return False


_WORD_SETS = {
    "dictionary_words": dictionary_words,
    "common_english_words": common_english_words,
    "known_words": known_words,
    "everyday_words": everyday_words,
    "english_everyday_words": english_everyday_words,
    "frequent_words": frequent_words,
    "proper_nouns": proper_nouns,
}


def preload() -> None:
    """Build every word set now, in one thread: not on first use by matchers running
    concurrently (each would build its own copy, at once: a memory peak)."""
    for build in _WORD_SETS.values():
        build()


def saved() -> dict[str, WordSet]:
    """Every word set, for the index cache to save (built first if need be)."""
    return {name: build() for name, build in _WORD_SETS.items()}


def restore(sets: Mapping[str, object]) -> None:
    """Take word sets `saved` earlier (by the same code and word-list versions: the index
    cache's key says so) instead of building them; ones built already are kept."""
    for name, found in sets.items():
        if name in _WORD_SETS and isinstance(found, WordSet):
            _restored[name] = found
