"""Values the store hands to the list-update code: a list's stored state and its changes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Validators:
    """One URL's HTTP validators from the last download that was used."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class ListState:
    """What the store remembers about one configured list (``lists:``)."""

    name: str
    validators: dict[str, Validators] = field(default_factory=dict)  # by URL
    last_check: float | None = None
    last_success: float | None = None  # the last check that ended ok (changed or not)
    last_change: float | None = None  # the list in force was last replaced
    failures: int = 0
    failing_since: float | None = None
    last_error: str | None = None
    entries: int | None = None  # in the list in force
    data_date: str = ""  # as the source states it (UN dateGenerated, OFAC dataAsOf)


@dataclass(frozen=True)
class ListChangeRow:
    """One recorded update of a list: its diff (JSON), for the digest and back-screening."""

    id: int
    list_name: str
    version: str  # sha256 of the body (header comment aside) of the list file it produced
    at: float
    added: int
    removed: int
    changed: int
    diff_json: str
    rescreened_at: float | None
    digest_id: str | None
