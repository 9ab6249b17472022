"""OpenSanctions FollowTheMoney JSON lines (``entities.ftm.json``) to watchlist entries.

One JSON object per line: ``{"id", "caption", "schema", "properties": {"name": [...],
"alias": [...], "weakAlias": [...], "previousName": [...], ...}, "datasets": [...], "target"}``.
Only the name-bearing schemas are imported (Person, Organization, Company, LegalEntity,
PublicBody, Vessel, Airplane); sanction, address and relationship records are skipped. Only
``target: true`` entities are sanctioned/listed themselves: the others (owners, relatives) are
context in the graph and would raise alerts on unlisted parties, so they are skipped and counted.
Programs are the entity's ``programId`` values plus its OpenSanctions datasets.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iso3166 import countries as iso_countries

from watcher.config.watchlist import Entry, EntryType, NameOrder, NameParts, Severity
from watcher.importers.common import (
    ImportResult,
    SourceFile,
    SourceFileError,
    clean_names,
    entry_id,
    read_bytes,
    tidy,
    unique_ids,
)
from watcher.importers.derive import with_derived
from watcher.importers.names import (
    Facts,
    birth_date,
    fold,
    given_names,
    identifier,
    is_family_first,
    surnames,
)

_SCHEMAS = {
    "Person": EntryType.PERSON,
    "Organization": EntryType.ORGANIZATION,
    "Company": EntryType.ORGANIZATION,
    "LegalEntity": EntryType.ORGANIZATION,
    "PublicBody": EntryType.ORGANIZATION,
    "Vessel": EntryType.VESSEL,
    "Airplane": EntryType.OTHER,
}
_STRONG = ("name", "alias", "previousName")
_NOTED = ("birthDate", "nationality", "country", "position", "innCode", "imoNumber")
_COUNTRIES = ("nationality", "citizenship", "country", "jurisdiction", "mainCountry")
# FtM identifier properties, and the kind written into `identifiers` (as the other importers).
_IDENTIFIERS = {
    "passportNumber": "passport",
    "idNumber": "national-id",
    "taxNumber": "tax-id",
    "innCode": "inn",
    "ogrnCode": "ogrn",
    "registrationNumber": "registration",
    "imoNumber": "imo",
    "mmsi": "mmsi",
    "swiftBic": "swift",
    "leiCode": "lei",
}


def import_opensanctions(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    entries: list[Entry] = []
    files = []
    skipped: Counter[str] = Counter()
    for path in paths:
        data = read_bytes(path)
        files.append(SourceFile.of(path, data))
        for line, record in _records(path, data):
            schema = str(record.get("schema", ""))
            if schema not in _SCHEMAS:
                skipped[f"{schema or 'schema-less'} records (not a named party)"] += 1
            elif record.get("target") is False:
                skipped[f"non-target {schema} entities (linked parties, not listed)"] += 1
            else:
                entries.append(_entry(path, line, record, list_name, severity))
    notes = tuple(f"{count} {what} skipped" for what, count in sorted(skipped.items()))
    return ImportResult("opensanctions", with_derived(unique_ids(entries)), tuple(files), notes)


def _records(path: Path, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceFileError(
                f"{path}:{number}:{exc.colno}: not a JSON object: {exc.msg}"
            ) from exc
        if not isinstance(record, dict):
            raise SourceFileError(f"{path}:{number}:1: expected a JSON object per line")
        records.append((number, record))
    return records


def _values(properties: dict[str, Any], key: str) -> list[str]:
    values = properties.get(key) or []
    return [tidy(str(v)) for v in values if str(v).strip()] if isinstance(values, list) else []


def _entry(
    path: Path, line: int, record: dict[str, Any], list_name: str, severity: Severity
) -> Entry:
    properties = record.get("properties")
    if not isinstance(properties, dict):
        raise SourceFileError(f"{path}:{line}: properties: expected an object")
    raw_id = str(record.get("id") or "")
    if not raw_id:
        raise SourceFileError(f"{path}:{line}: id: missing")
    strong = [name for key in _STRONG for name in _values(properties, key)]
    name = tidy(str(record.get("caption") or "")) or (strong[0] if strong else "")
    if not name:
        raise SourceFileError(f"{path}:{line}: properties.name: entity {raw_id} has no name")
    aliases, weak = clean_names(name, strong, _values(properties, "weakAlias"))
    programs = _values(properties, "programId") + [str(d) for d in record.get("datasets") or []]
    entry_type = _SCHEMAS[str(record["schema"])]
    person = entry_type is EntryType.PERSON
    facts = _facts(properties)
    return Entry(
        list_name=list_name,
        id=entry_id("os", raw_id),
        name=name,
        type=entry_type,
        aliases=aliases,
        weak_aliases=weak,
        severity=severity,
        programs=tuple(sorted(set(programs))),
        notes=_notes(raw_id, properties),
        name_parts=_name_parts(name, properties, facts) if person else None,
        **facts.fields(),
    )


def country_name(code: str) -> str:
    """The country an FtM code names (``ru`` -> ``Russian Federation``), as the other lists
    write countries: the matcher recognises a country in the news by its name and adjectives
    (`watcher.matching.countries`). A code ISO 3166 does not have (``suhh``) stays."""
    found = iso_countries.get(code, None) if len(code) in (2, 3) and code.isalpha() else None
    return found.name if found is not None else code


def _facts(properties: dict[str, Any]) -> Facts:
    return Facts(
        birth_dates=[birth_date(d) for d in _values(properties, "birthDate")],
        countries=[country_name(c) for key in _COUNTRIES for c in _values(properties, key)],
        identifiers=[
            identifier(kind, number)
            for key, kind in _IDENTIFIERS.items()
            for number in _values(properties, key)
        ],
        titles=_values(properties, "position") + _values(properties, "title"),
    )


def _name_parts(caption: str, properties: dict[str, Any], facts: Facts) -> NameParts | None:
    """The firstName/middleName/fatherName/lastName values that spell the caption (FtM lists
    every spelling of each part, in several scripts)."""
    folded = fold(caption)
    last = _spelling(properties, "lastName", folded)
    first = _spelling(properties, "firstName", folded)
    if not last or not first:
        return None
    if folded.startswith(fold(last)) and is_family_first((last,), first, facts.countries):
        return NameParts((first,), (), (last,), NameOrder.FAMILY_FIRST)
    given, more = given_names(first)
    middle = [
        m for key in ("middleName", "fatherName") if (m := _spelling(properties, key, folded))
    ]
    return NameParts(given, (*more, *middle), surnames(last), NameOrder.GIVEN_FIRST)


def _spelling(properties: dict[str, Any], key: str, folded_caption: str) -> str:
    return next((v for v in _values(properties, key) if fold(v) in folded_caption), "")


def _notes(raw_id: str, properties: dict[str, Any]) -> str:
    parts = [f"OpenSanctions {raw_id}"]
    for key in _NOTED:
        if values := _values(properties, key):
            parts.append(f"{key}: {', '.join(sorted(set(values)))}")
    return "; ".join(parts)
