"""OFAC's legacy CSV files (SDN and non-SDN consolidated) to watchlist entries.

Files are recognised by their column count, so any mix may be given in any order:

    sdn.csv / cons_prim.csv   12 columns: ent_num, name, type, programs, title, call sign,
                              vessel type, tonnage, GRT, flag, owner, remarks
    alt.csv / cons_alt.csv     5 columns: ent_num, alt_num, alt_type (aka|fka|nka), name, remarks
    add.csv / cons_add.csv     6 columns: ent_num, add_num, address, city, country, remarks
    sdn_comments.csv           2 columns: ent_num, remarks continued (long remarks overflow here)

All join on ``ent_num``, which OFAC keeps unique across its lists, so the entry id is
``ofac-<ent_num>`` and stays stable across releases. ``-0-`` is OFAC's null; the files are
Latin-1 (older) or UTF-8 (newer) and end with a DOS EOF byte (0x1A).

Names: an individual's ``SURNAME, Given Names`` becomes ``Given Names Surname`` (surname
title-cased); no list-order alias is written, because the matcher derives list order
(``PUTIN, Vladimir``), initials and first-and-last forms from every person name itself, and
~15k redundant names would only slow compiling. Every other name is kept exactly as OFAC writes
it (ALL CAPS), which the matcher's case-exact rule for common-word names relies on (vessel
``DAN`` must not fire on "a man called Dan") OFAC's weak a.k.a.s (single-quoted
in Remarks, or alias rows whose remarks say "weak") become `weak_aliases`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from watcher.config.watchlist import Entry, EntryType, NameParts, Severity
from watcher.importers.common import (
    ImportResult,
    SourceFile,
    SourceFileError,
    clean_names,
    entry_id,
    read_bytes,
    smart_title,
    tidy,
    title_person_name,
    unique_ids,
)
from watcher.importers.derive import with_derived
from watcher.importers.names import Facts, person_parts, read_remarks

NULL = "-0-"
_TYPES = {"individual": EntryType.PERSON, "vessel": EntryType.VESSEL, "aircraft": EntryType.OTHER}
_WEAK_AKA = re.compile(r"\b[afn]\.k\.a\.,?\s+'(.+?)'(?=[\s;.,)]|$)")
_KEPT_REMARKS = re.compile(
    r"^(alt\. )?(DOB|POB|nationality|citizen|Linked To|Vessel Registration Identification"
    r"|Website|Organization Established Date)\b",
    re.IGNORECASE,
)
_PRIMARY, _ALIAS, _ADDRESS, _COMMENT = 12, 5, 6, 2


@dataclass
class _Record:
    """One OFAC entry as it is being assembled from the rows of several files."""

    ent_num: str
    name: str
    sdn_type: str
    programs: set[str] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    title: str = ""
    vessel: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    aliases: list[tuple[str, bool]] = field(default_factory=list)  # (name, weak)
    extra_names: list[str] = field(default_factory=list)  # primary names from other files
    countries: set[str] = field(default_factory=set)


@dataclass
class _Rows:
    primary: list[tuple[str, Sequence[str]]] = field(default_factory=list)
    alias: list[Sequence[str]] = field(default_factory=list)
    address: list[Sequence[str]] = field(default_factory=list)
    comment: list[Sequence[str]] = field(default_factory=list)


def import_ofac(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    """Entries for every primary row in `paths`, with aliases, addresses and comments joined."""
    rows = _Rows()
    files = []
    for path in paths:
        data = read_bytes(path)
        files.append(SourceFile.of(path, data))
        text = _decode(data)
        _classify(path, text, rows)
        check_complete(path, data, text)
    if not rows.primary:
        raise SourceFileError(
            "no OFAC primary file (sdn.csv or cons_prim.csv: 12 columns) among the inputs"
        )
    records, notes = _join(rows)
    places: dict[str, list[str]] = {}
    entries = unique_ids(_entry(record, list_name, severity, places) for record in records.values())
    return ImportResult("ofac", with_derived(entries, places), tuple(files), tuple(notes))


def _decode(data: bytes) -> str:
    """UTF-8 (newer files), else Windows-1252: OFAC's "Latin-1" files are Windows exports, and
    their bytes 0x80-0x9F are curly quotes and dashes, not Latin-1's control characters."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.rstrip("\x1a\r\n ")


