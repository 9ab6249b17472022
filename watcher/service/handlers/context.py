"""What every handler is given at construction: the state, the running version of the
config behind one accessor, the worker pools, the few things it may ask of the
controller (`Controls`), and this process as an instance (its id owns the claims it takes;
whether it leads). Nothing here is optional: a handler exists only once the daemon has
loaded its config and opened its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from watcher.config.snapshot import Loaded
from watcher.ingest.poll import PollLimits, poll_client
from watcher.progress import Heartbeat
from watcher.service.instance import Instance
from watcher.service.jobs import JobSpec
from watcher.state.interface import StateStore


@dataclass(frozen=True)
class Polling:
    """The HTTP client feeds are polled with and the one `PollLimits`, both from `polling:`
    (the same builders `poll_due` uses for ``run --once`` and ``poll --once``)."""

    client: httpx.AsyncClient
    limits: PollLimits

    @classmethod
    def for_config(cls, loaded: Loaded) -> Polling:
        return cls(poll_client(loaded.config), PollLimits(loaded.config.polling))


@dataclass(frozen=True)
class Running:
    """One version of everything read from files, with the polling tools built from it:
    what a reload swaps in one step. A job reads it once and keeps it to its end."""

    loaded: Loaded
    polling: Polling


class Current:
    """The one accessor of the running version; only a reload swaps it."""

    def __init__(self, loaded: Loaded) -> None:
        self._running = Running(loaded, Polling.for_config(loaded))
        self._retired: list[httpx.AsyncClient] = []

    def get(self) -> Running:
        return self._running

    def swap(self, fresh: Loaded) -> None:
        """Make ``fresh`` the running version. New polling limits get a new client and
        limiter; polls in flight finish on the old ones (the old client is closed at
        shutdown), unchanged limits keep theirs (and the slots held in them)."""
        polling = self._running.polling
        if fresh.config.polling != self._running.loaded.config.polling:
            self._retired.append(polling.client)
            polling = Polling.for_config(fresh)
        self._running = Running(fresh, polling)

    async def aclose(self) -> None:
        for client in [*self._retired, self._running.polling.client]:
            await client.aclose()


# a handler's entry point, given the reason it runs
Work = Callable[[str], Coroutine[Any, Any, None]]
Wake = Callable[[], None]  # "look again now" (the poll loop, after a reload changed the feeds)


class Controls(Protocol):
    """What a handler may ask of the controller (`watcher.service.controller`), which owns
    the tasks, the scheduler and the systemd conversation."""

    def spawn(self, work: Work, reason: str) -> None:
        """Run ``work(reason)`` in the background (not when stopping); errors are logged."""

    def run_job(
        self, event: str, work: Coroutine[Any, Any, None], *, feed: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``work`` now as a job: given the stop grace period, cancelled by a second
        stop signal, its errors logged as ``event`` (a failing state database stops us)."""

    def reschedule(self, specs: tuple[JobSpec, ...]) -> None:
        """Make the scheduled jobs match ``specs`` (after a reload)."""

    def heartbeat(self, label: str) -> Heartbeat:
        """Keeps systemd patient during long blocking work (``async with``)."""

    def reloading(self) -> None:
        """A reload begins (systemd: RELOADING=1)."""

    def reloaded(self) -> None:
        """A reload ended, applied or not (systemd: READY=1 and the status)."""

    def status_changed(self) -> None:
        """Feeds, mail or lists may look different now (systemd: STATUS=)."""

    def failed(self, event: str, exc: Exception) -> None:
        """An error a handler met outside a job: logged as ``event``; a damaged or
        unwritable state database stops the daemon with its exit code."""


@dataclass(frozen=True)
class Context:
    """Given to every handler at construction."""

    store: StateStore
    current: Current
    workers: Executor  # parsing, matching, back-screening
    notify_workers: Executor  # digests and alerts: not queued behind parsing and matching
    controls: Controls
    stopping: asyncio.Event  # set by the controller at the first stop signal; only read here
    instance: Instance  # this process among the instances sharing the state: its id, leader
