"""UN Security Council consolidated list XML import, and its refusal of entity declarations."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_helpers import FIXTURES, by_id

from watcher.config.watchlist import EntryType
from watcher.importers.common import SourceFileError
from watcher.importers.un import import_un

UN_FILE = FIXTURES / "un" / "consolidated.xml"


def test_individuals_and_entities_with_reference_number_ids() -> None:
    result = import_un([UN_FILE], "un")
    assert [e.id for e in result.entries] == ["un-kpe.901", "un-kpi.901", "un-qdi.999"]
    assert result.files[0].data_date == "2025-10-20T00:00:05.000Z"
    assert "data dated 2025-10-20T00:00:05.000Z" in result.files[0].describe()


def test_individual_names_aliases_and_low_quality_weak_aliases() -> None:
    sidorov = by_id(import_un([UN_FILE], "un").entries)["un-kpi.901"]
    assert sidorov.type is EntryType.PERSON
    assert sidorov.name == "Ivan Petrovich Sidorov"  # FIRST..THIRD_NAME, title-cased
    assert sidorov.aliases == ("Ivan Sidorov", "Vanya Sidorov", "Иван Петрович Сидоров")
    assert sidorov.weak_aliases == ("Vanya",)
    assert sidorov.programs == ("UN DPRK",)
    assert "Designation: Shipping agent" in sidorov.notes
    assert "DOB 1961-04-12" in sidorov.notes


def test_single_word_names_are_kept_exactly() -> None:
    sayf = by_id(import_un([UN_FILE], "un").entries)["un-qdi.999"]
    assert (sayf.name, sayf.aliases, sayf.notes.endswith("DOB 1970")) == ("SAYF", (), True)


def test_entity_aliases() -> None:
    company = by_id(import_un([UN_FILE], "un").entries)["un-kpe.901"]
    assert company.type is EntryType.ORGANIZATION
    assert company.name == "NORTHERN LIGHT MARITIME COMPANY"
    assert company.aliases == ("NLMC", "Polar Star Shipping")
    assert company.weak_aliases == ("Light",)


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&lol2;</FIRST_NAME>"
        "<REFERENCE_NUMBER>X.1</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceFileError, match="refusing an XML document with a DOCTYPE"):
        import_un([bomb], "un")


def test_external_entity_references_are_not_resolved(tmp_path: Path) -> None:
    doc = tmp_path / "ext.xml"
    doc.write_text(
        "<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME>&xxe;</FIRST_NAME>"
        "<REFERENCE_NUMBER>X.1</REFERENCE_NUMBER></ENTITY></ENTITIES></CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    with pytest.raises(SourceFileError, match=r"ext.xml:1:\d+: not well-formed XML"):
        import_un([doc], "un")


def test_broken_xml_names_line_and_column(tmp_path: Path) -> None:
    doc = tmp_path / "broken.xml"
    doc.write_text("<CONSOLIDATED_LIST>\n  <INDIVIDUALS>\n</CONSOLIDATED_LIST>\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"broken.xml:3:\d+: not well-formed XML"):
        import_un([doc], "un")


def test_an_entry_without_any_name_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "noname.xml"
    doc.write_text(
        "<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME> </FIRST_NAME>"
        "<REFERENCE_NUMBER>KPe.1</REFERENCE_NUMBER></ENTITY></ENTITIES></CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    with pytest.raises(SourceFileError, match=r"ENTITY KPe\.1 has no name"):
        import_un([doc], "un")
