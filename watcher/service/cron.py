"""Standard cron lines as APScheduler triggers, with cron's meaning of the weekday field.

APScheduler 3 reads the weekday field with 0 = Monday, so its ``from_crontab("0 7 * * 1-5")``
fires Tuesday to Saturday. Cron (and every user) means 0 or 7 = Sunday, 1-5 = Monday to
Friday: `cron_trigger` translates numeric weekdays to names first.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, zone: str) -> CronTrigger:
    """A trigger for a standard five-field cron line, in time zone ``zone`` (ValueError if
    the line is not one)."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_names(weekday),
        timezone=ZoneInfo(zone),
    )


def _weekday_names(field: str) -> str:
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _weekday_part(part)
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _weekday_part(part: str) -> set[int]:
    """Standard cron weekday numbers (0-6, Sunday = 0) named by one comma-separated part."""
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"bad step in day-of-week {part!r}")
    if span == "*":
        first, last = 0, 6
    else:
        low, _, high = span.partition("-")
        first = _weekday_number(low)
        last = _weekday_number(high) if high else (6 if step_text else first)
        if high in ("7", "sun") and first > 0:
            last = 7
    if first > last:
        raise ValueError(f"day-of-week range {part!r} runs backwards")
    return {d % 7 for d in range(first, last + 1, step)}


def _weekday_number(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7 if text != "7" else 0
    if text[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(text[:3])
    raise ValueError(f"{text!r} is not a day of the week (0-7 or sun-sat)")
