"""The UN Security Council consolidated list (XML) to watchlist entries.

    <CONSOLIDATED_LIST dateGenerated="...">
      <INDIVIDUALS><INDIVIDUAL>
        FIRST_NAME SECOND_NAME THIRD_NAME FOURTH_NAME, NAME_ORIGINAL_SCRIPT, UN_LIST_TYPE,
        REFERENCE_NUMBER, INDIVIDUAL_ALIAS(QUALITY Good|a.k.a.|f.k.a.|Low, ALIAS_NAME), ...
      <ENTITIES><ENTITY> FIRST_NAME, ENTITY_ALIAS(...), ...

The entry id is the REFERENCE_NUMBER (``QDi.001`` -> ``un-qdi.001``); the program is the
UN_LIST_TYPE; "Low" quality aliases are weak aliases (the UN's own "low quality a.k.a.").

Safety: the stdlib parser (expat) never fetches external entities, and a document with a
DOCTYPE is refused outright, so no entity can be declared at all (no "billion laughs"). The real
list has no DOCTYPE, so this costs nothing and needs no extra dependency.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from watcher.importers.common import (
    ImportResult,
    SourceFile,
    SourceFileError,
    clean_names,
    entry_id,
    read_bytes,
    tidy,
    title_person_name,
    unique_ids,
)
from watcher.watchlist import Entry, EntryType, Severity

_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_WEAK_QUALITY = "low"


def import_un(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    entries: list[Entry] = []
    files = []
    for path in paths:
        data = read_bytes(path)
        root_date, records = _records(path, data)
        files.append(SourceFile.of(path, data, data_date=root_date))
        entries.extend(_entry(path, element, list_name, severity) for element in records)
    return ImportResult("un", unique_ids(entries), tuple(files))


def _records(path: Path, data: bytes) -> tuple[str, list[ET.Element]]:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # XML keywords are case-sensitive
        raise SourceFileError(f"{path}: refusing an XML document with a DOCTYPE/ENTITY declaration")
    date = ""
    records: list[ET.Element] = []
    try:
        for event, element in ET.iterparse(io.BytesIO(data), events=("start", "end")):
            if event == "start" and element.tag == "CONSOLIDATED_LIST":
                date = element.get("dateGenerated", "")
            elif event == "end" and element.tag in ("INDIVIDUAL", "ENTITY"):
                records.append(element)
    except ET.ParseError as exc:
        line, column = exc.position
        raise SourceFileError(f"{path}:{line}:{column + 1}: not well-formed XML: {exc}") from exc
    if not date and not records:
        raise SourceFileError(f"{path}: not a UN consolidated list (no CONSOLIDATED_LIST records)")
    return date, records


def _text(element: ET.Element, tag: str) -> str:
    return tidy(element.findtext(tag) or "")


def _entry(path: Path, element: ET.Element, list_name: str, severity: Severity) -> Entry:
    person = element.tag == "INDIVIDUAL"
    reference = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    if not reference:
        raise SourceFileError(f"{path}: an {element.tag} has neither REFERENCE_NUMBER nor DATAID")
    raw_name = " ".join(p for p in (_text(element, tag) for tag in _NAME_PARTS) if p)
    name = title_person_name(raw_name) if person else raw_name
    if not name:
        raise SourceFileError(f"{path}: {element.tag} {reference} has no name")
    strong, weak = _aliases(element, person)
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        strong.append(original)
    aliases, weak_aliases = clean_names(name, strong, weak)
    program = _text(element, "UN_LIST_TYPE")
    return Entry(
        list_name=list_name,
        id=entry_id("un", reference),
        name=name,
        type=EntryType.PERSON if person else EntryType.ORGANIZATION,
        aliases=aliases,
        weak_aliases=weak_aliases,
        severity=severity,
        programs=(f"UN {program}",) if program else (),
        notes=_notes(element, reference),
    )


def _aliases(element: ET.Element, person: bool) -> tuple[list[str], list[str]]:
    strong: list[str] = []
    weak: list[str] = []
    tag = "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"
    for alias in element.iter(tag):
        name = _text(alias, "ALIAS_NAME")
        if not name:
            continue
        if _text(alias, "QUALITY").lower() == _WEAK_QUALITY:
            weak.append(name)
        else:
            strong.append(title_person_name(name) if person else name)
    return strong, weak


def _notes(element: ET.Element, reference: str) -> str:
    parts = [f"UN consolidated list {reference}"]
    if listed := _text(element, "LISTED_ON"):
        parts.append(f"listed {listed}")
    for label, path in (
        ("Title", "TITLE/VALUE"),
        ("Designation", "DESIGNATION/VALUE"),
        ("Nationality", "NATIONALITY/VALUE"),
    ):
        values = [tidy(v.text or "") for v in element.findall(path) if (v.text or "").strip()]
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    births = [
        _text(b, "DATE") or _text(b, "YEAR") for b in element.findall("INDIVIDUAL_DATE_OF_BIRTH")
    ]
    if births := [b for b in births if b]:
        parts.append(f"DOB {', '.join(births)}")
    return "; ".join(parts)
