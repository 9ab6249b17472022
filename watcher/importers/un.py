"""The UN Security Council consolidated list (XML) to watchlist entries.

    <CONSOLIDATED_LIST dateGenerated="...">
      <INDIVIDUALS><INDIVIDUAL>
        FIRST_NAME SECOND_NAME THIRD_NAME FOURTH_NAME, NAME_ORIGINAL_SCRIPT, UN_LIST_TYPE,
        REFERENCE_NUMBER, INDIVIDUAL_ALIAS(QUALITY Good|a.k.a.|f.k.a.|Low, ALIAS_NAME), ...
      <ENTITIES><ENTITY> FIRST_NAME, ENTITY_ALIAS(...), ...

The entry id is the REFERENCE_NUMBER (``QDi.001`` -> ``un-qdi.001``); the program is the
UN_LIST_TYPE; "Low" quality aliases are weak aliases (the UN's own "low quality a.k.a.").

Name parts: FIRST_NAME is the given name(s), the last of SECOND/THIRD/FOURTH_NAME the family
name and those between middle names; a Korean, Chinese or Vietnamese name the UN writes family
name first (``YUN Ho-jin``) is kept in that order. Aliases carry remarks in parentheses that
are not names (``Abdel Ilah Sabri (false identity related to ...)``): they go to the notes;
other spellings in parentheses (``حسن غول (Hassan Ghul; Hassan Gul)``) become aliases of their
own, and an organisation's acronym (``Al-Qaida in Yemen (AQY)``) a weak alias.

Safety: the stdlib parser (expat) never fetches external entities, and a document with a
DOCTYPE is refused outright, so no entity can be declared at all (no "billion laughs"). The real
list has no DOCTYPE, so this costs nothing and needs no extra dependency.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from watcher.config.watchlist import Entry, EntryType, NameOrder, NameParts, Severity
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
    xml_events,
)
from watcher.importers.derive import with_derived
from watcher.importers.names import (
    Facts,
    NameWithRemarks,
    birth_date,
    given_names,
    identifier,
    is_family_first,
    split_remarks,
    surnames,
)

_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_WEAK_QUALITY = "low"


def import_un(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    entries: list[Entry] = []
    files = []
    places: dict[str, list[str]] = {}
    for path in paths:
        data = read_bytes(path)
        root_date, records = _records(path, data)
        files.append(SourceFile.of(path, data, data_date=root_date))
        entries.extend(_entry(path, element, list_name, severity, places) for element in records)
    return ImportResult("un", with_derived(unique_ids(entries), places), tuple(files))


def _records(path: Path, data: bytes) -> tuple[str, list[ET.Element]]:
    date = ""
    records: list[ET.Element] = []
    for event, element in xml_events(path, data):
        if event == "start" and element.tag == "CONSOLIDATED_LIST":
            date = element.get("dateGenerated", "")
        elif event == "end" and element.tag in ("INDIVIDUAL", "ENTITY"):
            records.append(element)
    if not date and not records:
        raise SourceFileError(f"{path}: not a UN consolidated list (no CONSOLIDATED_LIST records)")
    return date, records


def _text(element: ET.Element, tag: str) -> str:
    return tidy(element.findtext(tag) or "")


def _entry(
    path: Path,
    element: ET.Element,
    list_name: str,
    severity: Severity,
    birth_places: dict[str, list[str]],
) -> Entry:
    person = element.tag == "INDIVIDUAL"
    reference = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    if not reference:
        raise SourceFileError(f"{path}: an {element.tag} has neither REFERENCE_NUMBER nor DATAID")
    raw_parts = [p for p in (_text(element, tag) for tag in _NAME_PARTS) if p]
    raw_name = " ".join(raw_parts)
    facts = _facts(element, person)
    strong, weak, remarks = _aliases(element, person, facts)
    if not person and raw_name:  # "BUTEMBO AIRLINES (BAL)", "A (CAGL) ; B (GLBC)"
        first, *others = _listed_names(raw_name)
        raw_name = first.name or raw_name
        for found in (first, *others):
            strong += [n for n in (found.name, *found.other_names) if n != raw_name]
            weak += found.acronyms
            remarks += [f"name {found.name}: {remark}" for remark in found.remarks]
    name = title_person_name(raw_name) if person else raw_name
    if not name:
        raise SourceFileError(f"{path}: {element.tag} {reference} has no name")
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        strong.append(original)
    aliases, weak_aliases = clean_names(name, strong, weak)
    program = _text(element, "UN_LIST_TYPE")
    id_ = entry_id("un", reference)
    if facts.birth_places:
        birth_places[id_] = facts.birth_places
    parts = _name_parts(raw_parts, facts) if person else None
    return Entry(
        list_name=list_name,
        id=id_,
        name=name,
        type=EntryType.PERSON if person else EntryType.ORGANIZATION,
        aliases=aliases,
        weak_aliases=weak_aliases,
        severity=severity,
        programs=(f"UN {program}",) if program else (),
        notes="; ".join((_notes(element, reference), *remarks)),
        name_parts=parts,
        **facts.fields(),
    )


def _name_parts(raw_parts: list[str], facts: Facts) -> NameParts | None:
    """FIRST_NAME given, the last part the family name; a family-first name as the UN
    writes it (FIRST_NAME ``YUN``, SECOND_NAME ``HO-JIN``)."""
    titled = [title_person_name(p) if " " in p else p.title() for p in raw_parts]
    if len(titled) < 2:
        return None
    first, *middle, last = titled
    countries = (*facts.countries, *facts.birth_places)
    if not middle and is_family_first((first,), last, countries):
        return NameParts((last,), (), (first,), NameOrder.FAMILY_FIRST)
    given, more = given_names(first)
    return NameParts(given, (*more, *middle), surnames(last), NameOrder.GIVEN_FIRST)


def _facts(element: ET.Element, person: bool) -> Facts:
    facts = Facts()
    for label in ("TITLE", "DESIGNATION"):
        facts.titles += [tidy(v.text or "") for v in element.findall(f"{label}/VALUE")]
    facts.countries += [tidy(v.text or "") for v in element.findall("NATIONALITY/VALUE")]
    address = "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS"
    facts.countries += [_text(a, "COUNTRY") for a in element.findall(address)]
    facts.birth_places += [
        _text(p, "COUNTRY") for p in element.findall("INDIVIDUAL_PLACE_OF_BIRTH")
    ]
    for born in element.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        facts.birth_dates.append(birth_date(_text(born, "DATE") or _text(born, "YEAR")))
    for document in element.findall("INDIVIDUAL_DOCUMENT"):
        kind = _text(document, "TYPE_OF_DOCUMENT").lower()
        slug = "passport" if "pas" in kind else "national-id" if "ident" in kind else "id"
        facts.identifiers.append(identifier(slug, _text(document, "NUMBER")))
    return facts


def _aliases(
    element: ET.Element, person: bool, facts: Facts
) -> tuple[list[str], list[str], list[str]]:
    """Strong and weak aliases, and the remarks found in them (for the notes)."""
    strong: list[str] = []
    weak: list[str] = []
    remarks: list[str] = []
    tag = "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"
    for alias in element.iter(tag):
        written = _text(alias, "ALIAS_NAME")
        if not written:
            continue
        weak_quality = _text(alias, "QUALITY").lower() == _WEAK_QUALITY
        for found in _listed_names(written) if not person else [split_remarks(written)]:
            names = [n for n in (found.name, *found.other_names) if n]
            if weak_quality:
                weak += names
            else:
                strong += [title_person_name(n) if person else n for n in names]
            weak += found.acronyms
            facts.titles += found.titles
            remarks += [f"alias {found.name}: {remark}" for remark in found.remarks]
    return strong, weak, remarks


def _listed_names(text: str) -> list[NameWithRemarks]:
    """An organisation's name field may hold several names: ``A (CAGL) ; B (GLBC)``."""
    return [split_remarks(part) for part in text.split(" ; ") if part.strip()] or [
        NameWithRemarks(text)
    ]


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
