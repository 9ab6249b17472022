"""OFAC's enhanced XML (``SDN_ENHANCED.XML`` / ``CONS_ENHANCED.XML``, or their ``.ZIP``) to
watchlist entries.

    <sanctionsData><publicationInfo><dataAsOf>2025-01-10T00:00:00</dataAsOf>...
      <entities><entity id="9639">            <- the same number as ent_num in the CSV files
        <generalInfo><entityType>Individual|Entity|Vessel|Aircraft</entityType>
        <sanctionsLists><sanctionsList datePublished="...">Consolidated List</sanctionsList>
        <sanctionsPrograms><sanctionsProgram>NS-PLC</sanctionsProgram>
        <names><name><isPrimary/><aliasType>A.K.A.</aliasType><isLowQuality/>
          <translations><translation><script>Latin</script><formattedFullName>HANIYA, Ismail
        <addresses><address>...<country>Russia</country>
        <features><feature><type>Birthdate</type><value>1962</value>

The entry id is ``ofac-<entity id>``, the same id the CSV importer gives the same designation,
so a list can move from the CSV files to the XML (or mix them) without its ids changing.
Names are displayed as the CSV importer displays them (a person's ``SURNAME, Given`` becomes
``Given Surname``); low-quality aliases become weak aliases; translations in other scripts
(Cyrillic, Chinese) are kept as aliases.

Safety as in the UN importer: expat fetches no external entity and a DOCTYPE is refused; a ZIP
member is read with a size cap (a bomb stops at `MAX_XML_BYTES`). A document cut short fails
to parse, so a truncated download is refused rather than read as a shorter list.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from watcher.config.watchlist import Entry, EntryType, Severity
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
    xml_events,
)
from watcher.importers.ofac import import_ofac

MAX_XML_BYTES = 1 << 30  # the full SDN_ENHANCED.XML is ~100 MB; a bomb stops here
XML_SUFFIXES = (".xml", ".zip")
_TYPES = {
    "individual": EntryType.PERSON,
    "vessel": EntryType.VESSEL,
    "aircraft": EntryType.OTHER,
    "entity": EntryType.ORGANIZATION,
}
_KEPT_FEATURES = ("Birthdate", "Place of Birth", "Nationality Country", "Citizenship Country")


@dataclass
class _Names:
    primary: str = ""
    strong: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)


def import_ofac_any(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    """OFAC files of either format: CSV files go to the CSV importer, ``.xml``/``.zip`` files
    here. When both name the same entity, the CSV entry is kept (its remarks are richer)."""
    xml = [p for p in paths if p.suffix.lower() in XML_SUFFIXES]
    csv = [p for p in paths if p.suffix.lower() not in XML_SUFFIXES]
    if not xml:
        return import_ofac(csv, list_name, severity)
    from_xml = import_ofac_xml(xml, list_name, severity)
    if not csv:
        return from_xml
    from_csv = import_ofac(csv, list_name, severity)
    have = {e.id for e in from_csv.entries}
    extra = [e for e in from_xml.entries if e.id not in have]
    return ImportResult(
        "ofac",
        unique_ids([*from_csv.entries, *extra]),
        from_csv.files + from_xml.files,
        from_csv.notes + from_xml.notes,
    )


def import_ofac_xml(
    paths: Sequence[Path], list_name: str, severity: Severity = Severity.MEDIUM
) -> ImportResult:
    """Entries for every ``<entity>`` of the enhanced XML files in `paths`."""
    entries: list[Entry] = []
    files: list[SourceFile] = []
    skipped: Counter[str] = Counter()
    for path in paths:
        raw = read_bytes(path)
        data = _xml_bytes(path, raw)
        date, elements = _entities(path, data)
        files.append(SourceFile.of(path, raw, data_date=date))
        for element in elements:
            entry = _entry(element, list_name, severity, skipped)
            if entry is not None:
                entries.append(entry)
    if not entries and not skipped:
        names = ", ".join(p.name for p in paths)
        raise SourceFileError(f"{names}: no <entity> in the OFAC enhanced XML")
    notes = tuple(f"{count} {reason}" for reason, count in sorted(skipped.items()))
    return ImportResult("ofac", unique_ids(entries), tuple(files), notes)


def _xml_bytes(path: Path, raw: bytes) -> bytes:
    if not raw.startswith(b"PK\x03\x04"):
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [i for i in archive.infolist() if i.filename.lower().endswith(".xml")]
            if len(members) != 1:
                raise SourceFileError(f"{path}: expected one .xml file in the ZIP archive")
            with archive.open(members[0]) as member:
                data = member.read(MAX_XML_BYTES + 1)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceFileError(f"{path}: not a readable ZIP archive (truncated?): {exc}") from exc
    if len(data) > MAX_XML_BYTES:
        raise SourceFileError(f"{path}: the XML inside is larger than {MAX_XML_BYTES} bytes")
    return data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _entities(path: Path, data: bytes) -> tuple[str, list[ET.Element]]:
    date, root, elements = "", "", []
    for event, element in xml_events(path, data):
        tag = _local(element.tag)
        if event == "start":
            root = root or tag
            continue
        if tag == "dataAsOf":
            date = (element.text or "").strip()[:10]
        elif tag == "entity":
            elements.append(element)
    if root != "sanctionsData":
        raise SourceFileError(f"{path}: root element <{root}> is not OFAC's <sanctionsData>")
    return date, elements


def _children(element: ET.Element | None, name: str) -> Iterator[ET.Element]:
    if element is None:
        return
    for child in element:
        if _local(child.tag) == name:
            yield child


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    return next(_children(element, name), None)


def _text(element: ET.Element | None, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def _entry(
    element: ET.Element, list_name: str, severity: Severity, skipped: Counter[str]
) -> Entry | None:
    ident = element.get("id", "").strip()
    if not ident.isdigit():
        skipped["entities without a numeric id were skipped"] += 1
        return None
    kind = _text(_child(element, "generalInfo"), "entityType").lower()
    entry_type = _TYPES.get(kind, EntryType.ORGANIZATION)
    names = _names(element, entry_type is EntryType.PERSON)
    if not names.primary:
        skipped[f"entities without a primary name were skipped (e.g. id {ident})"] += 1
        return None
    aliases, weak = clean_names(names.primary, names.strong, names.weak)
    programs = sorted(
        {
            (p.text or "").strip()
            for p in _children(_child(element, "sanctionsPrograms"), "sanctionsProgram")
        }
        - {""}
    )
    return Entry(
        list_name=list_name,
        id=entry_id("ofac", ident),
        name=names.primary,
        type=entry_type,
        aliases=aliases,
        weak_aliases=weak,
        severity=severity,
        programs=tuple(programs),
        notes=_notes(element),
    )


def _names(element: ET.Element, person: bool) -> _Names:
    names = _Names()
    for name in _children(_child(element, "names"), "name"):
        primary = _text(name, "isPrimary") == "true"
        weak = _text(name, "isLowQuality") == "true"
        for translation in _children(_child(name, "translations"), "translation"):
            shown = _display_name(translation, person)
            if not shown:
                continue
            main = _text(translation, "isPrimary") == "true"
            if primary and main and not names.primary:
                names.primary = shown
            elif weak:  # as written, like the CSV importer's weak a.k.a.s
                names.weak.append(tidy(_text(translation, "formattedFullName")) or shown)
            else:
                names.strong.append(shown)
    return names


def _display_name(translation: ET.Element, person: bool) -> str:
    """As the CSV importer shows names: ``HANIYA, Ismail`` -> ``Ismail Haniya`` for people,
    every other name exactly as OFAC writes it."""
    full = tidy(_text(translation, "formattedFullName"))
    if not person:
        return full
    first = tidy(_text(translation, "formattedFirstName"))
    last = tidy(_text(translation, "formattedLastName"))
    if not (first and last) and "," in full:
        last, first = (tidy(part) for part in full.split(",", 1))
    if first and last:
        return f"{smart_title(first)} {smart_title(last)}"
    return title_person_name(first or last or full)


def _notes(element: ET.Element) -> str:
    lists = [
        (s.text or "").strip()
        for s in _children(_child(element, "sanctionsLists"), "sanctionsList")
    ]
    parts = [f"OFAC {' + '.join(sorted(set(lists) - {''}))}"] if lists else []
    dates = sorted(
        s.get("datePublished", "")
        for s in _children(_child(element, "sanctionsLists"), "sanctionsList")
        if s.get("datePublished")
    )
    if dates:
        parts.append(f"Listed: {dates[0]}")
    for feature in _children(_child(element, "features"), "feature"):
        label = _text(feature, "type")
        if label in _KEPT_FEATURES and (value := _text(feature, "value")):
            parts.append(f"{label}: {value}")
    countries = sorted(
        {
            (c.text or "").strip()
            for address in _children(_child(element, "addresses"), "address")
            for c in _children(address, "country")
        }
        - {""}
    )
    if countries:
        parts.append("Address countries: " + ", ".join(countries))
    return "; ".join(dict.fromkeys(parts))
