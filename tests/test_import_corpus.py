"""Every real list in ../shared imported in full: plausible counts, valid output, stable bytes.

Counts are the ones ../shared/data/SOURCES.md reports from csv/grep, so a parser that drops
or invents rows fails here. Timings are printed by `bench/bench_scale.py`, not asserted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import requires_shared, shared_dir
from import_helpers import load_written

from watcher.config.watchlist import Severity
from watcher.importers.common import ImportResult
from watcher.importers.ofac import import_ofac
from watcher.importers.opensanctions import import_opensanctions
from watcher.importers.un import import_un
from watcher.importers.writer import render

pytestmark = [requires_shared, pytest.mark.shared]
Importer = Callable[[Sequence[Path], str, Severity], ImportResult]


def data(*parts: str) -> Path:
    return shared_dir().joinpath("data", *parts)


def written_twice(importer: Importer, files: list[Path], tmp_path: Path) -> ImportResult:
    """Import, write, load back as a watchlist; a second import must give identical bytes."""
    result = importer(files, "corpus", Severity.MEDIUM)
    text = render(result, "corpus", Severity.MEDIUM)
    path = tmp_path / "corpus.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_written(path).entries == result.entries
    again = importer(files, "corpus", Severity.MEDIUM)
    assert render(again, "corpus", Severity.MEDIUM) == text
    return result


def type_counts(result: ImportResult) -> dict[str, int]:
    return dict(Counter(entry.type.value for entry in result.entries))


def test_sdn_2024_05_03(tmp_path: Path) -> None:
    result = written_twice(import_ofac, [data("ofac_sdn_2024-05-03", "sdn.csv")], tmp_path)
    assert type_counts(result) == {
        "person": 6854, "organization": 6884, "vessel": 851, "other": 376,
    }  # fmt: skip
    weak = sum(len(e.weak_aliases) for e in result.entries)
    assert 3562 <= weak <= 3562 + 88 + 20  # a.k.a. plus f.k.a./n.k.a. quoted names
    russia = [e for e in result.entries if any("RUSSIA-EO14024" in p for p in e.programs)]
    assert len(russia) == 4440  # RUSSIA-EO14024 and BPI-RUSSIA-EO14024, as SOURCES.md counts
    assert result.notes == ()


def test_sdn_2021_07_consistent_set_joins_every_alias(tmp_path: Path) -> None:
    files = sorted(data("ofac_sdn_2021-07_consistent").glob("*.csv"))
    result = written_twice(import_ofac, files, tmp_path)
    assert len(result.entries) == 8976
    assert result.notes == ()  # every alias, address and comment row found its entry
    with_aliases = sum(1 for e in result.entries if e.aliases)
    aliases = sum(len(e.aliases) for e in result.entries)
    # SOURCES.md: 11,910 alt rows for 4,139 entries; a few repeat their entry's own name
    assert 4100 <= with_aliases <= 4139
    assert 11800 <= aliases <= 11910


def test_sdn_2024_with_the_2026_aliases_and_the_non_sdn_list(tmp_path: Path) -> None:
    files = [
        data("ofac_sdn_2024-05-03", "sdn.csv"),
        data("ofac_sdn_2026-06_alt_add", "alt.csv"),
        data("ofac_consolidated_nonsdn_2025-12", "cons_prim.csv"),
        data("ofac_consolidated_nonsdn_2025-12", "cons_alt.csv"),
    ]
    result = written_twice(import_ofac, files, tmp_path)
    assert len(result.entries) == 14965 + 442 - 61
    assert result.notes == (
        "61 primary rows repeated an ent_num and were merged",
        "2650 alias rows for 1699 ent_nums with no primary row were skipped"
        " (an entry needs its primary name)",
        "skipped alias rows of ent_num 57779 SYMPHONY SHIPPING & MARITIME MANAGEMENT;"
        " 57761 EVER SHINING LTD; 57739 BALABAKI, Ahmad Asad; 57738 SAFAWI, Ahmad;"
        " 57737 HAMADI, Samer; 57733 DIRECCION GENERAL DE INTELIGENCIA; 57722 MOUSAWI, Ibrahim;"
        " 57715 ABU-RAS, Marwan Mohammed Ayesh; 57714 HASSAN, Hussein Al-Haj;"
        " 57713 FADLALLAH, Hassan and 1689 more",
    )
    entries = {e.id: e for e in result.entries}
    assert "ROSNEFT" in entries["ofac-17022"].aliases
    assert "LUKOIL" in entries["ofac-17248"].aliases
    assert "Vladimir Putin" in entries["ofac-35096"].aliases
    assert "Sergey Lavrov" in entries["ofac-35233"].aliases


def test_non_sdn_consolidated(tmp_path: Path) -> None:
    files = sorted(data("ofac_consolidated_nonsdn_2025-12").glob("cons_*.csv"))
    result = written_twice(import_ofac, files, tmp_path)
    assert len(result.entries) == 442
    assert result.notes == ()


def test_un_consolidated(tmp_path: Path) -> None:
    files = [data("un_consolidated_2026-02", "UN_consolidated.xml")]
    result = written_twice(import_un, files, tmp_path)
    assert type_counts(result) == {"person": 730, "organization": 273}
    names = sum(len(e.aliases) + len(e.weak_aliases) for e in result.entries)
    # alias elements with a name, plus original scripts, plus the other spellings and
    # acronyms the list writes in parentheses after a name (each its own alias)
    assert 2500 <= names <= 2752 + 378 + 120
    every_name = [n for e in result.entries for n in (*e.names, *e.weak_aliases)]
    assert not [n for n in every_name if "false identity" in n or ("(" in n and ")" in n[-2:])]
    tantoush = {e.id: e for e in result.entries}["un-qdi.057"]
    assert "Abdel Ilah Sabri" in tantoush.aliases
    assert "alias Abdel Ilah Sabri: false identity related to" in tantoush.notes
    assert result.files[0].data_date == "2026-02-27T00:00:09.554Z"


def test_opensanctions_sample(tmp_path: Path) -> None:
    files = [data("opensanctions_samples", "entities.ftm.json")]
    result = written_twice(import_opensanctions, files, tmp_path)
    assert type_counts(result) == {"person": 6, "organization": 8}
    cyrillic = [
        n for e in result.entries for n in e.names if any("а" <= c <= "я" for c in n.lower())
    ]
    assert len(cyrillic) >= 40
