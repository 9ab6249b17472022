"""Values the store hands to the ingestion code: a feed's stored state, known items, counts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Final


class Unset(Enum):
    """The type of `UNSET`."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET  # a `FeedUpdate` field left as it is in the store


@dataclass(frozen=True)
class FeedUpdate:
    """Some of a feed's state columns, to set after a poll: only the fields given are written
    (`UNSET` ones keep their stored value; None writes NULL). Typed, so mypy checks every
    change the poller makes."""

    current_url: str | Unset = UNSET
    etag: str | Unset | None = UNSET
    last_modified: str | Unset | None = UNSET
    next_poll: float | Unset = UNSET
    failures: int | Unset = UNSET
    failing_since: float | Unset | None = UNSET
    last_error: str | Unset | None = UNSET
    last_status: int | Unset | None = UNSET
    last_poll: float | Unset = UNSET
    last_success: float | Unset = UNSET
    last_new_item: float | Unset = UNSET
    disabled_at: float | Unset = UNSET
    disabled_reason: str | Unset = UNSET
    initialized: bool | Unset = UNSET
    ttl: float | Unset | None = UNSET
    warning: str | Unset | None = UNSET

    def columns(self) -> dict[str, object]:
        """The columns to write (name -> value; booleans as 0/1, as the schema keeps them)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            name: int(value) if isinstance(value, bool) else value
            for name, value in values.items()
            if value is not UNSET
        }


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str  # as configured: the feed's identity
    current_url: str  # where 301/308 redirects moved it
    name: str
    etag: str | None
    last_modified: str | None
    next_poll: float
    failures: int
    failing_since: float | None
    last_error: str | None
    last_status: int | None
    last_poll: float | None
    last_success: float | None
    last_new_item: float | None
    disabled_at: float | None
    disabled_reason: str | None
    initialized: bool
    active: bool
    ttl: float | None = None  # RSS <ttl> in seconds, from the last parse
    warning: str | None = None  # the last parse read an ill-formed document (what was wrong)
    lease_owner: str | None = None  # the instance polling it (`Transaction.claim_due_feeds`)
    lease_until: float | None = None  # others may take it from then on


@dataclass(frozen=True)
class KnownItem:
    article_id: str
    content_hash: str


@dataclass(frozen=True)
class ItemRecord:
    """One item of a fetched document, as the store records it."""

    key: str
    article_id: str
    link: str
    title: str
    published: float | None
    content_hash: str


@dataclass(frozen=True)
class StoreCounts:
    articles: int
    matches: int
    pending_matches: int  # to be mailed, not yet in a digest
    outbox_queued: int
    suppressions: dict[str, int] = field(default_factory=dict)  # rule label -> count
