"""News spellings of listed names in other languages and scripts (`watcher.matching.exonyms`):
found / not-found pairs for each kind of form, the table's own rules, and (with ../shared)
that every row of the table names an entry of the imported OFAC and UN lists.
"""

from __future__ import annotations

import pytest
from conftest import requires_shared
from official_scoring import import_lists, watcher_command
from test_match_rules import ENTRIES as RULE_ENTRIES
from test_match_rules import assert_found, assert_not_found, found, org

from watcher.config.settings import load_watchlists
from watcher.config.watchlist import Entry, EntryType, Watchlist
from watcher.matching import CompiledWatchlists, compile_watchlists, exonyms, lexicon
from watcher.matching.cards import build_cards, name_key
from watcher.matching.explain import Explainer
from watcher.matching.normalize import TOKEN_RE

ENTRIES = (
    org("hizballah", "HIZBALLAH", "LEBANESE HEZBOLLAH", "PARTY OF GOD"),
    org("isil", "ISLAMIC STATE OF IRAQ AND THE LEVANT", "ISLAMIC STATE", "ISIL", "DAESH"),
    org("taliban", "TALIBAN", "TALEBAN"),
    org("houthis", "ANSARALLAH", "ANSAR ALLAH"),
    org("wagner", "PRIVATE MILITARY COMPANY 'WAGNER'", "PMC WAGNER", "WAGNER GROUP"),
    org("channel-one", "JOINT STOCK COMPANY CHANNEL ONE RUSSIA", countries=("Russia",)),
    org(
        "duma",
        "STATE DUMA OF THE FEDERAL ASSEMBLY OF THE RUSSIAN FEDERATION",
        countries=("Russia",),
    ),
    org("cbr", "CENTRAL BANK OF THE RUSSIAN FEDERATION"),
    org("bank-rossiya", "BANK ROSSIYA", countries=("Russia",)),
    org("pkk", "KURDISTAN WORKERS' PARTY", "PKK", "KONGRA-GEL"),
    org("hamas", "HAMAS", "ISLAMIC RESISTANCE MOVEMENT"),
    org("irgc", "ISLAMIC REVOLUTIONARY GUARD CORPS", "IRGC", "PASDARAN", countries=("Iran",)),
    *(e for e in RULE_ENTRIES if e.id in ("khamenei", "kim")),  # as the rule tests list them
    # no anchor: the table's forms are never its names
    org("bank", "ISLAMIC STATE BANK OF TESTLAND"),
    # an anchor's name, of another type than the row's: not linked
    org("kim-shipping", "Kim Jong Un"),
)


@pytest.fixture(scope="module")
def compiled() -> CompiledWatchlists:
    return compile_watchlists([Watchlist("sdn", "", "sdn.yaml", ENTRIES)])


