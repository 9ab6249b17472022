"""Helpers shared by the importer tests: fixture paths and reading a written watchlist back."""

from __future__ import annotations

from pathlib import Path

from watcher.config.watchlist import Entry, Watchlist

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
OFAC_DIR = FIXTURES / "ofac"
OFAC_FILES = [
    OFAC_DIR / name
    for name in (
        "sdn.csv",
        "alt.csv",
        "add.csv",
        "sdn_comments.csv",
        "cons_prim.csv",
        "cons_alt.csv",
    )
]


def by_id(entries: tuple[Entry, ...]) -> dict[str, Entry]:
    return {entry.id: entry for entry in entries}


def load_written(path: Path) -> Watchlist:
    """The watchlist file as the daemon loads it (schema validation included)."""
    from watcher.config.settings import load_watchlist_file

    return load_watchlist_file(path)
