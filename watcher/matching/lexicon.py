"""Everyday words, from two well-kept open word lists, for the matcher's noise rules.

* `wordfreq` (word frequencies in many languages, from web, news, subtitles, Wikipedia...):
  how often a word is written in English, Russian, Ukrainian, Polish, German and French news.
  It lower-cases everything, so it cannot tell ``vista`` from ``putin``.
* `english-words` (Webster's 2nd, ``web2``): lists proper nouns capitalised and ordinary words
  in lower case, so it can.

A *common word* (``DAN``, ``VISTA``, ``HUGE``, ``JUSTICE``) is an ordinary English dictionary
word that is also frequent in running text: a name made only of such words needs a case-exact
hit. A *known word* is any word written often enough in one of the news languages
(``Sachin``, ``Novartis``, ``Djokovic`` included): a word spelled as itself is not a typo of
a watched name, so typo tolerance never applies to it.

Both sets are built once per process, on first use (never at import).
"""

from __future__ import annotations

from functools import cache

# Languages of the news the product reads (the corpora it is judged on).
NEWS_LANGUAGES = ("en", "ru", "uk", "pl", "de", "fr", "es")
# wordfreq buckets words by centibels: bucket i holds words of Zipf frequency 9 - i/100.
_COMMON_ZIPF = 3.0  # about once per million words: everyday vocabulary
_KNOWN_ZIPF = 1.5  # about three times per billion words: attested, not a typo (Transnet)
_EVERYDAY_ZIPF = 3.0  # a frequent word in some news language (for lower-case hits)
_FREQUENT_ZIPF = 4.0  # very frequent: function words, adverbs (names rarely get this far)


def _words_at_least(language: str, zipf: float, wordlist: str = "small") -> list[str]:
    from wordfreq import get_frequency_list  # noqa: PLC0415 (slow import, used lazily)

    buckets = get_frequency_list(language, wordlist=wordlist)
    last = round((9 - zipf) * 100)
    return [w for bucket in buckets[: last + 1] for w in bucket]


@cache
def dictionary_words() -> frozenset[str]:
    """Ordinary (lower-case, not proper-noun) English dictionary words."""
    from english_words import get_english_words_set  # noqa: PLC0415 (slow, used lazily)

    dictionary = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(w for w in dictionary if w.islower())


def is_dictionary_word(lower: str) -> bool:
    words = dictionary_words()
    return lower in words or _base_form(lower) in words


@cache
def common_english_words() -> frozenset[str]:
    """Lower-case English dictionary words that are frequent in running text."""
    ordinary = dictionary_words()
    frequent = _words_at_least("en", _COMMON_ZIPF)
    return frozenset(w for w in frequent if w in ordinary or _base_form(w) in ordinary)


def _base_form(inflected: str) -> str:
    """The dictionary form of a regular English plural/participle (web2 lists only those):
    services -> service, companies -> company, holdings -> holding, trading -> trade."""
    for ending, replacement in (("ies", "y"), ("es", "e"), ("s", ""), ("ing", "e"), ("ed", "")):
        if inflected.endswith(ending) and len(inflected) > len(ending) + 2:
            return inflected[: -len(ending)] + replacement
    return inflected


@cache
def known_words() -> frozenset[str]:
    """Words attested in the news languages, lower case (names included).

    English down to rare words (the names of people in the news are in there: Sachin,
    Djokovic); the other languages from their compact everyday lists, which keeps this set
    small (the full lists would cost a quarter of a gigabyte)."""
    words = set(_words_at_least("en", _KNOWN_ZIPF, wordlist="best"))
    for language in NEWS_LANGUAGES:
        words.update(_words_at_least(language, _COMMON_ZIPF))
    return frozenset(words)


@cache
def everyday_words() -> frozenset[str]:
    """Frequent words of any news language, lower case (frequent names included)."""
    words: set[str] = set()
    for language in NEWS_LANGUAGES:
        words.update(_words_at_least(language, _EVERYDAY_ZIPF))
    return frozenset(words)


def is_common_word(norm: str) -> bool:
    return norm in common_english_words()


@cache
def frequent_words() -> frozenset[str]:
    """Very frequent words of any news language: ``wczoraj``, ``heute``, ``yesterday``."""
    words: set[str] = set()
    for language in NEWS_LANGUAGES:
        words.update(_words_at_least(language, _FREQUENT_ZIPF))
    return frozenset(words)


def is_frequent_word(lower: str) -> bool:
    return lower in frequent_words()


def is_known_word(*forms: str) -> bool:
    """Whether any of `forms` (lower case: as written, and without diacritics) is attested."""
    known = known_words()
    return any(form in known for form in forms)


def is_everyday_word(*forms: str) -> bool:
    everyday = everyday_words()
    return any(form in everyday for form in forms)
