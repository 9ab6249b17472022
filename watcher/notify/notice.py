"""Values the notifier moves around: pending matches, feed problems and outbox messages.

They sit apart from rendering (jinja) and from the store (SQL) so both can use them without
depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from watcher.config.watchlist import Severity

FeedState = Literal["failing", "disabled", "stale"]


@dataclass(frozen=True)
class PendingMatch:
    """A recorded match joined with its article and feeds: one line of a digest or alert."""

    id: int
    article_id: str
    title: str
    link: str
    published: datetime | None
    feeds: tuple[str, ...]  # names (or URLs) of the feeds that carried the article
    list_name: str
    entry_id: str
    name: str
    type: str
    severity: Severity
    programs: tuple[str, ...]
    alias: str
    text: str
    score: int
    snippet: str
    found_at: datetime
    alerted_at: datetime | None = None
    alert_held: str | None = None  # "cap" / "old": held back from an immediate alert
    origin: str = "feed"  # "rescreen": found by back-screening a newly listed entry
    also: tuple[tuple[str, str], ...] = ()  # the entity's other listings (list, entry id)
    why: str = ""  # why it matched, in words (`Match.why`); "" when stored before v6

    @property
    def entry_key(self) -> str:
        return f"{self.list_name}/{self.entry_id}"


@dataclass(frozen=True)
class FeedProblem:
    """A feed the digest should mention: failing, disabled or stale."""

    name: str
    url: str
    state: FeedState
    detail: str = ""  # last error, disable reason, or how long it has been quiet
    since: datetime | None = None


@dataclass(frozen=True)
class OutboxMessage:
    """A rendered message waiting in (or sent from) the outbox."""

    id: int
    kind: str
    message_id: str
    recipients: tuple[str, ...]
    data: bytes  # the exact RFC 5322 bytes; every retry sends these, same Message-ID
    created_at: float
    attempts: int
    next_attempt: float
    last_error: str | None = None
    sent_at: float | None = None