# (kind of form, text, entry, the mention, Match.rule)
FOUND = [
    ("respelling", "Hezbolá lanzó cohetes contra Israel.", "hizballah", "Hezbolá", "exonym:es"),
    ("respelling", "Die Hisbollah feuerte Raketen.", "hizballah", "Hisbollah", "exonym:de"),
    ("translation", "El Estado Islámico reivindicó el atentado.", "isil", "Estado Islámico",
     "exonym:es"),
    ("translation", "O Estado Islâmico reivindicou o ataque.", "isil", "Estado Islâmico",
     "exonym:es"),  # the same name to the matcher as the Spanish one
    ("translation", "Der Islamische Staat bekannte sich.", "isil", "Islamische Staat",
     "exonym:de"),
    ("translation", "L'État islamique a revendiqué l'attaque.", "isil", "L'État islamique",
     "exonym:fr"),
    ("translation", "des combattants de l'Etat islamique", "isil", "Etat islamique",
     "exonym:fr"),
    ("translation", "Lo Stato islamico ha rivendicato.", "isil", "Stato islamico", "exonym:it"),
    ("translation, Polish case", "Bojownicy Państwa Islamskiego zaatakowali.", "isil",
     "Państwa Islamskiego", "exonym:pl"),
    ("translation, Russian case", "Боевики «Исламского государства» напали.", "isil",
     "Исламского государства", "exonym:ru"),
    ("translation, Ukrainian case", "Бойовики «Ісламської держави» напали.", "isil",
     "Ісламської держави", "exonym:uk"),
    ("translation in capitals", "ESTADO ISLÁMICO REIVINDICA EL ATAQUE", "isil",
     "ESTADO ISLÁMICO", "exonym:es"),
    ("plural in lower case", "Los talibanes tomaron Kabul.", "taliban", "talibanes",
     "exonym:es"),
    ("plural at a sentence start", "Talibanes armados patrullan.", "taliban", "Talibanes",
     "exonym:es"),
    ("singular in lower case", "El régimen talibán cayó.", "taliban", "talibán", "exonym:es"),
    ("plural, Russian case", "Представители талибов прибыли.", "taliban", "талибов",
     "exonym:ru"),
    ("plural, Polish", "Talibowie przejęli Kabul.", "taliban", "Talibowie", "exonym:pl"),
    ("Arabic script", "افغان طالبان نے کہا", "taliban", "طالبان", "exonym:ar"),
    ("plural, Russian", "Атаки хуситов продолжаются.", "houthis", "хуситов", "exonym:ru"),
    ("English adjective", "Houthi rebels attacked a ship.", "houthis", "Houthi", "exonym:en"),
    ("quoted name", "Бойцы ЧВК «Вагнер» покинули Бахмут.", "wagner", "ЧВК «Вагнер",
     "exonym:ru"),
    ("generic translation beside the country", "el noticiero de Canal Uno de la televisión rusa",
     "channel-one", "Canal Uno", "exonym:es"),
    # a form opening with a lower-case word is filed under its name word: found mid-sentence
    ("lower-case first word", "Selon Paris, le groupe Wagner est au Mali.", "wagner",
     "groupe Wagner", "exonym:fr"),
    ("lower-case first word", "Llegaron los mercenarios de Wagner a Malí.", "wagner",
     "mercenarios de Wagner", "exonym:es"),
    ("plural, French", "Les talibans ont interdit aux femmes.", "taliban", "talibans",
     "exonym:fr"),
    ("singular, Portuguese, capitalised", "O Talibã proibiu que mulheres falem.", "taliban",
     "Talibã", "exonym:pt"),
    ("German compound", "der Chef der Wagner-Truppe", "wagner", "Wagner-Truppe", "exonym:de"),
    ("everyday word of the language, in a case form", "Депутаты Госдумы проголосовали.",
     "duma", "Госдумы", "exonym:ru"),
    ("Cyrillic name", "Банк России снизил ставку.", "cbr", "Банк России", "exonym:ru"),
    ("English descriptor", "Wagner mercenaries moved into Bakhmut.", "wagner",
     "Wagner mercenaries", "exonym:en"),
    ("translation", "Die Arbeiterpartei Kurdistans erklärte.", "pkk", "Arbeiterpartei Kurdistans",
     "exonym:de"),
    ("acronym of another script, corroborated", "Иран пригрозил: КСИР готов ответить.", "irgc",
     "КСИР", "acronym"),
    ("translation of a generic name, corroborated", "La Guardia Revolucionaria de Irán amenazó.",
     "irgc", "Guardia Revolucionaria", "exonym:es"),
    ("person, Cyrillic", "Лидер КНДР Ким Чен Ын провел испытания.", "kim", "Ким Чен Ын",
     "exonym:ru"),
    ("person, Polish", "Przywódca Korei Kim Dzong Un odwiedził Rosję.", "kim", "Kim Dzong Un",
     "exonym:pl"),
    ("person, Polish case", "Spotkanie z Kim Dzong Unem.", "kim", "Kim Dzong Unem", "exonym:pl"),
    ("person, respelled", "Irans oberster Führer Ali Chamenei drohte.", "khamenei",
     "Ali Chamenei", "exonym:de"),
    ("person, respelled", "El líder supremo, Alí Jamenei, habló.", "khamenei", "Alí Jamenei",
     "exonym:es"),
    ("surname alone, respelled", "Chamenei sagte am Sonntag, Israel werde zahlen.", "khamenei",
     "Chamenei", "surname"),
    ("surname alone, respelled", "Jamenei dijo el domingo que Israel pagará.", "khamenei",
     "Jamenei", "surname"),
]  # fmt: skip

