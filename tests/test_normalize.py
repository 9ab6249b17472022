"""How text is cut into words and each word read: the cases the fast paths must not change."""

from __future__ import annotations

import pytest

from watcher.matching.normalize import Tokens, Word, split_words, tokens, word


def spans(text: str) -> list[str]:
    return [text[start:end] for _, start, end in tokens(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia's ally", ["Russia", "ally"]),
        ("in Putin’s speech", ["in", "Putin", "speech"]),
        ("Rosneftʼs output", ["Rosneft", "output"]),  # ʼ is a letter, still an apostrophe
        ("Lukoil&#8217;s board", ["Lukoil", "board"]),  # the entity's filler goes too
        ("le régime d'Assad's", ["le", "régime", "Assad"]),  # elision and possessive
        ("dell’Isis e l'Iran", ["Isis", "e", "Iran"]),
        ("D'Souza and d'accord", ["D'Souza", "and", "d'accord"]),  # no elision before these
        ("the 's and it's", ["the", "s", "and", "it"]),  # a bare 's is too short to lose it
        ("O'Brien", ["O'Brien"]),
        # marks and invisible characters stay inside a word, never start one
        ("Serge\u0301i Pes\u200dkov \u0301Lavrov", ["Serge\u0301i", "Pes\u200dkov", "Lavrov"]),
        ("Gazprom_Neft Ro\u0301sn'eft\u0301's", ["Gazprom", "Neft", "Ro\u0301sn'eft\u0301"]),
    ],
)
def test_tokens_drop_elisions_and_possessive_endings(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


def test_a_possessive_keeps_its_surface_but_not_its_span() -> None:
    assert tokens("Russia's") == [("Russia's", 0, 6)]
    assert tokens("l'Iran") == [("Iran", 2, 6)]


def test_masked_text_gives_the_same_tokens() -> None:
    text = "met Igor <b>Sechin</b> at Lukoil&#8217;s"
    blanked = text.replace("<b>", "   ").replace("</b>", "    ")
    assert tokens(text) == tokens(blanked)
    assert [blanked[start:end] for _, start, end in tokens(text)][2:] == ["Sechin", "at", "Lukoil"]


def gaps_from_spans(text: str) -> list[str]:
    """What stands between the words, read from the spans: from the end of each word as
    written (its possessive ending included) to the start of the next."""
    gaps, last = [], 0
    for surface, start, _ in tokens(text):
        gaps.append(text[last:start])
        last = start + len(surface)
    return [*gaps, text[last:]]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "Putin",
        '«Дон» Кадыров, Joaquin "El Chapo" Guzman\'s men',
        "le régime d'Assad's, dell’Isis e l'Iran; O'Brien’s",
        "Lukoil&#8217;s board &amp; Igor <b>Sechin</b>\u200b\u200b’s",
        "Serge\u0301i Pes\u200dkov \u0301Lavrov – Gazprom_Neft Ro\u0301sn'eft\u0301's",
        "мʼясо Путінʼs and it's 's x",
    ],
)
def test_split_words_gives_the_words_and_what_stands_between_them(text: str) -> None:
    """The words and gaps read in one split are the spans' words and the text between them;
    the spans, worked out later, are `tokens`'."""
    split = split_words(text)
    assert split.gaps == gaps_from_spans(text)
    assert split.surfaces == [surface for surface, _, _ in tokens(text)]
    assert len(split.gaps) == len(split.surfaces) + 1
    if "<" not in text and "&" not in text:  # (no markup blanked out): nothing is lost
        assert (
            "".join(g + s for g, s in zip(split.gaps, split.surfaces, strict=False))
            + split.gaps[-1]
            == text
        )
    rebuilt = Tokens.of_spans(text, split.spans)
    assert (rebuilt.surfaces, rebuilt.gaps) == (split.surfaces, split.gaps)
    assert [rebuilt.has_ending(i) for i in range(len(split.surfaces))] == [
        split.has_ending(i) for i in range(len(split.surfaces))
    ]


def test_a_word_run_taken_out_leaves_a_blank_gap() -> None:
    split = split_words('Joaquin "El Chapo" Guzman\'s men')
    without = split.without(1, 2)
    assert without.surfaces == ["Joaquin", "Guzman's", "men"]
    assert without.gaps == ["", " " * len(' "El Chapo" '), " ", ""]
    assert without.spans == [split.spans[0], *split.spans[3:]]
    assert [without.has_ending(i) for i in range(3)] == [False, True, False]


@pytest.mark.parametrize(
    ("surface", "expected"),
    [
        ("putin", Word("putin", "putin", "putin", "putin", "latin", False)),
        ("Putin", Word("Putin", "putin", "putin", "putin", "latin", True)),
        # ch may be a German or Polish х: Chrenin is Khrenin (an English ч stays the key)
        ("SECHIN", Word("SECHIN", "sechin", "sechin", "sechin", "latin", True, ("sehin",))),
        ("Chrenin", Word("Chrenin", "chrenin", "chrenin", "chrenin", "latin", True, ("hrenin",))),
        ("Russia's", Word("Russia", "russia", "russia", "rusia", "latin", True)),
        ("O'Brien", Word("O'Brien", "o'brien", "obrien", "obren", "latin", True)),
        ("1990s", Word("1990s", "1990s", "1990s", "190s", "latin", False)),
        ("Prigojine", Word("Prigojine", "prigojine", "prigojine", "prigoine", "latin", True,
                           ("prigozhine",))),
        ("Prigoschin", Word("Prigoschin", "prigoschin", "prigoschin", "prigoshin", "latin", True,
                            ("prigozhin",))),
        ("Sergueï", Word("Sergueï", "sergueï", "serguei", "sergei", "latin", True)),
        ("Ławrow", Word("Ławrow", "ławrow", "lawrow", "lavrov", "latin", True)),
        ("Prigożyn", Word("Prigożyn", "prigożyn", "prigozhyn", "prigozhin", "latin", True)),
        ("Pes\u200dkov", Word("Peskov", "peskov", "peskov", "peskov", "latin", True)),
        ("Рutin", Word("Putin", "putin", "putin", "putin", "latin", True)),  # Cyrillic Р
        ("Путина", Word("Путина", "путина", "путина", "putina", "cyrillic", True)),
        ("Байден", Word("Байден", "байден", "баиден", "baiden", "cyrillic", True, ("biden",))),
        ("Хезболла", Word("Хезболла", "хезболла", "хезболла", "hizbola", "cyrillic", True,
                          ("hizbalah",))),
        ("Ёлкин", Word("Ёлкин", "ёлкин", "елкин", "elkin", "cyrillic", True)),
        # a Ukrainian given name also reads as the Russian one, in any case
        ("Олександра", Word("Олександра", "олександра", "олександра", "oleksandra", "cyrillic",
                            True, ("aleksandr",))),
        ("北京", Word("北京", "北京", "北京", "北京", "other", False)),
    ],
)  # fmt: skip
def test_word_reads_every_kind_of_word(surface: str, expected: Word) -> None:
    assert word(surface) == expected
