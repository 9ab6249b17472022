"""Every real-world and feedparser-corpus document goes through our parse path without an
exception, and Cyrillic feeds come out as readable Cyrillic (no mojibake for the matcher).

Uses ../shared (skipped with a reason when absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import SHARED_ENV, shared_dir

from watcher.ingest.parse import parse_document

FEEDS = shared_dir() / "feeds"
pytestmark = pytest.mark.skipif(
    not FEEDS.is_dir(),
    reason=f"shared corpora absent: no {FEEDS} (set {SHARED_ENV}=DIR, or put them in ../shared)",
)

CYRILLIC_FEEDS = [
    "antonchasnyk_liga_ru_2021.xml",
    "ildorado_tutby_ru_2019.xml",
    "go11ga_mos_ru_2022.xml",
    "tehtehteh_liga_2020.xml",
    "tehtehteh_pravda_2020.xml",
    "tehtehteh_ukranews_2020.xml",
    "tehtehteh_unian_2020.xml",
    "miniflux_koi8r_synthetic.xml",
    "miniflux_ibash_windows1251_2018.xml",
]
MOJIBAKE = ("Ð", "Ã", "Ñ\u0081", "â€", "\ufffd")


def _files(folder: str, pattern: str) -> list[Path]:
    return sorted((FEEDS / folder).glob(pattern)) if FEEDS.is_dir() else []


def _headers(field: str) -> dict[str, str]:
    name, sep, value = field.partition(":")
    return {name.strip(): value.strip()} if sep and name.strip() else {}


def cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if "\u0400" <= c <= "\u04ff") / max(1, len(letters))


def test_cyrillic_list_matches_the_corpus() -> None:
    names = {p.name for p in _files("real", "*.xml")}
    expected = {n for n in names if "_ru_" in n or n.startswith("tehtehteh_")}
    assert expected <= set(CYRILLIC_FEEDS)
    assert set(CYRILLIC_FEEDS) <= names


@pytest.mark.parametrize("path", _files("real", "*.xml"), ids=lambda p: p.name)
def test_real_feed_parses(path: Path) -> None:
    parsed = parse_document(path.read_bytes(), {}, f"https://feeds.example/{path.name}")
    assert parsed.is_feed
    assert parsed.items, "every real feed in the corpus has items"
    # (one real feed has a genuinely empty <item/>; the others all carry text)
    with_text = [i for i in parsed.items if i.article.full_text.strip()]
    assert len(with_text) >= len(parsed.items) - 1


@pytest.mark.parametrize("name", CYRILLIC_FEEDS)
def test_cyrillic_feed_is_readable_cyrillic(name: str) -> None:
    parsed = parse_document((FEEDS / "real" / name).read_bytes(), {}, "https://feeds.example/")
    text = "\n".join(item.article.full_text for item in parsed.items)
    assert cyrillic_share(text) > 0.6, text[:300]
    for bad in MOJIBAKE:
        assert bad not in text, f"mojibake {bad!r} in {text[:300]!r}"


@pytest.mark.parametrize(
    "path", _files("encoding-edge", "**/*.*"), ids=lambda p: str(p.relative_to(FEEDS))
)
def test_encoding_edge_case_decodes_without_mojibake(path: Path) -> None:
    parsed = parse_document(path.read_bytes(), {}, "https://feeds.example/")
    text = "\n".join(item.article.full_text for item in parsed.items)
    for bad in ("Ã©", "Ð", "â‚¬", "\ufffd"):
        assert bad not in text
    if "koi8r" in path.name:
        assert "Первая новость" in text


def test_feedparser_corpus_never_raises() -> None:
    index = FEEDS / "feedparser-tests" / "INDEX.tsv"
    with index.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) > 2000
    failures = []
    for row in rows:
        path = FEEDS / "feedparser-tests" / row["path"]
        try:
            parse_document(
                path.read_bytes(), _headers(row["http_headers"] or ""), "https://f.example/"
            )
        except Exception as exc:  # collected, so one run lists every offender
            failures.append(f"{row['path']}: {exc!r}")
    assert not failures, "\n".join(failures[:20])


def test_double_encoded_utf8_feed_is_repaired() -> None:
    """eldiario's feed is valid UTF-8 whose text was double-encoded upstream."""
    raw = (FEEDS / "real" / "jmanuelbr_eldiario.xml").read_bytes()
    assert "Ã".encode() in raw  # the corpus file still shows the problem
    parsed = parse_document(raw, {}, "https://feeds.example/")
    text = "\n".join(item.article.full_text for item in parsed.items)
    for bad in MOJIBAKE:
        assert bad not in text, f"mojibake {bad!r} in the repaired text"
    assert "detenido este miércoles" in text
    assert "corrupción" in text
    assert "Ángel Pérez-Maura" in text


@pytest.mark.parametrize("path", _files("real", "*.xml"), ids=lambda p: p.name)
def test_no_real_feed_keeps_utf8_mojibake(path: Path) -> None:
    parsed = parse_document(path.read_bytes(), {}, f"https://feeds.example/{path.name}")
    text = "\n".join(item.article.full_text for item in parsed.items)
    for bad in ("Ã©", "Ã³", "Ã±", "â€™"):
        assert bad not in text
