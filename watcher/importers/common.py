"""What every importer shares: the result value, source-file fingerprints, name tidying.

Importers are pure translations from an official file format to `Entry` values; writing the
YAML (and diffing against a previous import) is `watcher.importers.writer`'s job.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from watcher.config.watchlist import Entry
from watcher.errors import WatcherError

_ID_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_SPACES = re.compile(r"\s+")


class SourceFileError(WatcherError):
    """A source file cannot be imported (wrong format, unreadable, unsafe)."""


@dataclass(frozen=True)
class SourceFile:
    """A fingerprint of one input file, written into the output's header comment."""

    path: Path
    size: int
    sha256: str  # first 16 hex digits, as in ../shared/data/SOURCES.md
    modified: datetime
    data_date: str = ""  # a date stated inside the data itself (e.g. UN dateGenerated)

    @classmethod
    def of(cls, path: Path, data: bytes, data_date: str = "") -> SourceFile:
        stat = path.stat()
        return cls(
            path=path,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest()[:16],
            modified=datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0),
            data_date=data_date,
        )

    def describe(self) -> str:
        dated = f", data dated {self.data_date}" if self.data_date else ""
        when = self.modified.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.path.name}: {self.size} bytes, sha256 {self.sha256}, mtime {when}{dated}"


@dataclass(frozen=True)
class ImportResult:
    """Entries translated from one or more source files, plus what could not be used."""

    source: str  # "ofac" | "un" | "opensanctions"
    entries: tuple[Entry, ...]
    files: tuple[SourceFile, ...]
    notes: tuple[str, ...] = field(default=())  # counts of skipped/merged rows, for the user


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def tidy(name: str) -> str:
    """Whitespace collapsed, NFC-normalized: the form names are stored and compared in."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip()


def entry_id(prefix: str, raw: str) -> str:
    """A valid, stable watchlist id (``[a-z0-9][a-z0-9._-]*``) from a source's own identifier."""
    cleaned = _ID_UNSAFE.sub("-", raw.strip().lower()).strip("-._")
    if not cleaned:
        raise SourceFileError(f"empty identifier {raw!r}")
    return f"{prefix}-{cleaned}"


def name_order_key(name: str) -> tuple[str, str]:
    """Case-insensitive order with the exact text as tie-break, so output order never varies."""
    return (name.casefold(), name)


def clean_names(
    name: str, aliases: Iterable[str], weak: Iterable[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """De-duplicated, sorted strong and weak aliases; the primary name and strong wins over weak.

    Duplicates are exact after `tidy`: case differences are kept on purpose, because the matcher
    treats an ALL-CAPS common-word name (vessel ``DAN``) differently from ``Dan``.
    """
    primary = tidy(name)
    strong = {tidy(a) for a in aliases} - {primary, ""}
    weak_set = {tidy(a) for a in weak} - strong - {primary, ""}
    return (
        tuple(sorted(strong, key=name_order_key)),
        tuple(sorted(weak_set, key=name_order_key)),
    )


def smart_title(text: str) -> str:
    """ALL-CAPS words title-cased (``AL-SHANTI`` -> ``Al-Shanti``); mixed-case words untouched."""
    return " ".join(_title_word(word) for word in text.split(" "))


def _title_word(word: str) -> str:
    if not word.isupper():
        return word
    parts = re.split(r"([-'’])", word)
    return "".join(p[:1].upper() + p[1:].lower() if p not in "-'’" else p for p in parts)


def title_person_name(name: str) -> str:
    """Display form for a multi-word person name; single words are kept exactly.

    Multi-word names are matched case-insensitively anyway, so this loses nothing; a
    one-word name (``DAN``) stays as written because the matcher's case-exact rule for common
    words depends on it.
    """
    return smart_title(name) if " " in name.strip() else name


def unique_ids(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """Entries sorted by id; raises if two share an id (a source bug we must not paper over)."""
    ordered = sorted(entries, key=lambda e: e.id)
    for before, after in itertools.pairwise(ordered):
        if before.id == after.id:
            raise SourceFileError(f"two entries map to the same id {after.id!r}")
    return tuple(ordered)


def xml_events(path: Path, data: bytes) -> Iterator[tuple[str, ET.Element]]:
    """The ``start`` and ``end`` events of an official XML list. A DOCTYPE or ENTITY
    declaration is refused outright, so no entity can be expanded (no "billion laughs"; the
    real lists have none), and a parse error names the file's line and column, which for a
    download cut short is its end."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # XML keywords are case-sensitive
        raise SourceFileError(f"{path}: refusing an XML document with a DOCTYPE/ENTITY declaration")
    try:
        yield from ET.iterparse(io.BytesIO(data), events=("start", "end"))
    except ET.ParseError as exc:
        line, column = exc.position
        raise SourceFileError(
            f"{path}:{line}:{column + 1}: not well-formed XML ({exc}); a truncated download?"
        ) from exc