# (kind of form, text, entry): the same forms where they do not name the entity
NOT_FOUND = [
    ("translation in lower case", "Quieren construir un estado islámico moderno.", "isil"),
    ("translation in lower case", "Il rêvait d'un état islamique.", "isil"),
    ("translation in lower case", "Талибы хотят построить исламское государство.", "isil"),
    ("translation in lower case", "Partia chce zbudować państwo islamskie.", "isil"),
    ("translation in lower case", "Ein islamischer Staat sei das Ziel.", "isil"),
    # Arabic حماس is also "enthusiasm": no form of the table, and Latin HAMAS is not it
    ("a word of another sense", "حماس الجماهير كبير", "hamas"),
    ("acronym of another script, alone", "КСИР готов ответить.", "irgc"),
    ("translation of a generic name, alone", "La Guardia Revolucionaria desfiló.", "irgc"),
    ("respelled surname, another given name", "Wolfgang Chamenei sagte.", "khamenei"),
    ("a name of the group alone", "Richard Wagner fans gathered in Bayreuth.", "wagner"),
    # the words are another entity's listed name: Bank Rossiya, not the Bank of Russia
    ("another entity's listed name", "Банк Россия попал под санкции.", "cbr"),
    (
        "generic translation without the country",
        "Channel One in Britain showed the match.",
        "channel-one",
    ),
    ("no anchor: an entry of other names", "El Estado Islámico de Testland", "bank"),
    ("anchor of another type", "Лидер КНДР Ким Чен Ын провел испытания.", "kim-shipping"),
]


@pytest.mark.parametrize("case", FOUND, ids=[f"{c[0]}: {c[1]}" for c in FOUND])
def test_news_spellings_are_found(
    case: tuple[str, str, str, str, str], compiled: CompiledWatchlists
) -> None:
    assert_found(case, compiled)


@pytest.mark.parametrize("case", NOT_FOUND, ids=[f"{c[0]}: {c[1]}" for c in NOT_FOUND])
def test_news_spellings_hold_only_where_they_name_the_entity(
    case: tuple[str, str, str], compiled: CompiledWatchlists
) -> None:
    assert_not_found(*case, compiled)


def test_a_match_by_a_news_spelling_says_why(compiled: CompiledWatchlists) -> None:
    hit = found("Hezbolá lanzó cohetes.", compiled)["hizballah"]
    assert hit.to_json()["rule"] == "exonym:es"
    assert hit.why == "news spelling in another language (es)"


def test_explain_lists_the_news_spellings_with_the_other_names(
    compiled: CompiledWatchlists,
) -> None:
    explainer = Explainer(compiled)
    (hizballah,) = explainer.entries(["sdn/hizballah"])
    names = {n["name"]: n["rule"] for n in explainer.entry(hizballah)["names"]}  # type: ignore[attr-defined]
    assert names["HIZBALLAH"] == "primary name"
    assert names["Hezbolá"] == "news spelling in another language (es)"
    assert names["Hisbollah"] == "news spelling in another language (de)"
    (bank,) = explainer.entries(["sdn/bank"])
    assert [n["name"] for n in explainer.entry(bank)["names"]] == [  # type: ignore[attr-defined]
        "ISLAMIC STATE BANK OF TESTLAND"
    ]


def test_a_hand_made_list_naming_an_anchor_gets_the_forms_too() -> None:
    hezbollah = Entry("middle-east", "hezbollah", "Hezbollah")
    compiled = compile_watchlists([Watchlist("middle-east", "", "me.yaml", (hezbollah,))])
    (hit,) = found("Die Hisbollah feuerte Raketen.", compiled).values()
    assert (hit.entry_id, hit.rule) == ("hezbollah", "exonym:de")


# --- the table's own rules -----------------------------------------------------------------


