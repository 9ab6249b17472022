"""OpenSanctions FollowTheMoney JSON-lines import."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_helpers import FIXTURES, by_id

from watcher.config.watchlist import EntryType
from watcher.importers.common import SourceFileError
from watcher.importers.opensanctions import country_name, import_opensanctions
from watcher.matching import countries
from watcher.matching.normalize import word

FTM_FILE = FIXTURES / "opensanctions" / "entities.ftm.json"


def test_only_named_target_parties_are_imported() -> None:
    result = import_opensanctions([FTM_FILE], "os")
    assert [e.id for e in result.entries] == [
        "os-nk-testperson1",
        "os-nk-vessel1",
        "os-ru-inn-7700000000",
    ]
    assert result.notes == (
        "1 Sanction records (not a named party) skipped",
        "1 non-target Company entities (linked parties, not listed) skipped",
    )


def test_names_aliases_previous_names_and_weak_aliases() -> None:
    person = by_id(import_opensanctions([FTM_FILE], "os").entries)["os-nk-testperson1"]
    assert person.type is EntryType.PERSON
    assert person.name == "Ivan Ivanovich Kuznetsov"  # the caption
    assert person.aliases == (
        "Ivan Ivanovich Smirnov",
        "Ivan Kuznetsov",
        "KUZNETSOV, Ivan Ivanovich",
        "Иван Иванович Кузнецов",
    )
    assert person.weak_aliases == ("Kuz",)
    assert person.programs == ("US-RUSHAR", "eu_fsf", "us_ofac_sdn")
    assert "birthDate: 1970-02-03" in person.notes


def test_company_and_vessel() -> None:
    entries = by_id(import_opensanctions([FTM_FILE], "os").entries)
    company = entries["os-ru-inn-7700000000"]
    assert company.aliases == ("Zvezda Drones", "ООО «Звезда Дроны»")  # Latin sorts first
    assert entries["os-nk-vessel1"].type is EntryType.VESSEL


def test_bad_json_line_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"id": "a", "schema": "Person", "properties": {"name": ["A B"]}}\n{oops\n')
    with pytest.raises(SourceFileError, match=rf"{bad}:2:2: not a JSON object"):
        import_opensanctions([bad], "os")


def test_entity_without_a_name_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"id": "x1", "schema": "Company", "properties": {}}\n')
    with pytest.raises(SourceFileError, match=rf"{bad}:1: properties.name: entity x1 has no name"):
        import_opensanctions([bad], "os")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("ru", "Russian Federation"),
        ("ir", "Iran, Islamic Republic of"),
        ("kp", "Korea, Democratic People's Republic of"),
        ("RU", "Russian Federation"),
        ("xk", "Kosovo"),  # a user-assigned code the library knows
        ("suhh", "suhh"),  # the Soviet Union in FtM: no ISO code, kept as given
        ("Russia", "Russia"),  # a name already
    ],
)
def test_country_codes_become_names(code: str, name: str) -> None:
    assert country_name(code) == name


def test_imported_countries_are_found_in_the_news_by_name() -> None:
    """FtM gives the company's country as ``ru``: the entry carries the name, which the matcher
    recognises in the news (``Russian``, ``России``) to corroborate a generic name or acronym;
    the bare code would be recognised nowhere."""
    company = by_id(import_opensanctions([FTM_FILE], "os").entries)["os-ru-inn-7700000000"]
    assert company.countries == ("Russian Federation",)
    known = countries.stems(company.countries)
    assert countries.named([word("Russian").key], known)
    assert countries.named([word("России").key], known)
    assert not countries.named([word("Russian").key], countries.stems(["ru"]))
