"""Job specs derived from the config: ids, intervals, options, cron validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config.schema import Config
from watcher.config.settings import load_config
from watcher.errors import ValidationFailed
from watcher.service.cron import cron_trigger
from watcher.service.jobs import (
    DIGEST_GRACE,
    CronSchedule,
    IntervalSchedule,
    digest_missed,
    job_specs,
    previous_fire_time,
)


def _config(**overrides: object) -> Config:
    data: dict[str, object] = {
        "feeds": [
            {"url": "https://news.example/rss"},
            {"url": "https://wire.example/atom", "interval": "2m"},
        ],
        "polling": {"interval": "15m", "jitter": "1m"},
        "digest": {"schedule": "0 7 * * 1-5", "timezone": "Europe/Berlin"},
    }
    data.update(overrides)
    return Config.model_validate(data)


def test_feeds_are_not_scheduled_jobs() -> None:
    """Their clock is feeds.next_poll in the state (the poll loop), not the scheduler."""
    kinds = sorted(s.kind for s in job_specs(_config(), watch_interval=2.0))
    assert kinds == ["digest", "drain", "prune", "watch"]
    fewer = _config(feeds=[{"url": "https://news.example/rss"}])
    assert job_specs(fewer) == job_specs(_config())


def test_every_job_is_single_instance_coalesced_with_an_explicit_grace() -> None:
    for spec in job_specs(_config(), watch_interval=2.0):
        options = spec.options()
        assert options["max_instances"] == 1
        assert options["coalesce"] is True
        assert options["misfire_grace_time"] >= 1
        assert options["id"] == spec.id


def test_retention_first_runs_a_minute_after_start_and_the_rest_on_their_trigger() -> None:
    now = datetime(2025, 10, 23, 7, 0, tzinfo=UTC)
    first = {s.kind: s.first_run_time(now) for s in job_specs(_config(), watch_interval=2.0)}
    assert first == {
        "digest": None,
        "drain": None,
        "prune": now + timedelta(seconds=60),
        "watch": None,
    }


def test_digest_runs_on_the_cron_schedule_in_its_time_zone() -> None:
    (digest,) = [s for s in job_specs(_config()) if s.kind == "digest"]
    assert digest.misfire_grace_time == DIGEST_GRACE
    trigger = digest.trigger()
    assert isinstance(trigger, CronTrigger)
    berlin = ZoneInfo("Europe/Berlin")
    # Thursday 2025-10-23 08:00 Berlin: the next weekday 07:00 is Friday's.
    fire = trigger.get_next_fire_time(None, datetime(2025, 10, 23, 8, 0, tzinfo=berlin))
    assert fire == datetime(2025, 10, 24, 7, 0, tzinfo=berlin)
    assert fire.utcoffset() == timedelta(hours=2)  # CEST, not UTC


def test_unchanged_config_gives_equal_specs_and_a_change_differs() -> None:
    assert job_specs(_config()) == job_specs(_config())
    faster = _config(polling={"interval": "5m", "jitter": "1m"})
    assert job_specs(faster) == job_specs(_config())  # polling is not the scheduler's
    later = _config(digest={"schedule": "0 9 * * 1-5", "timezone": "Europe/Berlin"})
    before = {s.id: s for s in job_specs(_config())}
    after = {s.id: s for s in job_specs(later)}
    assert before["digest"] != after["digest"]
    assert before["drain"] == after["drain"] and before["prune"] == after["prune"]


def test_schedules_are_typed_values() -> None:
    specs = {s.id: s for s in job_specs(_config(), watch_interval=2.0)}
    assert specs["digest"].schedule == CronSchedule("0 7 * * 1-5", "Europe/Berlin")
    assert specs["drain"].schedule == IntervalSchedule(30.0)
    assert specs["watch"].schedule == IntervalSchedule(2.0)
    assert isinstance(specs["watch"].trigger(), IntervalTrigger)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("digest:\n  schedule: '61 7 * * *'\n", "config.yaml:2:13: digest.schedule: "),
        ("digest:\n  schedule: every morning\n", "config.yaml:2:13: digest.schedule: "),
        ("digest:\n  timezone: Mars/Olympus\n", "config.yaml:2:13: digest.timezone: "),
    ],
)
def test_unusable_digest_schedule_is_reported_at_its_position(
    tmp_path: Path, text: str, where: str
) -> None:
    """Validated once, by the config model, where the value stands (never at 0:0)."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as raised:
        load_config(path)
    (problem,) = raised.value.problems
    assert str(problem).startswith(f"{tmp_path}/{where}")


