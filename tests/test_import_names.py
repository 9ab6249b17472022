"""What the importers keep about names and identities, and the name forms they derive.

Fixtures in tests/fixtures/import/names are excerpts in the real formats (OFAC CSV rows as
OFAC writes them, a UN XML excerpt, OpenSanctions FtM lines); the last tests read the real
lists in ../shared/data when present.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import requires_shared, shared_dir
from import_helpers import FIXTURES, by_id, load_written

from watcher.config.watchlist import DerivedName, Entry, EntryType, NameOrder, NameParts, Severity
from watcher.importers import derive
from watcher.importers.common import ImportResult
from watcher.importers.names import birth_date, split_remarks
from watcher.importers.ofac import import_ofac
from watcher.importers.opensanctions import import_opensanctions
from watcher.importers.un import import_un
from watcher.importers.writer import render

NAMES = FIXTURES / "names"


def ofac() -> dict[str, Entry]:
    return by_id(import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac").entries)


def derived(entry: Entry) -> dict[str, str]:
    return {d.name: d.rule for d in entry.derived}


# --- name parts and facts --------------------------------------------------------------------


def test_ofac_keeps_name_parts_titles_countries_birth_dates_and_identifiers() -> None:
    putin = ofac()["ofac-35096"]
    assert putin.name_parts == NameParts(("Vladimir",), ("Vladimirovich",), ("Putin",))
    assert putin.titles == ("President of the Russian Federation",)
    assert putin.countries == ("Russia",)
    assert putin.birth_dates == ("1952-10-07",)
    maduro = ofac()["ofac-22790"]
    assert maduro.name_parts == NameParts(("Nicolas",), (), ("Maduro", "Moros"))
    assert maduro.identifiers == ("national-id:5892464",)
    assert maduro.titles == ("President of the Bolivarian Republic of Venezuela",)
    nurjaman = ofac()["ofac-90110"]
    # "National ID No. 12-34" is too short to tell one person from another
    assert nurjaman.identifiers == ("passport:A1234567",)
    assert ofac()["ofac-90102"].birth_dates == ("1965",)  # "circa 1965"
    assert ofac()["ofac-10761"].name_parts is None  # an organisation


def test_korean_name_is_family_first_by_nationality_or_shape_not_by_surname_alone() -> None:
    kim = ofac()["ofac-20157"]  # no nationality given: "Jong Un" looks Korean
    assert kim.name == "Jong Un Kim"  # the primary name is unchanged (ids and diffs rely on it)
    assert kim.name_parts == NameParts(("Jong Un",), (), ("Kim",), NameOrder.FAMILY_FIRST)
    viktor = ofac()["ofac-90103"]  # KIM, Viktor Pavlovich of Russia
    assert viktor.name_parts is not None
    assert viktor.name_parts.order is NameOrder.GIVEN_FIRST
    assert "Kim Viktor" not in derived(viktor)


def test_un_keeps_parts_in_the_order_the_un_writes_them() -> None:
    entries = by_id(import_un([NAMES / "un.xml"], "un").entries)
    yun = entries["un-kpi.001"]
    assert yun.name == "Yun Ho-Jin"
    assert yun.name_parts == NameParts(("Ho-Jin",), (), ("Yun",), NameOrder.FAMILY_FIRST)
    assert yun.titles == ("Director of Namchongang Trading Corporation",)
    assert yun.countries == ("Democratic People's Republic of Korea",)
    assert yun.derived == ()  # already written the way news writes it
    tantoush = entries["un-qdi.057"]
    assert tantoush.name_parts == NameParts(("Ibrahim",), ("Ali", "Abu Bakr"), ("Tantoush",))
    assert tantoush.identifiers == ("passport:203037",)
    assert tantoush.birth_dates == ("1966-02-02",)
    assert derived(tantoush) == {"Ibrahim Tantoush": "given-family"}


def test_un_remarks_never_become_aliases() -> None:
    tantoush = by_id(import_un([NAMES / "un.xml"], "un").entries)["un-qdi.057"]
    assert "Abdel Ilah Sabri" in tantoush.aliases
    assert not [n for n in (*tantoush.names, *tantoush.weak_aliases) if "(" in n]
    assert "alias Abdel Ilah Sabri: false identity related to fraudulent" in tantoush.notes
    # other spellings in parentheses are names of their own; a title is a title
    assert {"حسن غول", "Hassan Ghul", "Hassan Gul"} <= set(tantoush.aliases)
    assert "Musa Hilal" in tantoush.weak_aliases
    assert "Sheikh" in tantoush.titles


def test_un_organisation_acronym_in_parentheses_is_a_weak_alias() -> None:
    aqy = by_id(import_un([NAMES / "un.xml"], "un").entries)["un-qde.129"]
    assert aqy.name == "AL-QAIDA IN YEMEN"
    assert "Al-Qaida Organization in the Arabian Peninsula" in aqy.aliases
    assert {"AQY", "AQAP"} <= set(aqy.weak_aliases)


def test_opensanctions_name_properties() -> None:
    entries = by_id(import_opensanctions([NAMES / "entities.ftm.json"], "os").entries)
    putin = entries["os-q7747"]
    assert putin.name_parts == NameParts(("Vladimir",), ("Vladimirovich",), ("Putin",))
    assert putin.titles == ("President of the Russian Federation",)
    assert putin.birth_dates == ("1952-10-07",)
    assert putin.identifiers == ("passport:123456789",)
    assert derived(putin) == {"Vladimir Putin": "given-family"}
    kim = entries["os-nk-kju"]  # nationality "kp", written family name first already
    assert kim.name_parts == NameParts(("Jong Un",), (), ("Kim",), NameOrder.FAMILY_FIRST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07 Oct 1952", "1952-10-07"),
        ("Jan 1965", "1965-01"),
        ("1969", "1969"),
        ("circa 1960", "1960"),
        ("1963-04-11", "1963-04-11"),
        ("1960 to 1962", ""),
    ],
)
def test_birth_dates_as_iso(text: str, expected: str) -> None:
    assert birth_date(text) == expected


def test_remarks_split_from_names() -> None:
    found = split_remarks("Safia Farkash Al-Hadad, born 1 Jan. 1953 (Oman passport no.03825239)")
    assert found.name == "Safia Farkash Al-Hadad"
    assert found.remarks and found.remarks[0].startswith("born 1 Jan. 1953")
    nested = split_remarks("Hay’at Tahrir al-Sham (HTS) (هيئة تحرير الشام (original script); HTS2)")
    assert nested.name == "Hay’at Tahrir al-Sham"
    assert nested.acronyms == ("HTS",)
    assert "هيئة تحرير الشام" in nested.other_names
    assert split_remarks("EL PARA (COMBAT NAME)").remarks == ("COMBAT NAME",)


# --- derived forms: one found/not-found pair per rule ----------------------------------------


def test_given_family_without_middle_names() -> None:
    assert derived(ofac()["ofac-26945"]) == {"Ali Khamenei": "given-family"}
    assert derived(ofac()["ofac-27848"]) == {}  # Mojtaba Khamenei: nothing to leave out


def test_family_first_for_korean_names() -> None:
    assert derived(ofac()["ofac-20157"]) == {
        "Kim Jong Un": "family-first",
        "Kim Jong-un": "family-first",
    }
    assert "Kim Viktor Pavlovich" not in derived(ofac()["ofac-90103"])


def test_first_of_two_spanish_surnames() -> None:
    assert derived(ofac()["ofac-22790"]) == {"Nicolas Maduro": "first-surname"}
    # the son's "Nicolas Maduro" leaves out more words: it stays with the father
    assert derived(ofac()["ofac-26946"]) == {"Nicolas Maduro Guerra": "given-family"}


def test_arabic_family_name_without_its_article() -> None:
    assert derived(ofac()["ofac-12735"]) == {
        "Bashar Al-Asad": "given-family",
        "Bashar Asad": "arabic-last",
    }
    assert derived(ofac()["ofac-90109"]) == {}  # Karim Haddad: no article, nothing left out


def test_an_honorific_or_rank_is_not_the_given_name() -> None:
    badri = ofac()["ofac-12926"]  # AL-BADRI, Dr. Ibrahim 'Awwad Ibrahim 'Ali
    assert badri.name_parts == NameParts(("Ibrahim",), ("'Awwad", "Ibrahim", "'Ali"), ("Al-Badri",))
    assert "Dr. Al-Badri" not in derived(badri) and "Dr. Badri" not in derived(badri)
    assert derived(badri)["Ibrahim Al-Badri"] == "given-family"
    assert derived(badri)["Ibrahim Badri"] == "arabic-last"
    hamudat = ofac()["ofac-8228"]  # HAMUDAT, General Maki Mustafa
    assert derived(hamudat) == {"Maki Hamudat": "given-family"}


def test_haji_stays_part_of_the_name() -> None:
    agha = ofac()["ofac-6938"]  # AGHA, Haji Abdul Manan: lists and news write Haji with it
    assert agha.name_parts == NameParts(("Haji",), ("Abdul", "Manan"), ("Agha",))


def test_a_weak_alias_that_shortens_a_strong_name_is_derived() -> None:
    badri = ofac()["ofac-12926"]  # strong: Abu Bakr al-Baghdadi al-Husayni Al-Quraishi
    assert "ABU BAKR AL-BAGHDADI" in badri.weak_aliases
    assert derived(badri)["ABU BAKR AL-BAGHDADI"] == "weak-alias"
    assert "DR. IBRAHIM" not in derived(badri)  # an honorific and a common given name
    # Abu Hafs: a kunya of common words; Hizb Ullah: written together, Hizbullah (another name)
    assert "ABU HAFS" not in derived(ofac()["ofac-6367"])
    assert "Hizb Ullah" not in derived(ofac()["ofac-23685"])


def test_no_form_made_only_of_common_given_names() -> None:
    assert derived(ofac()["ofac-90101"]) == {}  # not "Mohammad Ismail"
    assert derived(ofac()["ofac-90102"]) == {}  # not "Abdul Rauf"


def test_no_form_that_is_another_entrys_name_or_derived_by_two() -> None:
    assert derived(ofac()["ofac-90108"]) == {}  # "Karim Haddad" is ofac-90109's name
    assert derived(ofac()["ofac-90104"]) == derived(ofac()["ofac-90105"]) == {}  # Ahmad Rezaei


def test_common_given_names_are_counted_in_the_list_itself() -> None:
    def person(id_: str, given: str, middle: str, family: str) -> Entry:
        parts = NameParts((given,), (middle,), (family,))
        return Entry("l", id_, f"{given} {middle} {family}", EntryType.PERSON, name_parts=parts)

    zoran = [person(f"z{i}", "Zoran", "Petar", f"Family{i}") for i in range(3)]
    target = person("t", "Zoran", "Ivo", "Petar")  # "Zoran Petar": two common given names
    assert derive.with_derived([*zoran, target])[-1].derived == ()
    alone = person("t", "Zoran", "Ivo", "Petar")
    assert derive.with_derived([alone])[0].derived == (DerivedName("Zoran Petar", "given-family"),)


def test_every_given_name_with_the_first_surname() -> None:
    parts = NameParts(("Tarek", "William"), (), ("Saab", "Halabi"))
    saab = Entry(
        "l", "s", "Tarek William Saab Halabi", EntryType.PERSON, name_parts=parts,
        countries=("Venezuela",),
    )  # fmt: skip
    assert derive.with_derived([saab])[0].derived == (
        DerivedName("Tarek Saab Halabi", "given-family"),
        DerivedName("Tarek Saab", "first-surname"),
        DerivedName("Tarek William Saab", "first-surname"),  # as Spanish news writes him
    )
    russian = dataclasses.replace(saab, countries=("Russia",))  # one surname, two words
    assert DerivedName("Tarek William Saab", "first-surname") not in (
        derive.with_derived([russian])[0].derived
    )


def test_no_first_surname_form_of_a_common_spanish_name() -> None:
    def mexican(id_: str, given: str, middle: str, family: tuple[str, str]) -> Entry:
        parts = NameParts((given,), (middle,) if middle else (), family)
        name = f"{given} {middle} {' '.join(family)}"
        return Entry("l", id_, name, EntryType.PERSON, name_parts=parts, countries=("Mexico",))

    # ten listed Sanchezes, three listed Pedros: "Pedro Sanchez" tells none of them apart
    others = [mexican(f"s{i}", f"Given{i}", "Pedro", ("Sanchez", f"Other{i}")) for i in range(10)]
    pedro = mexican("pedro", "Pedro", "", ("Sanchez", "Medrano"))  # not Spain's prime minister
    # only after a title in an item naming Mexico (`DerivedName.needs`)
    gated = DerivedName("Pedro Sanchez", "first-surname", "cue-and-country")
    assert derive.with_derived([*others, pedro])[-1].derived == (gated,)
    alone = derive.with_derived([pedro])[0]
    assert alone.derived == (DerivedName("Pedro Sanchez", "first-surname"),)
    # listed against a cartel, not a government: no title makes the common name his
    trafficker = dataclasses.replace(pedro, programs=("SDNTK",))
    assert derive.with_derived([*others, trafficker])[-1].derived == ()


def _nicaraguans(country: str) -> list[Entry]:
    """Ten listed Murillos and three listed Rosarios (common names), and Rosario MURILLO DE
    ORTEGA (Spanish "de" and her husband's surname: the married name)."""

    def one(id_: str, given: str, middle: str, family: tuple[str, ...]) -> Entry:
        parts = NameParts((given,), (middle,), family)
        name = f"{given} {middle} {' '.join(family)}"
        countries = (country,) if country else ()
        return Entry("l", id_, name, EntryType.PERSON, name_parts=parts, countries=countries)

    murillos = [one(f"m{i}", f"Given{i}", "Zq", ("Murillo", f"Other{i}")) for i in range(10)]
    rosarios = [one(f"r{i}", "Rosario", "Zq", (f"Family{i}",)) for i in range(3)]
    return [*murillos, *rosarios, one("murillo", "Rosario", "Maria", ("Murillo", "De Ortega"))]


def test_a_form_of_common_names_needs_a_cue_and_the_country() -> None:
    murillo = derive.with_derived(_nicaraguans("Nicaragua"))[-1]
    assert DerivedName("Rosario Murillo", "first-surname", "cue-and-country") in murillo.derived
    assert DerivedName("Rosario Murillo De Ortega", "given-family") in murillo.derived
    # no country listed: nothing could vouch for it
    stateless = derive.with_derived(_nicaraguans(""))[-1]
    assert "Rosario Murillo" not in derived(stateless)


def test_the_cue_and_country_marker_is_written_and_read_back(tmp_path: Path) -> None:
    result = ImportResult("ofac", derive.with_derived(_nicaraguans("Nicaragua")), ())
    path = tmp_path / "l.yaml"
    path.write_text(render(result, "l", Severity.MEDIUM), encoding="utf-8")
    expected = (
        "      - name: Rosario Murillo\n"
        "        rule: first-surname\n"
        "        needs: cue-and-country\n"
    )
    assert expected in path.read_text()
    assert by_id(load_written(path).entries)["murillo"] == by_id(result.entries)["murillo"]


def test_derived_forms_are_written_and_read_back(tmp_path: Path) -> None:
    result = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac")
    path = tmp_path / "ofac.yaml"
    path.write_text(render(result, "ofac", Severity.MEDIUM), encoding="utf-8")
    assert "      - name: Kim Jong Un\n        rule: family-first\n" in path.read_text()
    assert "      order: family-first\n" in path.read_text()
    loaded = by_id(load_written(path).entries)
    assert loaded == by_id(result.entries)
    again = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac")
    assert render(again, "ofac", Severity.MEDIUM) == path.read_text()  # deterministic


# --- the real lists ---------------------------------------------------------------------------

OFAC_FILES = (
    ("ofac_sdn_2024-05-03", "sdn.csv"),
    ("ofac_sdn_2026-06_alt_add", "alt.csv"),
    ("ofac_sdn_2026-06_alt_add", "add.csv"),
    ("ofac_consolidated_nonsdn_2025-12", "cons_prim.csv"),
    ("ofac_consolidated_nonsdn_2025-12", "cons_alt.csv"),
)


@requires_shared
@pytest.mark.shared
def test_real_ofac_list_derives_the_forms_news_writes() -> None:
    files = [shared_dir() / "data" / folder / name for folder, name in OFAC_FILES]
    entries = by_id(import_ofac(files, "ofac").entries)
    assert derived(entries["ofac-20157"])["Kim Jong Un"] == "family-first"
    assert derived(entries["ofac-26945"]) == {"Ali Khamenei": "given-family"}
    assert derived(entries["ofac-22790"]) == {"Nicolas Maduro": "first-surname"}
    # Pedro SANCHEZ MEDRANO, listed under a drug-trafficking program: no "Pedro Sanchez"
    assert entries["ofac-21585"].derived == ()
    murillo = entries["ofac-26124"].derived  # Rosario MURILLO DE ORTEGA: the married name
    assert DerivedName("Rosario Murillo", "first-surname", "cue-and-country") in murillo
    assert derived(entries["ofac-12926"])["ABU BAKR AL-BAGHDADI"] == "weak-alias"
    weak = sorted(d.name for e in entries.values() for d in e.derived if d.rule == "weak-alias")
    assert weak == [
        "ABDELWADOUD, Abou",
        "ABU BAKR AL-BAGHDADI",
        "GILBERTO BARRAGAN",
        "HAJI SHAHBAZ",
        "VITEL HOMME",
    ]
    assert "Vladimir Putin" in entries["ofac-35096"].aliases  # listed: not derived again
    assert entries["ofac-35096"].titles == ("President of the Russian Federation",)
    rules = [d.rule for e in entries.values() for d in e.derived]
    assert set(rules) == set(derive.RULES)
    every_name = {derive.name_key(n) for e in entries.values() for n in e.names}
    assert not [
        d.name for e in entries.values() for d in e.derived if derive.name_key(d.name) in every_name
    ]  # no derived form is anyone's listed name
    assert not [
        d.name
        for e in entries.values()
        for d in e.derived
        if all(w in derive.COMMON_GIVEN for w in derive.name_key(d.name).split())
    ]


@requires_shared
@pytest.mark.shared
def test_real_un_list_keeps_remarks_out_of_names() -> None:
    path = shared_dir() / "data" / "un_consolidated_2026-02" / "UN_consolidated.xml"
    entries = by_id(import_un([path], "un").entries)
    names = [n for e in entries.values() for n in (*e.names, *e.weak_aliases)]
    assert not [n for n in names if "false identity" in n or "birth name" in n.lower()]
    assert entries["un-kpi.001"].name_parts == NameParts(
        ("Ho-Jin",), (), ("Yun",), NameOrder.FAMILY_FIRST
    )
