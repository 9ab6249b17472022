"""`watcher run`: the long-running service's life cycle (its one-shot form is
`watcher.service.once`; what it does is in `watcher.service.handlers`).

The controller, like aiosmtpd's, owns how the service lives and nothing of what it does:

- start-up: load and compile the config and watchlists (systemd's start timeout extended
  meanwhile), take the state directory's single-writer lock, open the state, sync the
  feeds table, register this process as an instance (`watcher.service.instance`), start
  the handlers, READY=1;
- the instance: a heartbeat every third of the lease (``database.lease``, else 30 s), from
  the event loop, renews every lease it holds (feeds it polls, mail it sends, the lead) and
  claims the lead when no one holds it; the new leader catches up a missed digest and
  drains the mail a dead leader had claimed. A heartbeat the state refuses (this instance
  was presumed dead: a paused VM, a stall longer than the lease) gives back what it held
  and registers afresh, logged once. A clean stop retires the instance (all its leases
  back at once, so the others take over without waiting for the lease). With one instance
  (SQLite: the lock makes it the only one, and a predecessor killed by SIGKILL is retired at
  start) it always leads and nothing differs from a daemon without instances;
- the jobs: an APScheduler `AsyncIOScheduler` runs the digest (cron in
  ``digest.timezone``), the outbox drain every 30 s (or every lease, when shorter),
  retention daily, the official lists and a file watch every 2 s (`watcher.service.jobs`;
  MemoryJobStore: nothing pickled, all durable state is in the store), reconciled on every
  reload. The digest and retention work on the leader only (elsewhere: a logged no-op);
  the lists job runs everywhere (each host keeps its own list files at the shared
  version). Feeds are not scheduled jobs: the poll loop reads their clock,
  ``feeds.next_poll``, from the state (`watcher.service.handlers.polling`);
- signals: SIGHUP reloads (as do file edits and `watcher reload`); an invalid edit is
  logged with file:line:col and the last good configuration stays in force. SIGUSR1
  queues and sends a digest now (on the leader; another instance logs who leads); SIGUSR2
  retries queued mail now, ignoring its backoff (never another live instance's claim).
  SIGTERM/SIGINT stop taking new work, give in-flight polls and sends `STOP_GRACE`
  seconds, then exit 0; a second one cancels them at once;
- systemd (`watcher.service.sdnotify`): EXTEND_TIMEOUT_USEC= with the step in STATUS=
  while the watchlists load (at start-up and on a reload, `watcher.progress`), READY=1,
  STATUS= with feed health and pending mail, RELOADING=1 + MONOTONIC_USEC then READY=1
  around a reload, STOPPING=1, WATCHDOG=1 from the event loop (a stalled loop is
  restarted);
- the exit code: 0, or 65/73 when the state database is damaged or cannot be written
  under us (a full disk, 74, may clear: the work is retried on its schedule).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from watcher.config import settings
from watcher.config.snapshot import Loaded, load
from watcher.ingest import poll
from watcher.lists.health import list_health
from watcher.logs import kv
from watcher.notify import notifier
from watcher.progress import Heartbeat
from watcher.service.handlers import Handlers
from watcher.service.handlers.context import Context, Current, Work
from watcher.service.instance import Instance, heartbeat_interval, lease_seconds, sole_writer
from watcher.service.jobs import JobKind, JobSpec
from watcher.service.memory import limit_malloc_arenas, release_memory
from watcher.service.sdnotify import Notifier, watchdog_interval
from watcher.state.errors import STATE_FILE_ERRORS, StateStoreFailed, StateUnavailable
from watcher.state.interface import StateStore
from watcher.state.lock import StateLock
from watcher.state.open import open_state

log = logging.getLogger(__name__)

# the state failing in a way that may clear by itself: logged, the work retried on schedule
TRANSIENT_STATE_ERRORS = (StateStoreFailed, StateUnavailable)

STOP_GRACE = 10.0  # seconds in-flight work may take to finish after SIGTERM
WORKERS = 2  # threads for parsing/matching/compiling: they keep the loop responsive; the
# GIL, not the thread count, bounds their throughput
# signals that ask for work, and the work's name in the log
ACTION_SIGNALS = {
    signal.SIGHUP: "reload",
    signal.SIGUSR1: "digest_now",
    signal.SIGUSR2: "retry_mail_now",
}


class Controller:
    """The running service. Construct, then ``await controller.run()`` (the exit code)."""

    def __init__(self, config_path: Path | None, notifier: Notifier | None = None) -> None:
        self.config_path = config_path
        self.notifier = notifier or Notifier()
        self._stop = asyncio.Event()
        self._stop_requests = 0
        self._exit_code = 0  # set when the state database fails under us (65 or 73)
        self._jobs: set[asyncio.Task[Any]] = set()  # scheduled jobs and polls
        self._background: set[asyncio.Task[Any]] = set()  # signal-driven work, the poll loop
        self._workers = ThreadPoolExecutor(WORKERS)
        # digests and alerts are queued here, off the loop, not behind parsing and matching
        self._notify_workers = ThreadPoolExecutor(1, thread_name_prefix="notify")
        self._scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
        self._specs: dict[str, JobSpec] = {}
        self._job_work: dict[JobKind, Work] = {}  # what each scheduled job runs (handlers')

    # --- life cycle -----------------------------------------------------------------------

    async def run(self) -> int:
        # Our own pool for parsing, matching and compiling, so shutdown can drop queued work
        # (asyncio.run would otherwise wait for every queued scan before exiting).
        limit_malloc_arenas()  # before the first worker thread exists
        asyncio.get_running_loop().set_default_executor(self._workers)
        self._install_stop_signals()  # first: a SIGTERM while compiling must not kill us
        # a huge watchlist compiles for minutes: keep systemd's start timeout from expiring
        async with Heartbeat(self.notifier, "starting") as heartbeat:
            loaded = await asyncio.to_thread(load, self.config_path, None, heartbeat.report)
        release_memory()  # what parsing and compiling left behind: pages back before polling
        if self._stop.is_set():
            return 0
        state_dir = settings.resolved_state_dir(loaded.config)
        lock = StateLock(state_dir)
        lock.acquire()
        try:
            store = open_state(loaded.config)
            try:
                await self._serve(store, loaded, state_dir)
            finally:
                store.close()
        finally:
            lock.release()
            self.notifier.close()
        log.info("%s", kv(event="stopped", pid=os.getpid(), exit_code=self._exit_code))
        return self._exit_code

    async def _serve(self, store: StateStore, loaded: Loaded, state_dir: Path) -> None:
        """Start the handlers and jobs, run until a stop, shut down (the lock is held)."""
        poll.sync_feeds(store, loaded.config, time.time())
        instance = Instance(store, lease_seconds(loaded.config))
        current = Current(loaded)
        controls = _Controls(self, store, current)
        ctx = Context(
            store, current, self._workers, self._notify_workers, controls, self._stop, instance
        )
        handlers = Handlers.build(ctx, self.config_path)
        self._job_work.update(handlers.jobs())
        self._scheduler.start()
        self.reconcile(loaded.specs)
        # a new leader (now or after the previous one died) catches up a missed digest
        instance.on_leader = lambda: handlers.mail.became_leader(datetime.now(UTC))
        instance.register(time.time(), sole=sole_writer(loaded.config))
        self.spawn(handlers.polling.run, "start")
        log.info(
            "%s",
            kv(
                event="started",
                pid=os.getpid(),
                feeds=len(loaded.config.feeds),
                entries=loaded.entries,
                state_dir=state_dir,
                instance=instance.id,
                leader=instance.leader,
                lease=f"{instance.lease:g}s",
            ),
        )
        self._install_action_signals(handlers)
        watchdog = self._start_watchdog()
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(instance, handlers))
        self.notifier.ready(status=controls.status_text())
        try:
            await self._stop.wait()
            if watchdog is not None:
                watchdog.cancel()
            await self._shutdown()  # the heartbeat renews in-flight claims meanwhile
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            await current.aclose()
        self._retire(instance)

    async def _heartbeat(self, instance: Instance, handlers: Handlers) -> None:
        """Renew this instance's leases every third of the lease, from the event loop (a
        stalled loop stops renewing, and the others take over its work). A refused
        heartbeat (presumed dead) has already given the work back and registered afresh."""
        while True:
            await asyncio.sleep(heartbeat_interval(instance.lease))
            try:
                if not instance.beat(time.time()):
                    handlers.polling.wake()  # registered afresh: look for work anew
            except Exception as exc:  # the state failed: said once per beat, tried again
                self.failed("heartbeat", exc)

    def _retire(self, instance: Instance) -> None:
        """A clean stop gives every lease back, so the others take over at once."""
        try:
            instance.retire()
        except Exception as exc:  # its leases run out by themselves
            log.warning("%s", kv(event="instance", result="not-retired", error=exc))

    def request_stop(self, signame: str = "SIGTERM") -> None:
        self._stop_requests += 1
        if self._stop_requests == 1:
            log.info("%s", kv(event="stopping", signal=signame, inflight=len(self._jobs)))
            self.notifier.stopping()
            self._stop.set()
        else:
            log.warning("%s", kv(event="stopping", signal=signame, action="cancel-inflight"))
            for task in list(self._jobs):
                task.cancel()

    async def _shutdown(self) -> None:
        # pause, not shutdown: APScheduler's shutdown cancels running coroutine jobs at once
        self._scheduler.pause()
        pending = [t for t in self._jobs | self._background if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=STOP_GRACE)
            for task in still:
                task.cancel()
            if still:
                log.warning("%s", kv(event="stopping", cancelled=len(still), grace=STOP_GRACE))
                await asyncio.wait(still, timeout=2.0)
        self._scheduler.shutdown(wait=False)
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._notify_workers.shutdown(wait=False, cancel_futures=True)

    def _install_stop_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.request_stop, "SIGINT")
        for sig, event in ACTION_SIGNALS.items():  # until the handlers exist
            loop.add_signal_handler(sig, self._not_running, event, sig.name)

    def _install_action_signals(self, handlers: Handlers) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.spawn, handlers.reloader.reload, "SIGHUP")
        loop.add_signal_handler(signal.SIGUSR1, self.spawn, handlers.mail.digest_now, "SIGUSR1")
        loop.add_signal_handler(signal.SIGUSR2, self.spawn, handlers.mail.retry_mail_now, "SIGUSR2")

    def _not_running(self, event: str, signame: str) -> None:
        log.info("%s", kv(event=event, reason=signame, result="ignored-not-running"))

    def _start_watchdog(self) -> asyncio.Task[None] | None:
        interval = watchdog_interval(os.environ, os.getpid())
        if interval is None or not self.notifier.enabled:
            return None

        async def ping() -> None:
            while True:
                self.notifier.watchdog()
                await asyncio.sleep(interval)

        return asyncio.get_running_loop().create_task(ping())

    # --- tasks ----------------------------------------------------------------------------

    def spawn(self, work: Work, reason: str) -> None:
        """Run ``work(reason)`` in the background (not once stopping); errors logged."""
        name = getattr(work, "__name__", "work")
        if self._stop.is_set():
            log.info("%s", kv(event=name, reason=reason, result="ignored-not-running"))
            return
        task = asyncio.get_running_loop().create_task(self._guarded(work, reason, name))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, work: Work, reason: str, name: str) -> None:
        try:
            await work(reason)
        except Exception as exc:
            self.failed(name, exc, reason=reason)

    def run_job(
        self, event: str, work: Coroutine[Any, Any, None], *, feed: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``work`` as a job: tracked for shutdown, errors logged, never raised."""
        return asyncio.get_running_loop().create_task(self._job(event, work, feed))

    async def _job(self, event: str, work: Coroutine[Any, Any, None], feed: str | None) -> None:
        if self._stop.is_set():
            work.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._jobs.add(task)
        try:
            await work
        except asyncio.CancelledError:
            # only at shutdown, after the grace period: the job ends here, quietly
            log.warning("%s", kv(event=event, feed=feed, result="cancelled"))
        except Exception as exc:
            self.failed(event, exc, feed=feed)
        finally:
            self._jobs.discard(task)

    def failed(
        self, event: str, exc: Exception, *, feed: str | None = None, reason: str | None = None
    ) -> None:
        """An error of some work: logged. The state database failing is one line naming
        the file; a full disk or an unreachable database server (restarting, failing over)
        may clear, so the work is retried on its schedule and the daemon rides it out (its
        leases run out meanwhile: the other instances carry on, and this one registers afresh
        when the server is back); a damaged or unwritable database will not, so the daemon
        stops with its exit code (the unit's RestartPreventExitStatus= keeps systemd from
        restarting it in a loop)."""
        if not isinstance(exc, STATE_FILE_ERRORS):
            log.error("%s", kv(event=event, feed=feed, reason=reason, result="error"), exc_info=exc)
            return
        log.error("%s", kv(event=event, result="state-error", error=exc))
        if not isinstance(exc, TRANSIENT_STATE_ERRORS) and not self._stop.is_set():
            self._exit_code = exc.exit_code
            self.request_stop("state-error")

    # --- scheduled jobs -------------------------------------------------------------------

    def reconcile(self, specs: tuple[JobSpec, ...]) -> None:
        """Make the scheduler's jobs match ``specs``, keeping the timers of unchanged jobs."""
        wanted = {spec.id: spec for spec in specs}
        for job_id in [j for j in self._specs if j not in wanted]:
            self._scheduler.remove_job(job_id)
            del self._specs[job_id]
        now = datetime.now(UTC)
        for spec in specs:
            old = self._specs.get(spec.id)
            if old == spec:
                continue
            extra: dict[str, Any] = {}
            first = spec.first_run_time(now) if old is None else None
            if first is not None:
                extra["next_run_time"] = first
            self._scheduler.add_job(
                self._scheduled,
                spec.trigger(),
                args=(spec.kind,),
                **spec.options(),
                **extra,
            )
            self._specs[spec.id] = spec

    async def _scheduled(self, kind: JobKind) -> None:
        """Every scheduled job enters here (awaited: APScheduler's max_instances holds)."""
        await self._job(kind, self._job_work[kind]("schedule"), None)