def test_previous_fire_time_of_the_digest() -> None:
    (digest,) = [s for s in job_specs(_config()) if s.kind == "digest"]  # 07:00 Mon-Fri, Berlin
    berlin = ZoneInfo("Europe/Berlin")
    # Monday 09:00: the last digest was due today at 07:00
    assert previous_fire_time(digest, datetime(2025, 10, 27, 9, 0, tzinfo=berlin)) == datetime(
        2025, 10, 27, 7, 0, tzinfo=berlin
    )
    # Monday 06:00: it was due on Friday
    assert previous_fire_time(digest, datetime(2025, 10, 27, 6, 0, tzinfo=berlin)) == datetime(
        2025, 10, 24, 7, 0, tzinfo=berlin
    )


def test_previous_fire_time_of_a_per_minute_schedule_and_of_interval_jobs() -> None:
    config = _config(digest={"schedule": "* * * * *", "timezone": "UTC"})
    specs = {s.kind: s for s in job_specs(config)}
    now = datetime(2025, 10, 23, 7, 0, 30, tzinfo=UTC)
    assert previous_fire_time(specs["digest"], now) == datetime(2025, 10, 23, 7, 0, tzinfo=UTC)
    assert previous_fire_time(specs["drain"], now) is None


@pytest.mark.parametrize(
    ("weekdays", "expected"),
    [
        ("1-5", ["mon", "tue", "wed", "thu", "fri"]),  # APScheduler alone: tue-sat
        ("0", ["sun"]),
        ("7", ["sun"]),
        ("5-7", ["fri", "sat", "sun"]),
        ("*/2", ["sun", "tue", "thu", "sat"]),
        ("1,3", ["mon", "wed"]),
        ("mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
        ("sat,sun", ["sat", "sun"]),
    ],
)
def test_weekdays_mean_what_cron_means(weekdays: str, expected: list[str]) -> None:
    trigger = cron_trigger(f"0 7 * * {weekdays}", "UTC")
    monday = datetime(2025, 10, 20, 0, 0, tzinfo=UTC)
    fired = set()
    when = trigger.get_next_fire_time(None, monday)
    while when is not None and when < monday + timedelta(days=7):
        fired.add(when.strftime("%a").lower())
        when = trigger.get_next_fire_time(when, when + timedelta(seconds=1))
    assert fired == set(expected)


@pytest.mark.parametrize("weekdays", ["8", "fri-mon", "funday", "*/0"])
def test_bad_weekdays_are_errors(weekdays: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(f"0 7 * * {weekdays}", "UTC")


def test_digest_missed_only_when_pending_matches_were_due() -> None:
    due = datetime(2025, 10, 23, 7, 0, tzinfo=UTC)
    before, after = due - timedelta(hours=3), due + timedelta(hours=1)
    assert digest_missed(due, last_digest=None, oldest_pending=before)
    assert digest_missed(due, (due - timedelta(days=1)).timestamp(), before)
    assert not digest_missed(due, (due + timedelta(minutes=1)).timestamp(), before)  # sent
    assert not digest_missed(due, None, after)  # found after it was due: tomorrow's digest
    assert not digest_missed(due, None, None)  # nothing pending
    assert not digest_missed(None, None, before)  # nothing due in the last 8 days
