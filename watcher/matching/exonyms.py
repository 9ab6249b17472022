"""How news in other languages and scripts writes the most-reported listed names.

The lists write ``HIZBALLAH``, ``ISLAMIC STATE OF IRAQ AND THE LEVANT``, ``TALIBAN``, ``Ali
Husseini Khamenei``; Spanish news writes ``Hezbolá``, ``Estado Islámico``, ``los talibanes``,
``Alí Jamenei``, Russian news ``Ким Чен Ын``. Romanisation and inflection rules reach many
such spellings (``Хезболла``, ``Аль-Каида``); translations, respellings and a language's
plural for a group they cannot. The reference table ``exonyms.yaml`` (package data, read
once per process) gives them per row of anchor names, and an entry whose primary name or
strong alias is an anchor (`watcher.matching.cards.name_key`: case, diacritics and
punctuation aside) and of the row's type is found by the row's forms too
(`watcher.matching.index.indexed_names`, the rule ``exonym:<language>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

from watcher.config.watchlist import Entry, EntryType
from watcher.matching.cards import name_key

TABLE = "exonyms.yaml"
RULE = "exonym"  # `Match.rule` of a match by a form: ``exonym:es``


@dataclass(frozen=True)
class Form:
    """One way news writes a listed name: `name` in `language` (an ISO 639-1 code);
    `capitalised`: a translation made of everyday words, only a name with its first word
    capitalised (``Estado Islámico``, not ``un estado islámico moderno``); `generic`: a
    translation that could name another country's body too (``Guardia Revolucionaria``):
    only capitalised, and beside the entry's country or another of its names, as the list's
    own generic names (``REVOLUTIONARY GUARD``)."""

    name: str
    language: str
    capitalised: bool = False
    generic: bool = False  # a generic name (Guardia Revolucionaria): with the entry's country

    @property
    def rule(self) -> str:
        return f"{RULE}:{self.language}"


@dataclass(frozen=True)
class Row:
    """One row of the table: the names the lists give the entity (`anchors`), its type, the
    forms news writes, and (persons) the surname as those languages spell it."""

    anchors: tuple[str, ...]
    type: EntryType
    forms: tuple[Form, ...]
    surnames: tuple[str, ...] = ()


def table() -> tuple[Row, ...]:
    """Every row of the table, in its order."""
    return _loaded()[0]


def digest() -> str:
    """A hash of the table: a compiled index of other forms is stale."""
    return _loaded()[1]


def rows_for(entry: Entry) -> tuple[Row, ...]:
    """The rows linked to `entry`: one of its names (primary or strong alias) is an anchor
    and it is of the row's type."""
    by_anchor = _by_anchor()
    if entry.type not in by_anchor:
        return ()
    anchored = by_anchor[entry.type]
    found: dict[int, Row] = {}
    for name in entry.names:
        for row in anchored.get(name_key(name), ()):
            found.setdefault(id(row), row)
    return tuple(found.values())


def forms_for(entry: Entry) -> tuple[Form, ...]:
    """The forms of every row linked to `entry`, in table order."""
    return tuple(form for row in rows_for(entry) for form in row.forms)


def surnames_for(entry: Entry) -> tuple[str, ...]:
    """A person's surname as the linked rows spell it in other languages (``Chamenei``)."""
    return tuple(s for row in rows_for(entry) for s in row.surnames)


@cache
def _by_anchor() -> dict[EntryType, dict[str, tuple[Row, ...]]]:
    index: dict[EntryType, dict[str, list[Row]]] = {}
    for row in table():
        for anchor in row.anchors:
            index.setdefault(row.type, {}).setdefault(name_key(anchor), []).append(row)
    return {kind: {k: tuple(v) for k, v in keyed.items()} for kind, keyed in index.items()}


@cache
def _loaded() -> tuple[tuple[Row, ...], str]:
    raw = files("watcher.matching").joinpath(TABLE).read_bytes()
    rows = yaml.load(raw, Loader=yaml.CSafeLoader)
    if not isinstance(rows, list):
        raise ValueError(f"{TABLE}: a list of rows expected")
    return tuple(_row(number, r) for number, r in enumerate(rows, start=1)), _hash(raw)


def _hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


_KEYS = frozenset({"anchor", "type", "names", "phrases", "generic", "surnames"})


def _row(number: int, raw: object) -> Row:
    """One validated row (a malformed table is a defect of the package: ValueError)."""
    where = f"{TABLE}: row {number}"
    if not isinstance(raw, dict) or not raw.keys() <= _KEYS or "anchor" not in raw:
        raise ValueError(f"{where}: a mapping of {sorted(_KEYS)} with an anchor expected")
    anchors = _strings(raw["anchor"], f"{where}: anchor")
    forms = (
        *_forms(raw.get("names") or {}, f"{where}: names", capitalised=False),
        *_forms(raw.get("phrases") or {}, f"{where}: phrases", capitalised=True),
        *_forms(raw.get("generic") or {}, f"{where}: generic", capitalised=True, generic=True),
    )
    surnames = _strings(raw.get("surnames") or [], f"{where}: surnames")
    return Row(anchors, EntryType(raw.get("type", "organization")), forms, surnames)


def _forms(
    raw: object, where: str, *, capitalised: bool, generic: bool = False
) -> tuple[Form, ...]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: a mapping of language to forms expected")
    return tuple(
        Form(name, str(language), capitalised, generic)
        for language, names in raw.items()
        for name in _strings(names, f"{where}: {language}")
    )


def _strings(raw: object, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s.strip() for s in raw):
        raise ValueError(f"{where}: a list of names expected")
    return tuple(raw)