def test_every_row_has_anchors_forms_and_a_type() -> None:
    rows = exonyms.table()
    assert len(rows) >= 20
    for row in rows:
        assert row.anchors and row.forms, row
        assert row.type in (EntryType.ORGANIZATION, EntryType.PERSON)
        assert not row.surnames or row.type == EntryType.PERSON


def test_no_form_is_written_twice_or_repeats_an_anchor() -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for row in exonyms.table():
        anchors = {name_key(a) for a in row.anchors}
        for form in row.forms:
            if form.name[:1].islower() and len(TOKEN_RE.findall(form.name)) == 1:
                key = form.name  # matched as written (talibán, where TALIBAN is any case)
            else:
                key = name_key(form.name)
            assert key not in anchors, f"{form.name!r} is an anchor of {row.anchors}"
            assert key not in seen, f"{form.name!r} of {row.anchors} also in {seen[key]}"
            seen[key] = row.anchors


# Names the news of a language writes so often that they are its everyday vocabulary, and
# that mean nothing else (looked up): the word lists cannot tell them from other words.
FREQUENT_AS_THEMSELVES = frozenset({"Hisbollah"})


def test_a_one_word_name_is_no_everyday_word_and_a_lower_case_one_no_english_word() -> None:
    """A capitalised one-word form counts like a listed name (inflected, in any case): it is
    no everyday word of a news language unless written in capitals (an acronym, matched as
    written: ``ИГИЛ``, ``FARC``) or known to mean nothing else. A lower-case form
    (``talibanes``, ``талибов``) counts exactly as written, frequent or not: no English word."""
    for row in exonyms.table():
        for form in row.forms:
            if len(TOKEN_RE.findall(form.name)) != 1:
                continue
            lower = form.name.casefold()
            if form.name[:1].islower():
                assert not lexicon.is_dictionary_word(lower), form
            elif not form.name.isupper() and form.name not in FREQUENT_AS_THEMSELVES:
                assert not lexicon.is_everyday_word(lower), form
                assert not lexicon.is_dictionary_word(lower), form


def test_a_phrase_has_several_words_and_a_capital() -> None:
    for row in exonyms.table():
        for form in row.forms:
            if form.capitalised:
                assert len(TOKEN_RE.findall(form.name)) >= 2, form
                assert not form.name.split()[0].islower(), form


# --- against the imported official lists ---------------------------------------------------


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> tuple[Entry, ...]:
    lists = tmp_path_factory.mktemp("official")
    import_lists(watcher_command(), lists)
    return tuple(e for wl in load_watchlists([lists]) for e in wl.entries)


@requires_shared
def test_every_row_links_to_an_entry_of_the_imported_lists(official: tuple[Entry, ...]) -> None:
    linked: dict[int, list[str]] = {}
    for entry in official:
        for row in exonyms.rows_for(entry):
            linked.setdefault(id(row), []).append(entry.key)
    unlinked = [row.anchors for row in exonyms.table() if id(row) not in linked]
    assert not unlinked, f"rows naming no entry of the imported OFAC and UN lists: {unlinked}"


@requires_shared
def test_no_form_is_the_name_of_another_listed_entity(official: tuple[Entry, ...]) -> None:
    cards = build_cards(official)
    names: dict[str, set[str]] = {}
    for entry in official:
        for name in (*entry.names, *(d.name for d in entry.derived)):
            names.setdefault(name_key(name), set()).add(entry.key)
    for entry in official:
        own = {entry.key, *(f"{lst}/{eid}" for lst, eid in cards.get(entry.key, ()))}
        for form in exonyms.forms_for(entry):
            others = names.get(name_key(form.name), set()) - own
            assert not others, f"{form.name!r} of {entry.key} also names {sorted(others)}"


@requires_shared
def test_the_forms_find_their_entries_on_the_imported_lists(official: tuple[Entry, ...]) -> None:
    compiled = compile_watchlists([Watchlist("official", "", "official.yaml", official)])
    hits = found("Los talibanes y Hezbolá. افغان طالبان", compiled)
    assert hits["ofac-6636"].rule == "exonym:es"
    assert hits["ofac-4697"].rule == "exonym:es"
