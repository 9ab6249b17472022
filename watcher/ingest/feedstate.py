"""Values the store hands to the ingestion code: a feed's stored state, known items, counts."""

from __future__ import annotations

from dataclasses import dataclass, field

# the feed columns the poller may change (the store refuses any other name)
FEED_STATE_COLUMNS = frozenset(
    {
        "current_url",
        "etag",
        "last_modified",
        "next_poll",
        "failures",
        "failing_since",
        "last_error",
        "last_status",
        "last_poll",
        "last_success",
        "last_new_item",
        "disabled_at",
        "disabled_reason",
        "initialized",
        "ttl",
        "warning",
    }
)


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
