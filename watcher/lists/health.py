"""How each configured list is doing, for `watcher status` and the digest's health section.

- ``ok``: the last check succeeded within ``stale_after``;
- ``failing``: the last check failed (the list in force is still used), since when and why;
- ``stale``: no successful check for longer than ``stale_after`` (3 x ``every``, at least
  3 days, unless set): the list screened against may be out of date;
- ``pending``: never checked yet (the daemon has just started, or the list was just added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from watcher.config.schema import Config
from watcher.lists.state import ListState
from watcher.lists.update import stale_after
from watcher.notify.notice import FeedProblem
from watcher.state.interface import StateStore

ListHealthState = Literal["ok", "failing", "stale", "pending"]


@dataclass(frozen=True)
class ListHealth:
    name: str
    source: str
    url: str  # the first configured URL
    state: ListHealthState
    since: float | None  # failing since / last success (stale)
    last_error: str | None
    entries: int | None
    last_success: float | None
    last_change: float | None
    data_date: str


def list_health(config: Config, store: StateStore, now: float) -> list[ListHealth]:
    with store.snapshot() as tx:
        states = {item.name: tx.list_state(item.name) for item in config.lists}
    return [
        _health(item.name, item.source, item.urls[0], stale_after(item), states[item.name], now)
        for item in config.lists
    ]


def _health(  # noqa: PLR0917
    name: str, source: str, url: str, stale: float, state: ListState, now: float
) -> ListHealth:
    status: ListHealthState = "ok"
    since = state.last_success
    if state.failures:
        status, since = "failing", state.failing_since
    if state.last_success is None:
        status = "failing" if state.failures else "pending"
    elif not state.failures and now - state.last_success > stale:
        status = "stale"
    return ListHealth(
        name=name,
        source=source,
        url=url,
        state=status,
        since=since,
        last_error=state.last_error,
        entries=state.entries,
        last_success=state.last_success,
        last_change=state.last_change,
        data_date=state.data_date,
    )


def list_problems(health: Sequence[ListHealth], now: float) -> list[FeedProblem]:
    """The lists worth a line in the digest's health section (failing or stale)."""
    problems = []
    for item in health:
        if item.state == "failing":
            detail = f"update failed, the list in force is kept: {item.last_error or ''}"
            problems.append(
                FeedProblem(f"list {item.name}", item.url, "failing", detail, _at(item.since))
            )
        elif item.state == "stale":
            last = now if item.last_success is None else item.last_success
            days = (now - last) / 86400
            detail = f"not updated for {days:.0f} days: screening may miss new designations"
            problems.append(
                FeedProblem(f"list {item.name}", item.url, "stale", detail, _at(item.since))
            )
    return problems


def lists_in_health(config: Config, store: StateStore, now: float) -> list[FeedProblem]:
    """The failing and stale lists, for the digest's health section beside the feeds."""
    return list_problems(list_health(config, store, now), now) if config.lists else []


def _at(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)