def _classify(path: Path, text: str, rows: _Rows) -> None:
    label = "non-SDN consolidated" if "cons" in path.name.lower() else "SDN"
    for line, row in _csv_rows(path, text):
        ent_num = row[0].strip()
        if not ent_num.isdigit():
            raise SourceFileError(f"{path}:{line}: ent_num: expected a number, got {ent_num!r}")
        if len(row) == _PRIMARY:
            rows.primary.append((label, row))
        elif len(row) == _ALIAS:
            rows.alias.append(row)
        elif len(row) == _ADDRESS:
            rows.address.append(row)
        elif len(row) == _COMMENT:
            rows.comment.append(row)
        else:
            raise SourceFileError(
                f"{path}:{line}: {len(row)} columns: not an OFAC sdn/alt/add/comments row"
                " (expected 12, 5, 6 or 2)"
            )


def check_complete(path: Path, data: bytes, text: str) -> None:
    """Refuse a file cut short, which would otherwise read as a shorter list (half an sdn.csv
    parses cleanly and drops thousands of entries): OFAC ends its sdn/alt/add files with a
    DOS EOF byte (0x1A), every row of a file has the same number of columns, and a cut inside
    a quoted field leaves an odd number of quotes."""
    what = "the file is cut short (truncated download?) or is not an OFAC CSV file"
    if text.count('"') % 2:
        raise SourceFileError(f"{path}: ends inside a quoted field: {what}")
    columns = 0
    for line, row in _csv_rows(path, text):
        columns = columns or len(row)
        if len(row) != columns:
            raise SourceFileError(
                f"{path}:{line}: {len(row)} columns where the rows above have {columns}: {what}"
            )
    if columns in (_PRIMARY, _ALIAS, _ADDRESS) and not data.rstrip(b"\r\n ").endswith(b"\x1a"):
        raise SourceFileError(
            f"{path}: no end-of-file marker (0x1A) after the last row, which OFAC's files"
            f" always have: {what}"
        )


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as exc:
        raise SourceFileError(f"{path}:{reader.line_num}: {exc}") from exc


def _value(cell: str) -> str:
    cell = cell.strip()
    return "" if cell == NULL else cell


def _join(rows: _Rows) -> tuple[dict[str, _Record], list[str]]:
    records: dict[str, _Record] = {}
    merged = 0
    for label, row in rows.primary:
        ent_num = row[0].strip()
        if ent_num in records:
            merged += 1
            records[ent_num].extra_names.append(tidy(row[1]))
        else:
            records[ent_num] = _Record(ent_num, tidy(row[1]), _value(row[2]).lower())
        _merge_primary(records[ent_num], label, row)
    notes = [f"{merged} primary rows repeated an ent_num and were merged"] if merged else []
    notes += _attach(rows.alias, records, "alias", _add_alias)
    notes += _attach(rows.address, records, "address", _add_address)
    notes += _attach(rows.comment, records, "comment", _add_comment)
    return records, notes


def _merge_primary(record: _Record, label: str, row: Sequence[str]) -> None:
    record.lists.add(label)
    record.programs.update(_programs(_value(row[3])))
    record.title = record.title or _value(row[4])
    if not record.vessel:
        record.vessel = [_value(c) for c in (row[6], row[9], row[5])]
    if remarks := _value(row[11]):
        record.remarks.append(remarks)


def _programs(field_text: str) -> list[str]:
    """``UKRAINE-EO13662] [RUSSIA-EO14024`` (brackets are OFAC's separators) -> a list."""
    return [p.strip(" []") for p in field_text.split("] [") if p.strip(" []")]


def _attach(
    rows: Iterable[Sequence[str]],
    records: dict[str, _Record],
    kind: str,
    add: Callable[[_Record, Sequence[str]], None],
) -> list[str]:
    orphans: dict[str, int] = defaultdict(int)
    named: dict[str, str] = {}  # ent_num -> a name its alias rows give (to name the skipped)
    for row in rows:
        record = records.get(row[0].strip())
        if record is None:
            orphans[row[0].strip()] += 1
            if kind == "alias":
                named.setdefault(row[0].strip(), _value(row[3]))
        else:
            add(record, row)
    if not orphans:
        return []
    return [
        f"{sum(orphans.values())} {kind} rows for {len(orphans)} ent_nums with no primary row"
        " were skipped (an entry needs its primary name)",
        _skipped_names(kind, orphans, named),
    ]


SKIPPED_NAMED = 10  # ent_nums named in the note on skipped rows (the count covers them all)


