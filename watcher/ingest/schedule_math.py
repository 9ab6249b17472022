"""When to poll a feed next: pure arithmetic on numbers the caller supplies.

Nothing here reads a clock or a random source; the caller passes ``now`` and a uniform
random ``rand`` in [0, 1), which keeps every rule testable from a table.

Rules:
- a healthy feed is polled every ``interval``;
- after ``n`` consecutive failures the delay is ``interval * 2**(n-1)``, capped at
  ``max_backoff`` (but never shorter than ``interval``), so a failing feed is retried
  forever, never silently dropped;
- server hints (``Retry-After``, ``Cache-Control: max-age``, RSS ``<ttl>``) are lower bounds
  on the delay, each capped at `MAX_HINT` so a hostile or buggy server cannot park a feed
  for a year;
- jitter (``rand * jitter`` seconds) is added to every delay so feeds configured together
  do not hit their hosts in lock-step.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

MAX_HINT = 24 * 3600.0  # no server hint may push a poll further out than a day
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:max-age|s-maxage)\s*=\s*\"?(\d+)\"?", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\b", re.I)


@dataclass(frozen=True)
class Hints:
    """What the server told us about when to come back (seconds from now; None: nothing)."""

    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None

    @property
    def lower_bound(self) -> float:
        values = [v for v in (self.retry_after, self.max_age, self.ttl) if v is not None]
        return min(max(values), MAX_HINT) if values else 0.0


def backoff_delay(failures: int, interval: float, max_backoff: float) -> float:
    """Delay after ``failures`` consecutive failures (0: a healthy feed: ``interval``):
    ``interval * 2**(failures-1)``, capped at ``max_backoff``. The one exponential backoff
    (feeds and the mail outbox use it)."""
    if failures <= 0:
        return interval
    cap = max(max_backoff, interval)
    exponent = min(failures - 1, 60)  # 2**60 already exceeds any sane cap
    return min(cap, interval * math.pow(2, exponent))


def next_poll_time(
    now: float,
    *,
    interval: float,
    failures: int = 0,
    max_backoff: float = 6 * 3600.0,
    hints: Hints = Hints(),
    jitter: float = 0.0,
    rand: float = 0.0,
) -> float:
    """Absolute unix time of the next poll."""
    delay = max(backoff_delay(failures, interval, max_backoff), hints.lower_bound)
    return now + delay + max(0.0, jitter) * min(max(rand, 0.0), 1.0)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP-date; None if absent
    or unreadable. A date in the past means "now" (0)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        return None
    return max(0.0, when.timestamp() - now)


def parse_max_age(cache_control: str | None) -> float | None:
    """``Cache-Control: max-age=N`` (or ``s-maxage``) as seconds; None when absent or when
    the response is not cacheable at all (no-store / no-cache)."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    found = _MAX_AGE.search(cache_control)
    return float(found.group(1)) if found else None


def parse_ttl(ttl: str | None) -> float | None:
    """RSS ``<ttl>`` (minutes) as seconds; None when absent or not a positive number."""
    if ttl is None:
        return None
    try:
        minutes = float(str(ttl).strip())
    except ValueError:
        return None
    if not math.isfinite(minutes) or minutes <= 0:
        return None
    return minutes * 60.0
