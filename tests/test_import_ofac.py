"""OFAC CSV import on a hand-made excerpt in the real formats (Latin-1, CRLF, 0x1A, -0- nulls)."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_helpers import OFAC_DIR, OFAC_FILES, by_id

from watcher.config.watchlist import EntryType, Severity
from watcher.importers.common import SourceFileError
from watcher.importers.ofac import import_ofac


def test_every_primary_row_becomes_one_entry_sorted_by_stable_id() -> None:
    result = import_ofac(OFAC_FILES, "ofac", Severity.HIGH)
    ids = [e.id for e in result.entries]
    assert ids == sorted(ids)
    assert set(ids) == {
        "ofac-15054", "ofac-15908", "ofac-17022", "ofac-17248", "ofac-25273",
        "ofac-35096", "ofac-35233", "ofac-90001", "ofac-90002", "ofac-90003",
        "ofac-90004", "ofac-90005",
    }  # fmt: skip
    assert {e.list_name for e in result.entries} == {"ofac"}
    assert {e.severity for e in result.entries} == {Severity.HIGH}
    assert [f.path.name for f in result.files] == [p.name for p in OFAC_FILES]


def test_person_name_is_given_names_then_surname() -> None:
    putin = by_id(import_ofac(OFAC_FILES, "ofac").entries)["ofac-35096"]
    assert putin.type is EntryType.PERSON
    assert putin.name == "Vladimir Vladimirovich Putin"
    assert putin.aliases == ("Vladimir Putin",)  # list order is the matcher's job
    assert putin.programs == ("RUSSIA-EO14024",)
    assert "Title: President of the Russian Federation" in putin.notes
    assert "DOB 07 Oct 1952" in putin.notes and "Address countries: Russia" in putin.notes
    assert "Gender" not in putin.notes
    lavrov = by_id(import_ofac(OFAC_FILES, "ofac").entries)["ofac-35233"]
    assert lavrov.aliases == ("Sergey Lavrov",)
    petrov = by_id(import_ofac(OFAC_FILES, "ofac").entries)["ofac-90004"]
    assert (petrov.name, petrov.aliases) == ("Ivan Petrov", ())  # ALL-CAPS given name too


def test_vessels_keep_all_caps_names_and_types_are_mapped() -> None:
    entries = by_id(import_ofac(OFAC_FILES, "ofac").entries)
    dan, vista, huge = entries["ofac-15908"], entries["ofac-25273"], entries["ofac-15054"]
    assert (dan.name, dan.type, dan.aliases) == ("DAN", EntryType.VESSEL, ("JUSTICE",))
    assert not dan.match_vessels
    assert vista.programs == ("IFSR", "IRAN", "NPWMD")
    assert (huge.name, huge.weak_aliases) == ("HUGE", ("GLORY",))  # f.k.a. 'GLORY' in Remarks
    assert "Vessel type: Crude Oil Tanker" in huge.notes and "Call sign: T2EG4" in huge.notes
    assert entries["ofac-90005"].type is EntryType.OTHER  # aircraft
    assert entries["ofac-90002"].type is EntryType.ORGANIZATION  # -0- type


def test_weak_aliases_come_from_remarks_alt_remarks_and_comments() -> None:
    entries = by_id(import_ofac(OFAC_FILES, "ofac").entries)
    assert entries["ofac-90001"].weak_aliases == ("HOPE", "HOPE TRADING")
    assert entries["ofac-90001"].aliases == ()
    assert entries["ofac-90002"].aliases == ("JUSTICE",)
    assert entries["ofac-90002"].weak_aliases == ("PPJ",)
    societe = entries["ofac-90003"]
    assert societe.name == "SOCIÉTÉ GÉNÉRALE DES PÉTROLES DU NORD"  # Latin-1 decoded
    assert societe.weak_aliases == ("SGPN",)  # from sdn_comments.csv
    assert "Address countries: France, Russia" in societe.notes


def test_sdn_and_consolidated_rows_of_one_ent_num_merge() -> None:
    result = import_ofac(OFAC_FILES, "ofac")
    rosneft = by_id(result.entries)["ofac-17022"]
    assert rosneft.name == "OPEN JOINT-STOCK COMPANY ROSNEFT OIL COMPANY"
    assert rosneft.aliases == ("ROSNEFT", "ROSNEFT OIL COMPANY")
    assert rosneft.programs == ("RUSSIA-EO14024", "UKRAINE-EO13662")
    assert rosneft.notes.startswith("OFAC SDN + non-SDN consolidated list")
    assert "1 primary rows repeated an ent_num and were merged" in result.notes
    lukoil = by_id(result.entries)["ofac-17248"]
    assert (lukoil.name, lukoil.aliases) == ("LUKOIL OAO", ("LUKOIL", "LUKOIL OIL COMPANY"))


def test_alias_rows_without_a_primary_are_counted_not_invented() -> None:
    result = import_ofac(OFAC_FILES, "ofac")
    assert (
        "2 alias rows for 1 ent_nums with no primary row were skipped"
        " (an entry needs its primary name)"
    ) in result.notes
    assert all("NO SUCH PRIMARY" not in e.names for e in result.entries)


def test_utf8_input_and_file_order_do_not_matter(tmp_path: Path) -> None:
    sdn = (OFAC_DIR / "sdn.csv").read_bytes().decode("latin-1")
    utf8 = tmp_path / "sdn.csv"
    utf8.write_bytes(sdn.encode("utf-8"))
    shuffled = [OFAC_DIR / "cons_alt.csv", OFAC_DIR / "alt.csv", utf8, OFAC_DIR / "cons_prim.csv"]
    entries = by_id(import_ofac(shuffled, "ofac").entries)
    assert entries["ofac-90003"].name == "SOCIÉTÉ GÉNÉRALE DES PÉTROLES DU NORD"
    assert entries["ofac-35096"].aliases == ("Vladimir Putin",)


def test_a_row_of_unknown_shape_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "sdn.csv"
    bad.write_bytes(b'1,"A",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n2,"B","C"\r\n\x1a')
    with pytest.raises(SourceFileError, match=rf"{bad}:2: 3 columns"):
        import_ofac([bad], "ofac")


def test_a_non_numeric_ent_num_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "alt.csv"
    bad.write_text("ent_num,alt_num,alt_type,alt_name,alt_remarks\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=rf"{bad}:1: ent_num: expected a number"):
        import_ofac([OFAC_DIR / "sdn.csv", bad], "ofac")


def test_aliases_alone_are_refused() -> None:
    with pytest.raises(SourceFileError, match="no OFAC primary file"):
        import_ofac([OFAC_DIR / "alt.csv"], "ofac")
