"""The matcher's word sets: compact, and exactly the words they were built from."""

from __future__ import annotations

import pickle

from watcher.matching import lexicon
from watcher.matching.lexicon import WordSet


def test_a_word_set_holds_exactly_its_words() -> None:
    words = ["putin", "sechin", "vista", "роснефть", "wczoraj", "で", ""]
    found = WordSet([*words, "vista"])
    assert len(found) == len(set(words))
    assert all(w in found for w in words)
    assert "putins" not in found
    assert "Putin" not in found
    assert 42 not in found


def test_strings_with_the_same_bytes_are_told_apart() -> None:
    # CPython hashes a string's raw buffer: "g0" (two 8-bit characters) and "で" (one
    # 16-bit character, U+3067) have the same plain hash in CPython 3.11-3.13
    assert "g0" not in WordSet(["で"])
    assert "で" not in WordSet(["g0"])


def test_a_word_set_pickles_with_its_words() -> None:
    again = pickle.loads(pickle.dumps(WordSet(["putin", "роснефть"])))
    assert "putin" in again
    assert "роснефть" in again
    assert "sechin" not in again


def test_the_lexicon_knows_what_the_matcher_relies_on() -> None:
    assert lexicon.is_common_word("justice")
    assert not lexicon.is_common_word("putin")
    assert lexicon.is_known_word("djokovic")
    assert lexicon.is_known_word("transnet")
    assert not lexicon.is_known_word("rosneftt")
    assert lexicon.is_frequent_word("wczoraj")
    assert lexicon.is_everyday_word("yesterday")
    assert lexicon.is_dictionary_word("services")
