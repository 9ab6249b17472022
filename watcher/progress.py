"""Progress of long work: compiling a big watchlist, importing a list, a first run over many
feeds. Long work is never silent, wherever it runs.

- Code doing the work takes a `Report` (``report("compiling 437,112 entries")``) and calls it
  at each step; it neither knows nor cares who listens. `quiet` is the listener that ignores.
- Under systemd, `Heartbeat` keeps start-up (and a reload) alive while the work runs in a
  worker thread: it sends ``EXTEND_TIMEOUT_USEC=`` before the start timeout could expire,
  with the current step in ``STATUS=``, and once it has taken a while logs the steps (the
  journal shows progress).
- On a terminal, `terminal_report` prints the steps to stderr, and `tally` counts units of
  work in click's progress bar, shown only when stderr is a terminal (cron mail and journald
  stay clean; they get a log line now and then instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

from watcher.logs import kv
from watcher.service.sdnotify import Notifier

log = logging.getLogger(__name__)

Report = Callable[[str], None]  # one step of long work, in words: "compiling 12,000 entries"
Tick = Callable[[int, int], None]  # (done, total): one more unit of work done (a feed polled)

HEARTBEAT_PERIOD = 5.0  # seconds between EXTEND_TIMEOUT_USEC messages
HEARTBEAT_EXTEND = 30.0  # each message asks systemd for this much more time: several periods,
# so a worker hogging the GIL for a while does not get the service killed
LOG_EVERY = 30.0  # an unchanged step is logged again after this long (the journal sees life)


def quiet(_step: str) -> None:
    """A `Report` that ignores every step."""


def no_tick(_done: int, _total: int) -> None:
    """A `Tick` that counts nothing."""


class Heartbeat:
    """Tells systemd that start-up (or a reload) is alive and what it is doing, while blocking
    work runs in a worker thread. Use as ``async with Heartbeat(notifier, "starting") as hb:``
    and pass ``hb.report`` to the work; it may be called from any thread."""

    def __init__(
        self,
        notifier: Notifier,
        label: str,
        *,
        period: float = HEARTBEAT_PERIOD,
        extend: float = HEARTBEAT_EXTEND,
    ) -> None:
        self.notifier = notifier
        self.label = label
        self.period = period
        self.extend = max(extend, 2 * period)
        self._step = "reading the config"
        self._started = time.monotonic()
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._done = False

    def report(self, step: str) -> None:
        """The work's current step (thread-safe)."""
        self._step = step
        self._loop.call_soon_threadsafe(self._changed.set)

    def status(self) -> str:
        return f"{self.label}: {self._step} ({time.monotonic() - self._started:.0f} s)"

    async def _beat(self) -> None:
        logged_step, logged_at = "", 0.0
        while not self._done:
            step = self._step
            self.notifier.send(
                {"EXTEND_TIMEOUT_USEC": int(self.extend * 1_000_000), "STATUS": self.status()}
            )
            now = time.monotonic()
            # a quick start logs nothing; a slow one logs each new step (at most one a
            # period) and the same step again every LOG_EVERY seconds
            slow = now - self._started >= self.period
            due = now - logged_at >= (self.period if step != logged_step else LOG_EVERY)
            if slow and due:
                seconds = f"{now - self._started:.0f}"
                log.info("%s", kv(event=self.label, step=step, seconds=seconds))
                logged_step, logged_at = step, now
            self._changed.clear()
            # woken by a new step, the end, or the period; never cancelled: Python 3.11's
            # wait_for can swallow a cancellation that races with the event being set
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.period)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done = True
        self._changed.set()
        if self._task is not None:
            await self._task


def on_terminal() -> bool:
    """True when stderr is a terminal (a person is watching), not a pipe, file or journald."""
    return sys.stderr.isatty()


def terminal_report() -> Report:
    """Steps printed to stderr on a terminal; `quiet` elsewhere (logs carry the rest)."""
    if not on_terminal():
        return quiet

    def report(step: str) -> None:
        click.echo(f"... {step}", err=True)

    return report


@contextlib.contextmanager
def tally(label: str, *, log_every: float = LOG_EVERY) -> Iterator[Tick]:
    """Count units of work (``tick(done, total)`` after each): a progress bar on a terminal,
    else a log line every ``log_every`` seconds while it lasts (cron mail, the journal)."""
    shown: ProgressBar[int] | None = None  # created at the first tick: total known then
    logged = time.monotonic()

    def tick(done: int, total: int) -> None:
        nonlocal shown, logged
        if on_terminal() and total > 1:
            if shown is None:
                shown = click.progressbar(length=total, label=label, file=sys.stderr)
                shown.__enter__()
            shown.update(1)
            return
        now = time.monotonic()
        if now - logged >= log_every and done < total:
            logged = now
            log.info("%s", kv(event="progress", what=label, done=done, total=total))

    try:
        yield tick
    finally:
        if shown is not None:
            shown.__exit__(None, None, None)