class _Controls:
    """The controller as the handlers see it (`watcher.service.handlers.context.Controls`),
    with what speaking to systemd about them needs: the state and the running config."""

    def __init__(self, controller: Controller, store: StateStore, current: Current) -> None:
        self._controller = controller
        self._store = store
        self._current = current
        self._last_status = ""

    def spawn(self, work: Work, reason: str) -> None:
        self._controller.spawn(work, reason)

    def run_job(
        self, event: str, work: Coroutine[Any, Any, None], *, feed: str | None = None
    ) -> asyncio.Task[None]:
        return self._controller.run_job(event, work, feed=feed)

    def reschedule(self, specs: tuple[JobSpec, ...]) -> None:
        self._controller.reconcile(specs)

    def heartbeat(self, label: str) -> Heartbeat:
        return Heartbeat(self._controller.notifier, label)

    def reloading(self) -> None:
        self._controller.notifier.reloading()

    def reloaded(self) -> None:
        self._controller.notifier.ready(status=self.status_text())

    def failed(self, event: str, exc: Exception) -> None:
        self._controller.failed(event, exc)

    def status_changed(self) -> None:
        text = self.status_text()
        if text != self._last_status:
            self._last_status = text
            self._controller.notifier.status(text)

    def status_text(self) -> str:
        config = self._current.get().loaded.config
        now = time.time()  # one moment for the feeds and the lists
        health = poll.feed_health(self._store, config, now)
        ok = sum(1 for h in health if h.state == "ok")
        failing = sum(1 for h in health if h.state != "ok")
        pending = notifier.pending_count(self._store)
        text = f"feeds: {ok} ok, {failing} failing; mail: {pending} pending"
        if config.lists:
            lists = list_health(config, self._store, now)
            bad = sum(1 for item in lists if item.state in ("failing", "stale"))
            text += f"; lists: {len(lists) - bad} ok, {bad} failing or stale"
        return text
