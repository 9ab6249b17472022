"""Next-poll arithmetic: backoff, server hints, jitter (pure, table-driven)."""

from __future__ import annotations

import pytest

from watcher.ingest.schedule_math import (
    MAX_HINT,
    Hints,
    backoff_delay,
    next_poll_time,
    parse_max_age,
    parse_retry_after,
    parse_ttl,
)

H = 3600.0


@pytest.mark.parametrize(
    ("failures", "interval", "cap", "expected"),
    [
        (0, 900, 6 * H, 900),  # healthy: the interval
        (1, 900, 6 * H, 900),  # first failure: retry after one interval
        (2, 900, 6 * H, 1800),
        (3, 900, 6 * H, 3600),
        (5, 900, 6 * H, 4 * 3600),
        (6, 900, 6 * H, 6 * H),  # capped at max_backoff
        (50, 900, 6 * H, 6 * H),
        (10_000, 900, 6 * H, 6 * H),  # no overflow on absurd streaks
        (3, 12 * H, 6 * H, 12 * H),  # backoff never polls more often than the interval
    ],
)
def test_backoff_delay(failures: int, interval: float, cap: float, expected: float) -> None:
    assert backoff_delay(failures, interval, cap) == expected


@pytest.mark.parametrize(
    ("failures", "hints", "jitter", "rand", "expected_delay"),
    [
        (0, Hints(), 0, 0.0, 900),
        (0, Hints(), 60, 0.5, 930),  # jitter: rand * jitter added
        (0, Hints(), 60, 0.999, 900 + 59.94),
        (0, Hints(max_age=3600), 0, 0.0, 3600),  # max-age longer than interval: lower bound
        (0, Hints(max_age=60), 0, 0.0, 900),  # shorter: the interval wins
        (0, Hints(ttl=7200), 0, 0.0, 7200),  # RSS ttl
        (0, Hints(max_age=600, ttl=1200), 0, 0.0, 1200),  # the largest hint binds
        (1, Hints(retry_after=5000), 0, 0.0, 5000),  # Retry-After beats a short backoff
        (6, Hints(retry_after=60), 0, 0.0, 6 * H),  # and never shortens a long one
        (0, Hints(retry_after=10**9), 0, 0.0, MAX_HINT),  # hostile hint capped
        (0, Hints(max_age=120), 30, 1.0, 930),  # jitter on top of a hint-free delay
        (0, Hints(), -5, 0.5, 900),  # negative jitter ignored
    ],
)
def test_next_poll_time(
    failures: int, hints: Hints, jitter: float, rand: float, expected_delay: float
) -> None:
    now = 1_700_000_000.0
    got = next_poll_time(
        now,
        interval=900,
        failures=failures,
        max_backoff=6 * H,
        hints=hints,
        jitter=jitter,
        rand=rand,
    )
    assert got - now == pytest.approx(expected_delay)


NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 14 Nov 2023 22:15:20 GMT", 120.0),  # HTTP-date two minutes ahead
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("max-age=300", 300.0),
        ("public, max-age=600, must-revalidate", 600.0),
        ('public, s-maxage="60"', 60.0),
        ("max-stale=60", None),
        ("no-store, max-age=600", None),  # not cacheable: no lower bound
        ("no-cache", None),
        ("private", None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("60", 3600.0),
        (" 15 ", 900.0),
        ("0", None),
        ("-1", None),
        ("abc", None),
        ("nan", None),
    ],
)
def test_parse_ttl(value: str | None, expected: float | None) -> None:
    assert parse_ttl(value) == expected
