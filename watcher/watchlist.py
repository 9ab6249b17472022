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
