"""The watchlist writer: scalars that read back exactly, stable bytes, loadable output, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from import_helpers import FIXTURES, OFAC_FILES, load_written
from ruamel.yaml import YAML

from watcher.config.watchlist import Entry, EntryType, Severity
from watcher.config.yamlfile import load_yaml
from watcher.importers.common import ImportResult, SourceFile
from watcher.importers.ofac import import_ofac
from watcher.importers.opensanctions import import_opensanctions
from watcher.importers.un import import_un
from watcher.importers.writer import (
    MARKER,
    diff,
    previous_names,
    render,
    scalar,
    write_atomically,
)

TRICKY = [
    "ROSNEFT", "DAN", "yes", "No", "ON", "off", "y", "N", "true", "null", "~", "", " ",
    "17022", "0x1A", "1e5", ".inf", "-0-", "- item", "? key", "a: b", "a #b", "#x",
    "'quoted'", '"double"', "back\\slash", "tab\there", "new\nline", "trailing ",
    " leading", "two  spaces", "&anchor", "*alias", "!tag", "%directive", "@at", "`tick",
    "[flow]", "{map}", "a, b", "O'BRIEN", "Vladimir Putin", "Роснефть", "SOCIÉTÉ",
    "LLC “CST”", "ZALA AERO GROUP – Unmanned Systems", "CST有限会社", "مطلق عامر المراني",
    "ctrl\x85\x9c char", "line\u2028sep", "bom\ufeff", "emoji 🚢", "a|b", "a>b", "=",
    "<<", "2024-05-03", "12:30", "Website www.rosneft.com; alt. Website www.rosneft.ru",
]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY)
def test_scalar_reads_back_exactly_in_every_parser(tmp_path: Path, text: str) -> None:
    line = f"value: {scalar(text)}\n"
    assert YAML(typ="safe").load(line) == {"value": text}
    assert yaml.load(line, Loader=yaml.CSafeLoader) == {"value": text}
    path = tmp_path / "one.yaml"
    path.write_text(line, encoding="utf-8")
    assert load_yaml(path).data == {"value": text}


def test_plain_scalars_stay_readable() -> None:
    assert scalar("OPEN JOINT-STOCK COMPANY ROSNEFT OIL COMPANY") == (
        "OPEN JOINT-STOCK COMPANY ROSNEFT OIL COMPANY"
    )
    assert scalar("Сергей Лавров") == "Сергей Лавров"
    assert scalar("yes") == '"yes"'
    assert scalar("a: b") == '"a: b"'


def _awkward_result() -> ImportResult:
    entry = Entry(
        list_name="x",
        id="x-1",
        name="yes",
        type=EntryType.VESSEL,
        aliases=("17022", "a: b", "O'BRIEN"),
        weak_aliases=("- dash",),
        severity=Severity.HIGH,
        programs=("[A]",),
        notes="line one\nline two # not a comment",
    )
    plain = Entry(list_name="x", id="x-2", name="Plain Name", severity=Severity.LOW)
    source = SourceFile.of(OFAC_FILES[0], OFAC_FILES[0].read_bytes())
    return ImportResult("ofac", (entry, plain), (source,), ("note with\nnewline",))


def test_rendered_file_loads_back_to_the_same_entries(tmp_path: Path) -> None:
    result = _awkward_result()
    path = tmp_path / "x.yaml"
    path.write_text(render(result, "x", Severity.LOW), encoding="utf-8")
    watchlist = load_written(path)
    assert watchlist.name == "x"
    assert watchlist.entries == result.entries


@pytest.mark.parametrize(
    ("importer", "files"),
    [
        (import_ofac, OFAC_FILES),
        (import_un, [FIXTURES / "un" / "consolidated.xml"]),
        (import_opensanctions, [FIXTURES / "opensanctions" / "entities.ftm.json"]),
    ],
)
def test_every_importer_output_is_a_valid_watchlist_and_stable(
    tmp_path: Path, importer: object, files: list[Path]
) -> None:
    result = importer(files, "imported", Severity.MEDIUM)  # type: ignore[operator]
    text = render(result, "imported", Severity.MEDIUM)
    assert text.startswith(MARKER)
    path = tmp_path / "imported.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_written(path).entries == result.entries
    again = importer(files, "imported", Severity.MEDIUM)  # type: ignore[operator]
    assert render(again, "imported", Severity.MEDIUM) == text


def test_header_names_sources_with_size_hash_and_notes() -> None:
    text = render(import_ofac(OFAC_FILES, "ofac"), "ofac", Severity.MEDIUM)
    header = text.split("\nlist:")[0]
    sdn = OFAC_FILES[0]
    assert f"#   sdn.csv: {sdn.stat().st_size} bytes, sha256 " in header
    assert "# Import notes:\n#   1 primary rows repeated" in header


def test_previous_names_reads_our_own_output_and_foreign_yaml(tmp_path: Path) -> None:
    result = _awkward_result()
    ours = tmp_path / "ours.yaml"
    write_atomically(ours, render(result, "x", Severity.LOW))
    assert previous_names(ours) == {"x-1": "yes", "x-2": "Plain Name"}
    assert ours.stat().st_mode & 0o777 == 0o644
    foreign = tmp_path / "foreign.yaml"
    foreign.write_text("entries:\n  - {id: a, name: A}\n  - id: b\n    name: 'B: b'\n")
    assert previous_names(foreign) == {"a": "A", "b": "B: b"}
    assert previous_names(tmp_path / "absent.yaml") is None


def test_diff_counts_added_removed_and_renamed() -> None:
    entries = (
        Entry(list_name="x", id="a", name="Same"),
        Entry(list_name="x", id="b", name="New Name"),
        Entry(list_name="x", id="d", name="Added"),
    )
    changes = diff({"a": "Same", "b": "Old Name", "c": "Gone"}, entries)
    assert changes.changed
    assert changes.summary() == (
        "1 added, 1 removed, 1 renamed\n"
        "  added: d Added\n"
        "  removed: c Gone\n"
        "  renamed: b Old Name -> New Name"
    )
    assert not diff({"a": "Same"}, entries[:1]).changed
