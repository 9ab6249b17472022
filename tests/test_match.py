"""The matcher against the analyst's checklist: what must be found, what must not.

The watchlists are small fixtures of our own (tests/fixtures/match/*.yaml); the texts are
written for these tests.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from watcher.config.ignore import IgnoreRule
from watcher.config.settings import load_watchlists
from watcher.config.watchlist import Entry, EntryType, Watchlist
from watcher.matching import (
    CompiledWatchlists,
    Match,
    compile_watchlists,
    load_index,
    match,
    prepare,
    save_index,
    scan,
    watchlists_signature,
)

FIXTURES = Path(__file__).parent / "fixtures" / "match"


@pytest.fixture(scope="module")
def watchlists() -> list[Watchlist]:
    return load_watchlists([FIXTURES])


@pytest.fixture(scope="module")
def compiled(watchlists: list[Watchlist]) -> CompiledWatchlists:
    return compile_watchlists(watchlists)


def found(text: str, compiled: CompiledWatchlists) -> dict[str, Match]:
    return {m.entry_id: m for m in match(text, compiled)}


def assert_mention(text: str, entry: str, mention: str, compiled: CompiledWatchlists) -> None:
    hits = found(text, compiled)
    assert entry in hits, f"{entry} not found in {text!r}: got {sorted(hits)}"
    hit = hits[entry]
    assert hit.text == mention
    assert text[hit.start : hit.end] == mention


# (text, entry, the mention as it stands in the text)
FOUND = [
    # case
    ("Shares of ROSNEFT slid.", "rosneft", "ROSNEFT"),
    ("analysts said rosneft would pay", "rosneft", "rosneft"),
    ("A LukOil filling station", "lukoil", "LukOil"),
    ("IGOR SECHIN spoke", "sechin", "IGOR SECHIN"),
    # possessives, also with a typographic apostrophe and the bare apostrophe
    ("Rosneft's output rose", "rosneft", "Rosneft"),
    ("in Putin’s speech", "putin", "Putin"),
    ("the deal was Rosneft’ first", "rosneft", "Rosneft"),
    # hyphenated compounds
    ("a Rosneft-owned refinery", "rosneft", "Rosneft"),
    ("pro-Putin bloggers", "putin", "Putin"),
    ("a Gazprom Neft-run field", "gazprom-neft", "Gazprom Neft"),
    ("the Sovcomflot-operated tanker", "sovcomflot", "Sovcomflot"),
    # raw HTML given as text
    ("met Igor <b>Sechin</b> today", "sechin", "Igor <b>Sechin"),
    ("Lukoil&#8217;s board", "lukoil", "Lukoil"),
    ("said Vagit&nbsp;Alekperov", "alekperov", "Vagit&nbsp;Alekperov"),
    ('<a href="https://example.org/r">Rosneft</a> said', "rosneft", "Rosneft"),
    # line breaks and extra spaces inside a name
    ("President Vladimir\nPutin said", "putin", "Vladimir\nPutin"),
    ("Governor Elvira  Nabiullina said", "nabiullina", "Elvira  Nabiullina"),
    # transliteration variants
    ("Sergei Lavrov met", "lavrov", "Sergei Lavrov"),
    ("Serguei Lavrov met", "lavrov", "Serguei Lavrov"),
    ("Sergueï Lavrov a déclaré", "lavrov", "Sergueï Lavrov"),
    ("Dmitri Peskov told reporters", "peskov", "Dmitri Peskov"),
    ("Dmitriy Peskov told reporters", "peskov", "Dmitriy Peskov"),
    ("Aleksandr Novak said", "novak", "Aleksandr Novak"),
    ("Alexandr Novak said", "novak", "Alexandr Novak"),
    ("a Gazpromneft subsidiary", "gazprom-neft", "Gazpromneft"),
    ("the Gazprom-Neft unit", "gazprom-neft", "Gazprom-Neft"),
    ("Sovkomflot tankers", "sovcomflot", "Sovkomflot"),
    ("Kirill Dmitriyev said", "dmitriev", "Kirill Dmitriyev"),
    ("Sergei Shoygu visited", "shoigu", "Sergei Shoygu"),
    ("Wladimir Putin sagte", "putin", "Wladimir Putin"),
    ("Igor Setschin sagte", "sechin", "Igor Setschin"),
    ("selon Vladimir Poutine", "putin", "Vladimir Poutine"),
    # small typos in long names
    ("Governor Nabiulina said", "nabiullina", "Nabiulina"),
    ("Vagit Alekperow said", "alekperov", "Vagit Alekperow"),
    ("shares of Rosnfet rose", "rosneft", "Rosnfet"),
    ("the Lukiol station", "lukoil", "Lukiol"),
    ("Surgutnefetgas reported", "surgutneftegas", "Surgutnefetgas"),
    ("Igor Sechn said", "sechin", "Igor Sechn"),
    ("Anton Siluyanov said", "siluanov", "Anton Siluyanov"),
    # Cyrillic, inflected as Russian and Ukrainian news write it
    ("Встреча с Путиным прошла", "putin", "Путиным"),
    ("заява Путіна", "putin", "Путіна"),
    ("акции Роснефти выросли", "rosneft", "Роснефти"),
    ("сделка с «Лукойлом»", "lukoil", "Лукойлом"),
    ("акции ЛУКОЙЛ выросли", "lukoil", "ЛУКОЙЛ"),
    ("заявление Сергея Лаврова", "lavrov", "Сергея Лаврова"),
    ("председатель Набиуллиной", "nabiullina", "Набиуллиной"),
    # Latin names only in Cyrillic on the list, and the other way round
    ("по словам Кирилла Дмитриева", "dmitriev", "Кирилла Дмитриева"),
    ("акции Новатэка", "novatek", "Новатэка"),
    ("Deputy prime minister Dmitry Kozak said", "kozak", "Dmitry Kozak"),
    ("pipeline operator Transneft said", "transneft", "Transneft"),
    # Polish press forms
    ("Władimir Putin przyleciał", "putin", "Władimir Putin"),
    ("rozmowa z Putinem", "putin", "Putinem"),
    ("Siergiej Ławrow powiedział", "lavrov", "Siergiej Ławrow"),
    ("spotkanie z Ławrowem", "lavrov", "Ławrowem"),
    ("rzecznik Dmitrij Pieskow", "peskov", "Dmitrij Pieskow"),
    ("Rosnieft podała", "rosneft", "Rosnieft"),
    ("akcje Łukoilu spadły", "lukoil", "Łukoilu"),
    # initials and list order
    ("a decree signed by V. Putin", "putin", "V. Putin"),
    ("signed V.V. Putin", "putin", "V.V. Putin"),
    # a middle initial belongs to the mention (the digest highlights all of it)
    ("President Vladimir V. Putin said", "putin", "Vladimir V. Putin"),
    ("Putin said. Later Vladimir V. Putin met", "putin", "Vladimir V. Putin"),
    ("minister Sergey V. Lavrov said", "lavrov", "Sergey V. Lavrov"),
    ("signed В. В. Путин", "putin", "В. В. Путин"),
    ("Designated: PUTIN, Vladimir", "putin", "PUTIN, Vladimir"),
    ("Listed: LAVROV Sergey", "lavrov", "LAVROV Sergey"),
    # aliases, and a bare surname when the entry lists it
    ("NK Rosneft said", "rosneft", "NK Rosneft"),
    ("Lavrov said", "lavrov", "Lavrov"),
    # look-alike letters from the other script, invisible characters, patronymics, spacing
    ("the decree of Рutin", "putin", "Рutin"),
    ("spokesman Pes\u200dkov said", "peskov", "Pes\u200dkov"),
    ("Alexander Valentinovich Novak said", "novak", "Alexander Valentinovich Novak"),
    ("віцепрем'єр Олександр Новак заявив", "novak", "Олександр Новак"),
    ("промова Володимира Путіна", "putin", "Володимира Путіна"),
    ("a loan from Gazprom Bank", "gazprombank", "Gazprom Bank"),
    ("a loan from Gazprom-bank", "gazprombank", "Gazprom-bank"),
    ("akcje Gazpromu spadły", "gazprom", "Gazpromu"),
    ("ALFA-BANK said", "alfa-bank", "ALFA-BANK"),
    # a vessel name that is a word, beside a word saying it is a ship
    ("the tanker Falcon was seized", "falcon", "Falcon"),
    ("Kiriyenko said", "kiriyenko", "Kiriyenko"),
    ("President Kiriyenko said", "kiriyenko", "Kiriyenko"),
    # short names, exactly as written
    ("VTB's chief", "vtb", "VTB"),
    ("JUSTICE, a vessel", "justice", "JUSTICE"),
    ("the Vista group", "vista", "Vista"),
]


@pytest.mark.parametrize(("text", "entry", "mention"), FOUND)
def test_finds_what_an_analyst_finds(
    text: str, entry: str, mention: str, compiled: CompiledWatchlists
) -> None:
    assert_mention(text, entry, mention, compiled)


# (text, entry that must NOT be reported)
NOT_FOUND = [
    # a different person sharing a surname (Novak's entry has no surname-only alias)
    ("Novak Djokovic won in straight sets", "novak"),
    ("the actress Kim Novak", "novak"),
    ("Novak said nothing", "novak"),
    # a name inside another word
    ("a Rasputin biography", "putin"),
    ("Lavrovsky street", "lavrov"),
    ("cloud computing stocks", "putin"),
    ("Rosneftegaz holds the stake", "rosneft"),
    # a shorter company name that is another company
    ("Gazprom Export said", "gazprom-neft"),
    ("Gazprom said", "gazprom-neft"),
    # look-alike names
    ("Sachin scored a century", "sechin"),
    ("Sachin Tendulkar retired", "sechin"),
    ("Sovcombank said", "sovcomflot"),
    ("SpareBank 1 reported", "sberbank"),
    ("Novartis shares rose", "novatek"),
    # no typo tolerance on short names
    ("VTV broadcast it", "vtb"),
    ("TVB broadcast it", "vtb"),
    ("vtb", "vtb"),
    # common words need an exact, case-exact hit
    ("justice was done", "justice"),
    ("Justice was done", "justice"),
    ("a sweeping vista", "vista"),
    ("VISTA", "vista"),
    # initials must fit and be initials
    ("signed J. Novak", "novak"),
    ("a man named Kozakov", "kozak"),
    # list order needs a comma or capitals
    ("Novak Alexander", "novak"),
    # relatives and namesakes: another given name before a listed surname
    ("Lyudmila Putina, his former wife", "putin"),
    ("his daughter Ekaterina Lavrova", "lavrov"),
    ("his son Vladimir Kiriyenko", "kiriyenko"),
    # a real word respelled is another name; a vessel name that is a word needs a ship
    ("Alpha Bank reported profits", "alfa-bank"),
    ("a Falcon Heavy launch", "falcon"),
]


@pytest.mark.parametrize(("text", "entry"), NOT_FOUND)
def test_does_not_cry_wolf(text: str, entry: str, compiled: CompiledWatchlists) -> None:
    assert entry not in found(text, compiled)


def test_initials_need_the_right_letter(compiled: CompiledWatchlists) -> None:
    hits = found("a decree signed by A. Putin", compiled)
    assert hits["putin"].text == "Putin"  # the bare surname alias, not "A. Putin"
    assert found("a decree signed by A. Novak", compiled)["novak"].text == "A. Novak"


def test_list_order_without_comma_or_capitals_is_not_a_full_name(
    compiled: CompiledWatchlists,
) -> None:
    assert found("met Sechin Igor", compiled)["sechin"].text == "Sechin"  # the bare alias
    assert found("met SECHIN Igor", compiled)["sechin"].text == "SECHIN Igor"


def test_offsets_text_and_snippet(compiled: CompiledWatchlists) -> None:
    text = "Opening words. " * 10 + "Rosneft's  chief\nIgor Sechin met bankers. " + "More. " * 20
    hits = found(text, compiled)
    sechin = hits["sechin"]
    assert text[sechin.start : sechin.end] == "Igor Sechin" == sechin.text
    assert "Igor Sechin met bankers." in sechin.snippet
    assert "  " not in sechin.snippet and "\n" not in sechin.snippet
    assert len(sechin.snippet) <= 170
    assert sechin.snippet.startswith("…") and sechin.snippet.endswith("…")
    assert hits["rosneft"].text == "Rosneft"  # the possessive is not part of the mention


def test_match_fields_come_from_the_entry(compiled: CompiledWatchlists) -> None:
    (hit,) = match("Aleksandr Novak met", compiled)
    assert (hit.list_name, hit.entry_id, hit.name) == ("people", "novak", "Alexander Novak")
    assert hit.type == EntryType.PERSON
    assert hit.alias == "Alexander Novak"
    assert 90 <= hit.score < 100  # a transliteration variant, not the exact name
    assert hit.to_json()["entry"] == "novak"


def test_exact_name_scores_100_and_variants_less(compiled: CompiledWatchlists) -> None:
    assert found("Rosneft said", compiled)["rosneft"].score == 100
    assert (
        found("Rosnfet said", compiled)["rosneft"].score
        < found("Роснефти сообщила", compiled)["rosneft"].score
    )


def test_mentions_merged_per_entry(compiled: CompiledWatchlists) -> None:
    text = "Vladimir Putin spoke. Later Putin left. Putin’s aides stayed. V. Putin signed."
    hits = match(text, compiled)
    putin = [m for m in hits if m.entry_id == "putin"]
    assert len(putin) == 1
    assert putin[0].mentions == 4
    assert putin[0].text == "Vladimir Putin"  # the best mention: the full name


def test_longer_name_of_another_entry_wins(compiled: CompiledWatchlists) -> None:
    hits = found("Gazprom Neft and Gazprom", compiled)
    assert hits["gazprom-neft"].text == "Gazprom Neft"
    assert hits["gazprom"].mentions == 1  # only the standalone "Gazprom"
    assert hits["gazprom"].start == len("Gazprom Neft and ")


def test_per_entry_threshold(compiled: CompiledWatchlists) -> None:
    assert "sberbank" in found("Sberbank said", compiled)
    assert "sberbank" not in found("Sberbnak said", compiled)  # a typo, under its 99


def test_global_threshold(watchlists: list[Watchlist]) -> None:
    strict = compile_watchlists(watchlists, threshold=97)
    assert "rosneft" in found("Rosneft said", strict)
    assert "rosneft" not in found("Rosnfet said", strict)
    assert "lukoil" in found("Lukoil said", strict)


def test_exclude_phrases(compiled: CompiledWatchlists) -> None:
    assert "rosneft" not in found("a match at the Rosneft Arena", compiled)
    hits = found("Rosneft, owner of the Rosneft Arena, said", compiled)
    assert hits["rosneft"].mentions == 1


def test_weak_alias_never_raises_a_match(compiled: CompiledWatchlists) -> None:
    assert "gazprom" not in found("GP said", compiled)
    assert "gazprom" in found("Gazprom said", compiled)


def test_vessels_only_when_opted_in(compiled: CompiledWatchlists) -> None:
    assert "tanker" not in found("the Grace Harbour docked", compiled)
    assert "tanker-watched" in found("the Silver Kestrel docked", compiled)


def test_ignore_rules_suppress_and_report(watchlists: list[Watchlist]) -> None:
    phrase_rule = IgnoreRule(phrase="Putin Street", reason="a street name")
    entry_rule = IgnoreRule(entry="companies/vista", reason="noise")
    both = IgnoreRule(phrase="Lukoil Arena", entry="lukoil")
    compiled = compile_watchlists(watchlists, ignore=[phrase_rule, entry_rule, both])
    result = scan(
        "Cafes on Putin Street. The Vista group. A game at Lukoil Arena. Sechin spoke.",
        compiled,
    )
    assert {m.entry_id for m in result.matches} == {"sechin"}
    suppressed = {(m.entry_id, rule) for m, rule in result.suppressed}
    assert suppressed == {("putin", phrase_rule), ("vista", entry_rule), ("lukoil", both)}
    assert match("Putin spoke on Putin Street.", compiled)[0].mentions == 1


def test_phrase_rule_for_one_entry_leaves_others(watchlists: list[Watchlist]) -> None:
    rule = IgnoreRule(phrase="Lukoil Arena", entry="people/putin")
    compiled = compile_watchlists(watchlists, ignore=[rule])
    assert "lukoil" in found("A game at Lukoil Arena", compiled)


def test_nothing_found_in_plain_news(compiled: CompiledWatchlists) -> None:
    text = "The central bank kept rates on hold, citing inflation and a strong labour market."
    assert scan(text, compiled).matches == ()
    assert match("", compiled) == []


def test_compiled_index_pickles_and_saves(
    watchlists: list[Watchlist], compiled: CompiledWatchlists, tmp_path: Path
) -> None:
    match("Rosneft said", compiled)  # fills the memo, which is not saved
    copy = pickle.loads(pickle.dumps(compiled))
    assert compiled.token_cache and copy.token_cache == {}
    assert found("Сергея Лаврова", copy)["lavrov"].text == "Сергея Лаврова"
    path = tmp_path / "index.pickle"
    save_index(compiled, path)
    signature = watchlists_signature(watchlists)
    loaded = load_index(path, signature)
    assert loaded is not None and "rosneft" in found("Rosnfet said", loaded)
    assert load_index(path, "another signature") is None
    assert load_index(tmp_path / "absent.pickle") is None
    (tmp_path / "garbage.pickle").write_bytes(b"not a pickle")
    assert load_index(tmp_path / "garbage.pickle") is None


def test_a_prepared_index_reads_typos_as_one_built_on_first_use(
    watchlists: list[Watchlist],
) -> None:
    lazy, prepared = compile_watchlists(watchlists), compile_watchlists(watchlists)
    prepare(prepared)  # what the daemon does for each snapshot, before any article
    assert prepared.deletion_indexes.keys() == prepared.fuzzy_keys.keys()
    assert lazy.deletion_indexes == {}  # nothing read yet: nothing built
    for text in ("Vagit Alekperow said", "shares of Rosnfet rose", "the Lukiol station"):
        assert match(text, prepared) == match(text, lazy) != []


def test_person_names_in_list_order_from_the_list() -> None:
    entry = Entry("sdn", "p1", "SECHIN, Igor Ivanovich", EntryType.PERSON)
    compiled = compile_watchlists([Watchlist("sdn", "", "", (entry,))])
    assert found("Igor Ivanovich Sechin said", compiled)["p1"].text == "Igor Ivanovich Sechin"
    assert found("Igor Sechin said", compiled)["p1"].text == "Igor Sechin"  # no patronymic
    assert "p1" not in found("Ivanovich Sechin said", compiled)


def test_middle_names_are_not_dropped_unless_patronymic() -> None:
    entry = Entry("sdn", "p2", "Mohamad Hassan Ismail", EntryType.PERSON)
    compiled = compile_watchlists([Watchlist("sdn", "", "", (entry,))])
    assert "p2" in found("Mohamad Hassan Ismail said", compiled)
    assert "p2" not in found("Mohamad Ismail said", compiled)


def test_legal_words_may_be_left_out_but_not_to_a_bare_word() -> None:
    entries = (
        Entry("sdn", "c1", "PJSC Gazprom Neft"),
        Entry("sdn", "c2", "OOO Viktoriya"),
    )
    compiled = compile_watchlists([Watchlist("sdn", "", "", entries)])
    assert found("Gazprom Neft said", compiled)["c1"].text == "Gazprom Neft"
    assert "c2" not in found("Victoria said", compiled)
    assert "c2" in found("OOO Viktoriya said", compiled)


def test_a_legal_form_of_several_words_is_left_out_whole() -> None:
    entries = (Entry("sdn", "m1", "MYANMA ECONOMIC HOLDINGS PUBLIC COMPANY LIMITED"),)
    compiled = compile_watchlists([Watchlist("sdn", "", "", entries)])
    text = "Myanma Economic Holdings runs breweries"
    assert found(text, compiled)["m1"].text == "Myanma Economic Holdings"


def test_everyday_words_are_not_one_word_names() -> None:
    entries = (Entry("sdn", "e1", "NAFTA"), Entry("sdn", "e2", "CNOOC"))
    compiled = compile_watchlists([Watchlist("sdn", "", "", entries)])
    assert "e1" not in found("ceny nafta rosną", compiled)  # Polish: crude oil
    assert "e1" in found("the NAFTA treaty", compiled)
    assert "e2" not in found("The Knock on effect", compiled)
    assert "e2" in found("CNOOC said", compiled)


def test_cost_does_not_depend_on_names_that_cannot_match(watchlists: list[Watchlist]) -> None:
    """The index looks words up: a thousand unrelated names add no pattern checks."""
    filler = tuple(Entry("filler", f"f{i}", f"Zyxw{i:04d}qorp Holdings") for i in range(1000))
    big = compile_watchlists([*watchlists, Watchlist("filler", "", "", filler)])
    small = compile_watchlists(watchlists)
    text = "Igor Sechin and Rosneft met Lukoil; " * 5
    assert [m.entry_id for m in match(text, big)] == [m.entry_id for m in match(text, small)]
    assert big.token_cache.keys() == small.token_cache.keys()
    assert all(big.token_cache[token] == small.token_cache[token] for token in small.token_cache)
