"""What the daemon schedules, derived from the config alone (pure: no scheduler, no I/O).

Each `JobSpec` names one recurring job, its trigger and the scheduling options APScheduler
needs: the digest (cron), the outbox drain, state retention, the official lists and the file
watch. Feeds are not scheduled here: their clock is ``feeds.next_poll`` in the state, read by
the poll loop (`watcher.service.handlers.polling`). The controller reconciles its scheduler
with ``job_specs(config)`` at start and on every reload: a job whose spec is unchanged keeps
its timer, a changed one is rescheduled, a vanished one removed.

Options shared by every job, and why:
- ``max_instances=1``: a slow run of a job (a drain to a slow server) is never overlapped
  by the next one.
- ``coalesce=True``: after a stall, run once, not once per missed firing.
- ``misfire_grace_time``: explicit, and as long as the job's own period, so a busy or
  suspended loop runs a late job instead of silently dropping it (APScheduler's default is 1 s).

The digest's cron line and time zone are validated once, by the config model (with the
file:line:col of the bad value); a `Config` always holds usable ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config.schema import Config
from watcher.service.cron import cron_trigger
from watcher.service.instance import lease_seconds

DRAIN_INTERVAL = 30.0  # seconds between outbox retries (alerts also kick a drain at once)
PRUNE_INTERVAL = 86400.0  # state retention runs daily
DIGEST_GRACE = 6 * 3600  # a digest missed by a suspended host still goes out within 6 h
CATCH_UP_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8))

JobKind = Literal["digest", "drain", "prune", "watch", "lists"]
LISTS_TICK = 300.0  # seconds between checks of which official lists are due (lists:)
LISTS_FIRST_DELAY = 10.0  # after start: the first check (it also finishes interrupted work)


@dataclass(frozen=True)
class IntervalSchedule:
    """Every ``seconds``, each firing delayed by up to ``jitter`` seconds at random."""

    seconds: float
    jitter: float = 0.0

    def trigger(self) -> BaseTrigger:
        return IntervalTrigger(seconds=self.seconds, jitter=self.jitter or None)


@dataclass(frozen=True)
class CronSchedule:
    """A standard five-field cron line, read in time zone ``timezone`` (both validated by
    the config model)."""

    expression: str
    timezone: str

    def trigger(self) -> BaseTrigger:
        return cron_trigger(self.expression, self.timezone)


Schedule = IntervalSchedule | CronSchedule


@dataclass(frozen=True)
class JobSpec:
    """One recurring job. ``schedule`` is a comparable description of the trigger."""

    id: str
    kind: JobKind
    schedule: Schedule
    misfire_grace_time: int
    first_run_delay: float | None = None  # seconds after start; None: at the trigger's time

    def trigger(self) -> BaseTrigger:
        return self.schedule.trigger()

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
    if not isinstance(spec.schedule, CronSchedule):
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


def drain_interval(config: Config) -> float:
    """Seconds between outbox drains: 30, or the lease when shorter, so mail an instance
    claimed and never sent (killed) is taken over within about a lease of its claim
    running out."""
    return min(DRAIN_INTERVAL, lease_seconds(config))


def job_specs(config: Config, *, watch_interval: float | None = None) -> list[JobSpec]:
    """Every job the config asks for."""
    digest = CronSchedule(config.digest.schedule, config.digest.timezone)
    specs = [JobSpec("digest", "digest", digest, DIGEST_GRACE)]
    drain = drain_interval(config)
    specs.append(JobSpec("drain", "drain", IntervalSchedule(drain), max(1, int(drain))))
    specs.append(
        JobSpec(
            "prune",
            "prune",
            IntervalSchedule(PRUNE_INTERVAL),
            int(PRUNE_INTERVAL),
            first_run_delay=60.0,
        )
    )
    if config.lists:
        specs.append(_lists_spec(config))
    if watch_interval is not None:
        grace = max(1, int(watch_interval))
        specs.append(JobSpec("watch", "watch", IntervalSchedule(watch_interval), grace))
    return specs


def _lists_spec(config: Config) -> JobSpec:
    """One job for every official list: it updates those whose ``every`` has come round."""
    tick = min(LISTS_TICK, *(item.every for item in config.lists))
    return JobSpec(
        "lists",
        "lists",
        IntervalSchedule(tick),
        max(1, int(tick)),
        first_run_delay=min(LISTS_FIRST_DELAY, tick),
    )
