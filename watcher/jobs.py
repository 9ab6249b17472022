"""What the daemon schedules, derived from the config alone (pure: no scheduler, no I/O).

Each `JobSpec` names one recurring job, its trigger and the scheduling options APScheduler
needs. The daemon reconciles its scheduler with ``job_specs(config)`` at start and on every
reload: a job whose spec is unchanged keeps its timer (a reload must not re-poll 100 feeds
at once), a changed one is rescheduled, a vanished one removed.

Options shared by every job, and why:
- ``max_instances=1``: a slow poll of a feed is never overlapped by the next one.
- ``coalesce=True``: after a stall, run once, not once per missed firing.
- ``misfire_grace_time``: explicit, and as long as the job's own period, so a busy or
  suspended loop runs a late job instead of silently dropping it (APScheduler's default is 1 s).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config import Config, FeedConfig
from watcher.cron import cron_trigger
from watcher.errors import Problem, ValidationFailed

DRAIN_INTERVAL = 30.0  # seconds between outbox retries (alerts also kick a drain at once)
PRUNE_INTERVAL = 86400.0  # state retention runs daily
DIGEST_GRACE = 6 * 3600  # a digest missed by a suspended host still goes out within 6 h
CATCH_UP_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8))
FIRST_POLL_SPREAD = 5.0  # at most this many seconds between the first polls of the feeds

JobKind = Literal["poll", "digest", "drain", "prune", "watch"]


@dataclass(frozen=True)
class JobSpec:
    """One recurring job. ``schedule`` is a comparable description of the trigger."""

    id: str
    kind: JobKind
    schedule: tuple[Any, ...]
    misfire_grace_time: int
    first_run_delay: float | None = None  # seconds after start; None: at the trigger's time
    feed_url: str | None = None

    def trigger(self) -> BaseTrigger:
        if self.schedule[0] == "cron":
            _, expression, zone = self.schedule
            return cron_trigger(expression, zone)
        _, seconds, jitter = self.schedule
        return IntervalTrigger(seconds=seconds, jitter=jitter or None)

    def first_run_time(self, now: datetime) -> datetime | None:
        if self.first_run_delay is None:
            return None
        return now + timedelta(seconds=self.first_run_delay)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``scheduler.add_job`` (besides the function and trigger)."""
        return {
            "id": self.id,
            "name": self.id,
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": self.misfire_grace_time,
            "replace_existing": True,
        }


def previous_fire_time(spec: JobSpec, now: datetime) -> datetime | None:
    """The last time at or before ``now`` the spec's cron schedule fired (within 8 days).

    Looks back in growing windows so a per-minute schedule costs a few steps, a weekly one a
    few more; None for interval jobs or when nothing fired in the last 8 days.
    """
    if spec.schedule[0] != "cron":
        return None
    trigger = spec.trigger()
    for window in CATCH_UP_WINDOWS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - window)
        last: datetime | None = None
        while fire is not None and fire <= now:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if last is not None:
            return last
    return None


def digest_missed(
    due: datetime | None, last_digest: float | None, oldest_pending: datetime | None
) -> bool:
    """Whether a scheduled digest was skipped (the daemon was down when it was ``due``).

    Only when matches that it should have listed are still pending (found before it was due)
    and no digest was queued since.
    """
    if due is None or oldest_pending is None or oldest_pending >= due:
        return False
    return last_digest is None or last_digest < due.timestamp()


def poll_job_id(feed_url: str) -> str:
    return f"poll:{feed_url}"


def job_specs(
    config: Config, *, config_file: str = "config", watch_interval: float | None = None
) -> list[JobSpec]:
    """Every job the config asks for. Raises `ValidationFailed` for an unusable schedule."""
    specs = [_poll_spec(feed, config) for feed in config.feeds]
    specs.append(_digest_spec(config, config_file))
    specs.append(JobSpec("drain", "drain", ("interval", DRAIN_INTERVAL, 0.0), int(DRAIN_INTERVAL)))
    specs.append(
        JobSpec(
            "prune",
            "prune",
            ("interval", PRUNE_INTERVAL, 0.0),
            int(PRUNE_INTERVAL),
            first_run_delay=60.0,
        )
    )
    if watch_interval is not None:
        specs.append(
            JobSpec(
                "watch", "watch", ("interval", watch_interval, 0.0), max(1, int(watch_interval))
            )
        )
    return specs


def _poll_spec(feed: FeedConfig, config: Config) -> JobSpec:
    interval = feed.interval or config.polling.interval
    # Jitter spreads load on shared hosts; never more than a tenth of a short interval.
    jitter = min(config.polling.jitter, interval / 10)
    return JobSpec(
        id=poll_job_id(feed.url),
        kind="poll",
        schedule=("interval", interval, jitter),
        misfire_grace_time=max(1, int(interval)),
        first_run_delay=_first_poll_delay(feed.url, interval),
        feed_url=feed.url,
    )


def _first_poll_delay(feed_url: str, interval: float) -> float:
    """Stable spread of the start-up polls, so 100 feeds do not all fire in the same tick."""
    spread = min(FIRST_POLL_SPREAD, interval / 2)
    return spread * (zlib.crc32(feed_url.encode()) % 1000) / 1000


def _digest_spec(config: Config, config_file: str) -> JobSpec:
    digest = config.digest
    problems: list[Problem] = []
    try:
        ZoneInfo(digest.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(config_file, 0, 0, "digest.timezone", f"unknown time zone {digest.timezone!r}")
        )
    else:
        try:
            cron_trigger(digest.schedule, digest.timezone)
        except ValueError as exc:
            problems.append(
                Problem(
                    config_file,
                    0,
                    0,
                    "digest.schedule",
                    f"{digest.schedule!r} is not a cron expression "
                    f"(five fields: minute hour day month weekday): {exc}",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    return JobSpec("digest", "digest", ("cron", digest.schedule, digest.timezone), DIGEST_GRACE)