def _skipped_names(kind: str, orphans: dict[str, int], named: dict[str, str]) -> str:
    """Which ent_nums were skipped, newest (highest) first: recent designations missing from
    an older primary file are the ones a user needs to hear about."""
    ordered = sorted(orphans, key=lambda n: (-int(n) if n.isdigit() else 0, n))
    shown = [f"{n} {named[n]}" if named.get(n) else n for n in ordered[:SKIPPED_NAMED]]
    more = f" and {len(ordered) - SKIPPED_NAMED} more" if len(ordered) > SKIPPED_NAMED else ""
    return f"skipped {kind} rows of ent_num {'; '.join(shown)}{more}"


def _add_alias(record: _Record, row: Sequence[str]) -> None:
    name = _value(row[3])
    if name:
        record.aliases.append((name, "weak" in _value(row[4]).lower()))


def _add_address(record: _Record, row: Sequence[str]) -> None:
    if country := _value(row[4]):
        record.countries.add(country)


def _add_comment(record: _Record, row: Sequence[str]) -> None:
    if text := _value(row[1]):
        record.remarks.append(text)


def _entry(
    record: _Record, list_name: str, severity: Severity, birth_places: dict[str, list[str]]
) -> Entry:
    """The entry for `record`; the countries of birth its remarks give go to `birth_places`
    (they tell which order a name is written in, see `with_derived`)."""
    entry_type = _TYPES.get(record.sdn_type, EntryType.ORGANIZATION)
    person = entry_type is EntryType.PERSON
    facts = Facts(titles=[record.title] if record.title else [])
    read_remarks((item for text in record.remarks for item in text.split(";")), facts)
    facts.countries.extend(sorted(record.countries))
    id_ = entry_id("ofac", record.ent_num)
    if facts.birth_places:
        birth_places[id_] = facts.birth_places
    name = _display_name(record.name, person)
    strong = [_display_name(other, person) for other in record.extra_names]
    weak = [_unquote(w) for text in record.remarks for w in _WEAK_AKA.findall(text)]
    for alias, is_weak in record.aliases:
        if is_weak:
            weak.append(alias)
        else:
            strong.append(_display_name(alias, person))
    aliases, weak_aliases = clean_names(name, strong, weak)
    return Entry(
        list_name=list_name,
        id=id_,
        name=name,
        type=entry_type,
        aliases=aliases,
        weak_aliases=weak_aliases,
        severity=severity,
        programs=tuple(sorted(record.programs)),
        notes=_notes(record, entry_type),
        name_parts=_name_parts(record.name, facts) if person else None,
        **facts.fields(),
    )


def _name_parts(raw: str, facts: Facts) -> NameParts | None:
    """``KIM, Jong Un`` -> family (Kim), given (Jong Un), family first; a name without
    OFAC's comma says nothing about its parts."""
    if "," not in raw:
        return None
    family, given = (smart_title(tidy(part)) for part in raw.split(",", 1))
    return person_parts(family, given, (*facts.countries, *facts.birth_places))


def _unquote(name: str) -> str:
    """``a.k.a. ''FOOPIE''`` quotes a nickname inside OFAC's quotes; a lone leading apostrophe
    (``'ABD AL-HAFIZ``, an ayn) is part of the name."""
    return name[1:-1] if len(name) > 2 and name[0] == name[-1] == "'" else name


def _display_name(raw: str, person: bool) -> str:
    """A person's ``PUTIN, Vladimir`` -> ``Vladimir Putin``; other names as OFAC writes them."""
    raw = tidy(raw)
    if not person:
        return raw
    if "," not in raw:
        return title_person_name(raw)
    surname, given = (tidy(part) for part in raw.split(",", 1))
    surname, given = smart_title(surname), smart_title(given)
    if not given or not surname:
        return title_person_name(surname or given)
    return f"{given} {surname}"


def _notes(record: _Record, entry_type: EntryType) -> str:
    parts = [f"OFAC {' + '.join(sorted(record.lists))} list"]
    if record.title:
        parts.append(f"Title: {record.title}")
    if entry_type is EntryType.VESSEL:
        vessel_type, flag, call_sign = record.vessel
        parts += [
            f"{label}: {value}"
            for label, value in (
                ("Vessel type", vessel_type),
                ("Flag", flag),
                ("Call sign", call_sign),
            )
            if value
        ]
    remarks = " ".join(record.remarks)
    parts += [
        item.strip().rstrip(".") for item in remarks.split(";") if _KEPT_REMARKS.match(item.strip())
    ]
    if record.countries:
        parts.append("Address countries: " + ", ".join(sorted(record.countries)))
    return "; ".join(dict.fromkeys(parts))
