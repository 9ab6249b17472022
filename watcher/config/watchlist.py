"""Watchlists: the entities and people users watch for, as validated, frozen values.

The YAML schema users edit (keep it; extend, never rename):

    list: russia-energy          # optional, defaults to the file name
    description: ...
    defaults: {severity: medium} # any entry field except id/name/aliases
    entries:
      - id: rosneft              # required, unique in the list: [a-z0-9][a-z0-9._-]*
        name: Rosneft            # required
        type: organization       # organization | person | vessel | other
        aliases: [NK Rosneft, Роснефть]
        weak_aliases: [RN]       # never raise a match on their own (OFAC "weak a.k.a.")
        severity: high           # low | medium | high
        programs: [US-SDN EO14024]
        notes: ...
        threshold: 92            # per-entry override of matching.threshold
        exclude: [Rosneftegaz]   # phrases that must not count as this entry
        match_vessels: false     # vessels/aircraft are only matched when true
        # What the source says about the entity (importers write these; all optional):
        name_parts:              # the primary name's parts (people)
          given: [Vladimir]
          middle: [Vladimirovich]     # patronymics and middle names
          family: [Putin]             # family names (Spanish/Portuguese often two)
          order: given-first          # given-first | family-first (Korean, Chinese, Vietnamese)
        derived:                 # forms news derives from the name: delete one to stop it
          - {name: Vladimir Putin, rule: given-family}
          - {name: Rosario Murillo, rule: first-surname, needs: cue-and-country}  # see below
        titles: [President of the Russian Federation]
        countries: [Russia]      # nationality, citizenship, seat or address countries
        birth_dates: ["1952-10-07"]
        identifiers: [passport:RU-123]   # kind:number; shared ones merge entries across lists

Derived-form rules (`watcher.importers.derive`, which decides when none is derived):
``given-family`` (``Ali Khamenei`` for ``Ali Husseini KHAMENEI``), ``family-first`` (``Kim
Jong Un``, ``Kim Jong-un`` for OFAC ``KIM, Jong Un``), ``first-surname`` (``Nicolas Maduro``
for ``Nicolas MADURO MOROS``), ``arabic-last`` (``Bashar Assad`` for ``Bashar AL-ASSAD``),
``weak-alias`` (a weak alias that is the leading words of a strong name: OFAC's weak ``ABU
BAKR AL-BAGHDADI`` of ``Abu Bakr al-Baghdadi al-Husayni Al-Quraishi``).
A derived form made only of common names (``Rosario Murillo`` for ``Rosario MURILLO DE
ORTEGA``: Rosario a frequent given name, Murillo a frequent family name on the lists) names
anyone on its own; it is written with ``needs: cue-and-country`` and counts only right after a
title or rank (``Vice President Rosario Murillo``) in an item that names one of the entry's
countries (Nicaragua).

Identifier kinds: passport, national-id, tax-id, registration, imo, mmsi, swift, lei, inn,
ogrn, id; the number upper case without separators. Entries on different lists sharing an
identifier, or a birth date and a name, are one card (`watcher.matching.cards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryType(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"
    VESSEL = "vessel"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class NameOrder(StrEnum):
    GIVEN_FIRST = "given-first"
    FAMILY_FIRST = "family-first"  # Korean, Chinese, Vietnamese: Kim Jong Un


@dataclass(frozen=True)
class NameParts:
    """What the source says about the parts of a person's primary name (OFAC ``LAST, First
    Middle``; UN FIRST_NAME/SECOND_NAME/...; OpenSanctions firstName/lastName...)."""

    given: tuple[str, ...] = ()
    middle: tuple[str, ...] = ()  # patronymics and middle names: news leaves them out
    family: tuple[str, ...] = ()  # a Spanish/Portuguese name often has two; news uses the first
    order: NameOrder = NameOrder.GIVEN_FIRST


# DerivedName.needs: a form of common names only, counted only after a title or rank
# (``Vice President Rosario Murillo``) in an item naming one of the entry's countries.
NEEDS_CUE_AND_COUNTRY = "cue-and-country"


@dataclass(frozen=True)
class DerivedName:
    """A form of the name that news writes and the list does not (``Kim Jong Un`` for
    ``KIM, Jong Un``), with the rule that derived it, so an analyst can see and remove it."""

    name: str
    rule: str  # given-family | family-first | first-surname | arabic-last | weak-alias
    needs: str = ""  # "" (counts wherever written) | NEEDS_CUE_AND_COUNTRY


@dataclass(frozen=True)
class Entry:
    """One watched entity or person, with defaults already applied."""

    list_name: str
    id: str
    name: str
    type: EntryType = EntryType.ORGANIZATION
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()
    severity: Severity = Severity.MEDIUM
    programs: tuple[str, ...] = ()
    notes: str = ""
    threshold: int | None = None
    exclude: tuple[str, ...] = ()
    match_vessels: bool = False
    name_parts: NameParts | None = None
    derived: tuple[DerivedName, ...] = ()
    titles: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()  # ISO dates, or a bare year ("1952") when that is all
    identifiers: tuple[str, ...] = ()  # "kind:number", e.g. "imo:9123456", "passport:..."

    @property
    def key(self) -> str:
        """Globally unique reference: ``list/entry-id``."""
        return f"{self.list_name}/{self.id}"

    @property
    def names(self) -> tuple[str, ...]:
        """The primary name followed by the strong aliases."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Watchlist:
    name: str
    description: str
    source: str  # file path it was loaded from
    entries: tuple[Entry, ...]
