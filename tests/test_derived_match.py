"""Golden found / not-found pairs: the matcher finds the forms the importers derive, and
only those the list keeps (an analyst deletes one, and it is no longer found)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from import_helpers import FIXTURES

from watcher.config.watchlist import DerivedName, Entry, EntryType, NameParts, Watchlist
from watcher.importers.ofac import import_ofac
from watcher.matching import CompiledWatchlists, compile_watchlists, match
from watcher.matching.explain import Explainer

NAMES = FIXTURES / "names"


@pytest.fixture(scope="module")
def ofac() -> Watchlist:
    result = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac")
    return Watchlist("ofac", "", "ofac.yaml", result.entries)


@pytest.fixture(scope="module")
def compiled(ofac: Watchlist) -> CompiledWatchlists:
    return compile_watchlists([ofac])


def found(text: str, compiled: CompiledWatchlists) -> set[str]:
    return {m.entry_id for m in match(text, compiled)}


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("Kim Jong Un inspected a missile launch on Sunday.", "ofac-20157"),
        ("North Korean leader Kim Jong-un inspected a missile launch.", "ofac-20157"),
        ("Supreme Leader Ali Khamenei spoke in Tehran.", "ofac-26945"),
        ("Venezuela's President Nicolás Maduro addressed the assembly.", "ofac-22790"),
        ("Syria's Bashar al-Assad fled to Moscow.", "ofac-12735"),
        ("The fall of Bashar Assad's government surprised many.", "ofac-12735"),
        ("Vladimir Putin said on Tuesday ...", "ofac-35096"),
    ],
)
def test_derived_form_is_found(text: str, entry: str, compiled: CompiledWatchlists) -> None:
    assert entry in found(text, compiled)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("Kim Jong Il died in 2011.", "ofac-20157"),  # his father
        ("Viktor Kim of Moscow", "ofac-20157"),
        ("Ali Larijani met Mojtaba Khamenei.", "ofac-26945"),  # another Khamenei
        ("Nicolás Maduro Guerra, the president's son, spoke.", "ofac-22790"),
        ("Abdul Rauf, a builder from Leeds, won the award.", "ofac-90102"),  # common names only
        ("Mohammad Ismail scored twice for the club.", "ofac-90101"),
        ("Ahmad Rezaei, the footballer, signed.", "ofac-90104"),  # derived by two: by neither
        ("Ahmad Rezaei, the footballer, signed.", "ofac-90105"),
    ],
)
def test_not_found(text: str, entry: str, compiled: CompiledWatchlists) -> None:
    assert entry not in found(text, compiled)


def test_the_son_is_found_as_himself(compiled: CompiledWatchlists) -> None:
    assert found("Nicolás Maduro Guerra, the president's son, spoke.", compiled) == {"ofac-26946"}


def rules(text: str, compiled: CompiledWatchlists) -> dict[str, str]:
    return {m.entry_id: m.rule for m in match(text, compiled)}


def test_a_deleted_derived_form_is_no_longer_found(ofac: Watchlist) -> None:
    text = "Ali Khamenei spoke in Tehran."
    assert rules(text, compile_watchlists([ofac])) == {"ofac-26945": "derived:given-family"}
    edited = tuple(
        dataclasses.replace(e, derived=()) if e.id == "ofac-26945" else e for e in ofac.entries
    )
    # what remains is the surname rule (his listed title makes him prominent), not the form
    after = rules(text, compile_watchlists([dataclasses.replace(ofac, entries=edited)]))
    assert after == {"ofac-26945": "surname"}
    untitled = tuple(dataclasses.replace(e, titles=()) for e in edited)
    assert "ofac-26945" not in found(
        text, compile_watchlists([dataclasses.replace(ofac, entries=untitled)])
    )


def test_explain_names_the_rule_of_a_derived_form(compiled: CompiledWatchlists) -> None:
    (kim,) = match("Kim Jong-un inspected a launch.", compiled)
    why = Explainer(compiled).match(kim)
    assert why["rule"] == "derived:family-first"
    # Kim Jong Un and Kim Jong-un read the same (a name of short words matches in any case):
    # the first derived form stands for both
    assert why["name"] == "Kim Jong Un"
    assert why["name_rule"] == "derived form (family-first)"
    assert why["listed_on"] == ["ofac ofac-20157"]
    (putin,) = match("Vladimir Vladimirovich Putin", compiled)
    assert Explainer(compiled).match(putin)["name_rule"] == "primary name"


def test_explain_says_a_surname_alone_is_no_listed_name(compiled: CompiledWatchlists) -> None:
    """The bare surname is the matcher's reading of the entry's names, not a listed alias."""
    (putin,) = match("Putin said no.", compiled)
    why = Explainer(compiled).match(putin)
    assert why["name_rule"] == "surname (read by the matcher from its names, not listed)"
    assert (
        Explainer(compiled).lines(putin)[0].startswith("why: matched 'Putin', the entry's surname")
    )


def test_compiled_index_with_derived_rules_survives_pickling(
    compiled: CompiledWatchlists, tmp_path: Path
) -> None:
    from watcher.matching import load_index, save_index

    save_index(compiled, tmp_path / "index.pickle")
    loaded = load_index(tmp_path / "index.pickle")
    assert loaded is not None
    (kim,) = match("Kim Jong Un", loaded)
    assert Explainer(loaded).match(kim)["name_rule"] == "derived form (family-first)"


def _haqqani(list_name: str, entry_id: str, name: str, born: str) -> Entry:
    parts = NameParts(("Khalil",), (name.split()[1],), ("Haqqani",))
    return Entry(
        list_name, entry_id, name, EntryType.PERSON, name_parts=parts, birth_dates=(born,),
        derived=(DerivedName("Khalil Haqqani", "given-family"),),
    )  # fmt: skip


def test_a_form_two_lists_derive_for_one_person_is_his() -> None:
    """The same man on OFAC and the UN (one card: a birth date and a name shared) derives
    ``Khalil Haqqani`` twice: one person, so the form counts; a namesake born another year
    on the other list shares it, and then it tells no one apart."""
    ofac = _haqqani("ofac", "o1", "Khalil Al-Rahman Haqqani", "1966-01-01")
    same = _haqqani("un", "u1", "Khalil Ahmed Haqqani", "1966-01-01")
    other = _haqqani("un", "u2", "Khalil Ahmed Haqqani", "1980")
    text = "Refugee minister Khalil Haqqani was killed in Kabul."
    one_man = compile_watchlists(
        [Watchlist("ofac", "", "", (ofac,)), Watchlist("un", "", "", (same,))]
    )
    assert [m.entry_id for m in match(text, one_man)] == ["o1"]  # one card, reported once
    two_men = compile_watchlists(
        [Watchlist("ofac", "", "", (ofac,)), Watchlist("un", "", "", (other,))]
    )
    assert match(text, two_men) == []
