"""`watcher run`: the long-running service (its one-shot form is `watcher.service.once`).

The daemon is one asyncio event loop running an APScheduler `AsyncIOScheduler`:

- one poll job per feed (interval + jitter); after each poll, alerts are queued and the
  outbox drain is kicked so a severe hit is mailed within seconds;
- the digest on ``digest.schedule`` (cron in ``digest.timezone``). Digests and alerts are
  read, rendered and committed in the ``notify`` worker thread on a connection of its own
  (`notifier.queue_digest_async`): the loop only awaits, so a 4,000-match digest stalls
  neither polls nor pings;
- the outbox drain every 30 s (retries after SMTP failures);
- state retention daily; a file watcher every 2 s (config and watchlist edits reload).

Jobs come from `watcher.service.jobs.job_specs` and are reconciled on every reload (MemoryJobStore:
nothing pickled; all durable state is in the SQLite store).

Signals: SIGHUP reloads (as do file edits and `watcher reload`); an invalid edit is logged with
file:line:col and the last good configuration stays in force. SIGUSR1 queues and sends a
digest now (operators, tests); SIGUSR2 retries queued mail now, ignoring its backoff (after
fixing the mail server). SIGTERM/SIGINT stop taking new work, give in-flight polls and
sends `STOP_GRACE` seconds, then exit 0; a second one cancels at once.

systemd (`watcher.service.sdnotify`): while the watchlists load and compile (at start-up and on a
reload), EXTEND_TIMEOUT_USEC= every few seconds with the step in STATUS= (`watcher.progress`),
so a huge list is not killed by the start timeout; READY=1 once the state is open and the
watchlists compiled;
STATUS= with feed health and pending mail; RELOADING=1 + MONOTONIC_USEC then READY=1 around a
reload; STOPPING=1; WATCHDOG=1 from the event loop, so a stalled loop gets restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from watcher.config import settings
from watcher.config.schema import Config
from watcher.config.snapshot import Loaded, load, log_rejected
from watcher.errors import WatcherError
from watcher.ingest import poll
from watcher.ingest.fetch import make_client
from watcher.lists.health import list_health
from watcher.lists.rescreen import rescreen_pending
from watcher.lists.update import list_fetch_limits, update_due
from watcher.logs import kv
from watcher.notify import notifier
from watcher.progress import Heartbeat
from watcher.service.filewatch import FileWatcher
from watcher.service.jobs import JobSpec, digest_missed, poll_job_id, previous_fire_time
from watcher.service.sdnotify import Notifier, watchdog_interval
from watcher.state.errors import STATE_FILE_ERRORS, StateError, StateStoreFailed
from watcher.state.lock import StateLock
from watcher.state.sqlite import Store

log = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds in-flight work may take to finish after SIGTERM
WORKERS = 2  # threads for parsing/matching/compiling: they keep the loop responsive; the
# GIL, not the thread count, bounds their throughput


@dataclass
class Daemon:
    """The running service. Construct, then ``await daemon.run()``."""

    config_path: Path | None
    notifier: Notifier = field(default_factory=Notifier)
    loaded: Loaded | None = None
    store: Store | None = None
    scheduler: AsyncIOScheduler | None = None
    _lock: StateLock | None = None
    _specs: dict[str, JobSpec] = field(default_factory=dict)
    _inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _stop_requests: int = 0
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _drain_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _drain_wanted: bool = False
    _watcher: FileWatcher | None = None
    _executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(WORKERS))
    # digests and alerts are queued here, off the loop, not behind parsing and matching
    _notify_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="notify")
    )
    _alerts_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _alerts_wanted: bool = False
    _limits: poll.PollLimits | None = None
    _client: httpx.AsyncClient | None = None
    _old_clients: list[httpx.AsyncClient] = field(default_factory=list)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _last_status: str = ""
    _exit_code: int = 0  # set when the state database fails under us (65 or 73)

    # --- life cycle -----------------------------------------------------------------------

    async def run(self) -> int:
        # Our own pool for parsing, matching and compiling, so shutdown can drop queued work
        # (asyncio.run would otherwise wait for every queued scan before exiting).
        limit_malloc_arenas()  # before the first worker thread exists
        asyncio.get_running_loop().set_default_executor(self._executor)
        self._install_signal_handlers()  # first: a SIGTERM while compiling must not kill us
        # a huge watchlist compiles for minutes: keep systemd's start timeout from expiring
        async with Heartbeat(self.notifier, "starting") as heartbeat:
            self.loaded = await asyncio.to_thread(load, self.config_path, None, heartbeat.report)
        release_memory()  # what parsing and compiling left behind: pages back before polling
        if self._stop.is_set():
            return 0
        state_dir = settings.resolved_state_dir(self.loaded.config)
        self._lock = StateLock(state_dir)
        self._lock.acquire()
        try:
            self._start(state_dir)
            watchdog = self._start_watchdog()
            self.notifier.ready(status=self._status_text())
            await self._stop.wait()
            if watchdog is not None:
                watchdog.cancel()
            await self._shutdown()
        finally:
            if self.store is not None:
                self.store.close()
            self._lock.release()
            self.notifier.close()
        log.info("%s", kv(event="stopped", pid=os.getpid(), exit_code=self._exit_code))
        return self._exit_code

    def _start(self, state_dir: Path) -> None:
        """Open the state, sync the feeds table, schedule the jobs (the state lock is held)."""
        assert self.loaded is not None
        config = self.loaded.config
        self.store = Store(state_dir)
        poll.sync_feeds(self.store, config, time.time())
        self._client = poll.poll_client(config)
        self._limits = poll.PollLimits(config.polling)
        self._watcher = FileWatcher(self.loaded.watched_files)
        self.scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
        self.scheduler.start()
        self._reconcile(self.loaded.specs)
        self._catch_up_digest()
        log.info(
            "%s",
            kv(
                event="started",
                pid=os.getpid(),
                feeds=len(config.feeds),
                entries=self.loaded.entries,
                state_dir=state_dir,
            ),
        )

    def request_stop(self, signame: str = "SIGTERM") -> None:
        self._stop_requests += 1
        if self._stop_requests == 1:
            log.info("%s", kv(event="stopping", signal=signame, inflight=len(self._inflight)))
            self.notifier.stopping()
            self._stop.set()
        else:
            log.warning("%s", kv(event="stopping", signal=signame, action="cancel-inflight"))
            for task in list(self._inflight):
                task.cancel()

    async def _shutdown(self) -> None:
        assert self.scheduler is not None
        # pause, not shutdown: APScheduler's shutdown cancels running coroutine jobs at once
        self.scheduler.pause()
        pending = [t for t in self._inflight | self._background if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=STOP_GRACE)
            for task in still:
                task.cancel()
            if still:
                log.warning("%s", kv(event="stopping", cancelled=len(still), grace=STOP_GRACE))
                await asyncio.wait(still, timeout=2.0)
        self.scheduler.shutdown(wait=False)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._notify_executor.shutdown(wait=False, cancel_futures=True)
        for client in [*self._old_clients, *([self._client] if self._client else [])]:
            await client.aclose()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.request_stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self._spawn, self.reload, "SIGHUP")
        loop.add_signal_handler(signal.SIGUSR1, self._spawn, self.digest_now, "SIGUSR1")
        loop.add_signal_handler(signal.SIGUSR2, self._spawn, self.retry_mail_now, "SIGUSR2")

    def _spawn(self, func: Callable[[str], Coroutine[Any, Any, None]], reason: str) -> None:
        if self._stop.is_set() or self.scheduler is None:
            log.info("%s", kv(event=func.__name__, reason=reason, result="ignored-not-running"))
            return
        task = asyncio.get_running_loop().create_task(self._guarded(func, reason))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, func: Callable[[str], Coroutine[Any, Any, None]], reason: str) -> None:
        try:
            await func(reason)
        except STATE_FILE_ERRORS as exc:
            self._state_failed(exc, func.__name__)
        except Exception:
            log.exception("%s", kv(event=func.__name__, reason=reason, result="error"))

    def _state_failed(self, exc: StateError, event: str) -> None:
        """The state database failed: one line naming the file. A full disk may clear (the
        job retries on its schedule); a damaged or unwritable database will not, so the
        daemon stops with its exit code (the unit's RestartPreventExitStatus= keeps systemd
        from restarting it in a loop)."""
        log.error("%s", kv(event=event, result="state-error", error=exc))
        if not isinstance(exc, StateStoreFailed) and not self._stop.is_set():
            self._exit_code = exc.exit_code
            self.request_stop("state-error")

    def _start_watchdog(self) -> asyncio.Task[None] | None:
        interval = watchdog_interval(os.environ, os.getpid())
        if interval is None or not self.notifier.enabled:
            return None

        async def ping() -> None:
            while True:
                self.notifier.watchdog()
                await asyncio.sleep(interval)

        return asyncio.get_running_loop().create_task(ping())

    # --- jobs -----------------------------------------------------------------------------

    def _reconcile(self, specs: tuple[JobSpec, ...]) -> None:
        """Make the scheduler's jobs match ``specs``, keeping the timers of unchanged jobs."""
        assert self.scheduler is not None
        wanted = {spec.id: spec for spec in specs}
        for job_id in [j for j in self._specs if j not in wanted]:
            self.scheduler.remove_job(job_id)
            del self._specs[job_id]
        now = datetime.now(UTC)
        for spec in specs:
            old = self._specs.get(spec.id)
            if old == spec:
                continue
            extra: dict[str, Any] = {}
            first = self._first_run_time(spec, now) if old is None else None
            if first is not None:
                extra["next_run_time"] = first
            self.scheduler.add_job(
                self._run_job,
                spec.trigger(),
                args=(spec.kind, spec.feed_url),
                **spec.options(),
                **extra,
            )
            self._specs[spec.id] = spec

    def _catch_up_digest(self) -> None:
        """A digest missed while the daemon was down (host rebooting at 07:00) goes out now,
        not a day late."""
        assert self.loaded is not None and self.store is not None
        (spec,) = [s for s in self.loaded.specs if s.kind == "digest"]
        due = previous_fire_time(spec, datetime.now(UTC))
        with self.store.transaction() as tx:
            last = tx.last_queued_at("digest")
            oldest = tx.oldest_pending_found_at()
        if digest_missed(due, last, oldest):
            assert due is not None
            log.info("%s", kv(event="digest", reason="catch-up", due=due.isoformat()))
            self._spawn(self.digest_now, "catch-up")

    def _first_run_time(self, spec: JobSpec, now: datetime) -> datetime | None:
        """A new job's first run: a poll resumes the persisted schedule (a restart does not
        re-poll feeds fetched a minute ago; a feed in backoff stays in backoff)."""
        first = spec.first_run_time(now)
        if spec.kind != "poll" or spec.feed_url is None or first is None:
            return first
        assert self.store is not None
        with self.store.transaction() as tx:
            row = tx.feed(spec.feed_url)
        if row is None:
            return first
        return max(first, datetime.fromtimestamp(row.next_poll, UTC))

    async def _run_job(self, kind: str, feed_url: str | None) -> None:
        """Every scheduled job enters here: tracked for shutdown, errors logged, never raised."""
        if self._stop.is_set():
            return
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            if kind == "poll" and feed_url is not None:
                await self.poll_feed(feed_url)
            elif kind == "digest":
                await self.digest_now("schedule")
            elif kind == "drain":
                await self.drain()
            elif kind == "prune":
                self.prune()
            elif kind == "watch":
                self.check_files()
            elif kind == "lists":
                await self.update_lists("schedule")
        except asyncio.CancelledError:
            # only at shutdown, after the grace period: the job ends here, quietly
            log.warning("%s", kv(event=kind, feed=feed_url, result="cancelled"))
        except STATE_FILE_ERRORS as exc:
            self._state_failed(exc, kind)
        except Exception:
            log.exception("%s", kv(event=kind, feed=feed_url, result="error"))
        finally:
            self._inflight.discard(task)

    async def poll_feed(self, feed_url: str) -> None:
        assert self.loaded is not None and self.store is not None
        loaded = self.loaded  # one consistent version for the whole poll, even across a reload
        feed = loaded.feeds.get(feed_url)
        if feed is None:
            return
        assert self._client is not None and self._limits is not None
        limits, client = self._limits, self._client
        # A poll slower than its interval must not collide with the trigger's next firing;
        # `_follow_schedule` sets the real next run when it ends.
        self._postpone(feed_url, loaded.config.polling.timeout * 2 + 60)
        async with limits.slot(feed_url):
            if self._stop.is_set():  # queued behind the limits when SIGTERM came: not started
                return
            result = await poll.poll_feed(
                self.store, feed, loaded.config, loaded.compiled, client, time.time()
            )
        self._follow_schedule(result)
        queued = await self.queue_alerts()
        if queued:
            self._spawn(self._drain_task, "alert")
        self._update_status()

    def _postpone(self, feed_url: str, seconds: float) -> None:
        assert self.scheduler is not None
        job = self.scheduler.get_job(poll_job_id(feed_url))
        if job is not None and job.next_run_time is not None:
            later = datetime.fromtimestamp(time.time() + seconds, UTC)
            job.modify(next_run_time=max(job.next_run_time, later))

    def _follow_schedule(self, result: poll.FeedPollResult) -> None:
        """Next poll when ingestion says (backoff after failures, Retry-After, ttl, jitter);
        the job's interval trigger is only the fallback cadence."""
        assert self.scheduler is not None
        job = self.scheduler.get_job(poll_job_id(result.url))
        if job is None:
            return
        if result.next_poll is None:  # disabled (410 Gone): nothing more to poll
            job.pause()
            return
        job.modify(next_run_time=datetime.fromtimestamp(result.next_poll, UTC))

    async def _drain_task(self, reason: str) -> None:
        await self.drain()

    async def digest_now(self, reason: str) -> None:
        assert self.loaded is not None and self.store is not None
        config, now = self.loaded.config, time.time()
        health = notifier.digest_health(self.store, config, now)
        digest_id = await notifier.queue_digest_async(
            self.store, config, now, feed_health=health, executor=self._notify_executor
        )
        log.info("%s", kv(event="digest", reason=reason, queued=digest_id or "nothing-pending"))
        await self.drain()

    async def queue_alerts(self) -> int:
        """Queue alerts for new severe matches (off the loop). One pass at a time:
        concurrent calls coalesce into one more pass, whose alerts the running call counts
        (two passes rendering the same matches would only conflict at commit)."""
        self._alerts_wanted = True
        if self._alerts_lock.locked():
            return 0
        queued = 0
        async with self._alerts_lock:
            while self._alerts_wanted:
                self._alerts_wanted = False
                assert self.loaded is not None and self.store is not None
                queued += await notifier.queue_alerts_async(
                    self.store, self.loaded.config, time.time(), self._notify_executor
                )
        return queued

    async def drain(self) -> None:
        """Send what the outbox holds; concurrent calls coalesce into one more pass."""
        self._drain_wanted = True
        if self._drain_lock.locked():
            return
        async with self._drain_lock:
            while self._drain_wanted:
                self._drain_wanted = False
                assert self.loaded is not None and self.store is not None
                result = await notifier.drain_outbox(self.store, self.loaded.config, time.time())
                if result.sent or result.failed:
                    log.info(
                        "%s",
                        kv(
                            event="drain",
                            sent=result.sent,
                            failed=result.failed,
                            pending=result.pending,
                        ),
                    )
        self._update_status()

    async def retry_mail_now(self, reason: str) -> None:
        """Send every queued message now, ignoring its backoff (the mail server is back)."""
        assert self.store is not None
        async with self._drain_lock:  # no drain in flight: lifting leases is safe
            with self.store.transaction() as tx:
                count = tx.retry_unsent_now(time.time())
        log.info("%s", kv(event="retry-mail", reason=reason, messages=count))
        await self.drain()

    async def update_lists(self, reason: str) -> None:
        """Update the official lists that are due; a changed one is swapped in by a reload
        (the running version stays until the new one is compiled), then the stored news is
        back-screened against its new entries (`watcher.lists`)."""
        assert self.loaded is not None and self.store is not None
        config = self.loaded.config
        state_dir = settings.resolved_state_dir(config)
        client = make_client(list_fetch_limits(config))
        try:
            results = await update_due(config, self.store, state_dir, client, time.time())
        finally:
            await client.aclose()
        if any(r.status == "updated" for r in results):
            await self.reload("list-update")
        found = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._rescreen, config, state_dir
        )
        if found and await self.queue_alerts():
            self._spawn(self._drain_task, "alert")
        log.info("%s", kv(event="lists", reason=reason, checked=len(results), rescreened=found))
        self._update_status()

    def _rescreen(self, config: Config, state_dir: Path) -> int:
        """Back-screening, in a worker thread on a connection of its own."""
        assert self.store is not None
        own = self.store.another_connection()
        try:
            return rescreen_pending(own, config, state_dir, time.time())
        finally:
            own.close()

    def prune(self) -> None:
        assert self.loaded is not None and self.store is not None
        removed = poll.prune(self.store, self.loaded.config, time.time())
        log.info("%s", kv(event="prune", removed=removed))

    def check_files(self) -> None:
        assert self._watcher is not None
        changed = self._watcher.changed()
        if changed:
            log.info("%s", kv(event="files-changed", files=",".join(str(p) for p in changed)))
            self._spawn(self.reload, "file-change")

    # --- reload ---------------------------------------------------------------------------

    async def reload(self, reason: str) -> None:
        """Re-read config and watchlists; on any error keep the running version."""
        async with self._reload_lock:
            assert self.loaded is not None and self.store is not None
            old = self.loaded
            self.notifier.reloading()
            log.info("%s", kv(event="reload", reason=reason))
            if self._watcher is not None:
                self._watcher.rebase()  # what we are about to read is no news to the watcher
            try:
                async with Heartbeat(self.notifier, "reloading") as heartbeat:
                    fresh = await asyncio.to_thread(
                        load, self.config_path, self.loaded, heartbeat.report
                    )
                self._apply(fresh)
            except WatcherError as exc:
                log_rejected(exc, "reload")
                log.error("%s", kv(event="reload", kept="previous-configuration"))
            else:
                log.info(
                    "%s",
                    kv(
                        event="reload",
                        result="ok",
                        feeds=len(fresh.config.feeds),
                        entries=fresh.entries,
                        matcher="rebuilt" if fresh.compiled is not old.compiled else "unchanged",
                    ),
                )
                if fresh.compiled is not old.compiled:
                    del old
                    release_memory()  # the old index is garbage now; give its pages back
            finally:
                if self._watcher is not None:
                    self._watcher.watch(self.loaded.watched_files)
                self.notifier.ready(status=self._status_text())

    def _apply(self, fresh: Loaded) -> None:
        assert self.loaded is not None and self.store is not None
        old_dir = settings.resolved_state_dir(self.loaded.config)
        new_dir = settings.resolved_state_dir(fresh.config)
        if new_dir != old_dir:
            raise WatcherError(
                f"state_dir changed from {old_dir} to {new_dir}; that needs a restart "
                "(systemctl restart sanctions-watch), not a reload"
            )
        poll.sync_feeds(self.store, fresh.config, time.time())
        if fresh.config.polling != self.loaded.config.polling and self._client is not None:
            # in-flight polls finish on the old client; it is closed at shutdown
            self._old_clients.append(self._client)
            self._client = poll.poll_client(fresh.config)
            self._limits = poll.PollLimits(fresh.config.polling)
        self.loaded = fresh
        self._reconcile(fresh.specs)

    # --- status ---------------------------------------------------------------------------

    def _status_text(self) -> str:
        assert self.loaded is not None and self.store is not None
        now = time.time()  # one moment for the feeds and the lists
        health = poll.feed_health(self.store, self.loaded.config, now)
        ok = sum(1 for h in health if h.state == "ok")
        failing = sum(1 for h in health if h.state != "ok")
        pending = notifier.pending_count(self.store)
        text = f"feeds: {ok} ok, {failing} failing; mail: {pending} pending"
        if self.loaded.config.lists:
            lists = list_health(self.loaded.config, self.store, now)
            bad = sum(1 for item in lists if item.state in ("failing", "stale"))
            text += f"; lists: {len(lists) - bad} ok, {bad} failing or stale"
        return text

    def _update_status(self) -> None:
        text = self._status_text()
        if text != self._last_status:
            self._last_status = text
            self.notifier.status(text)


M_ARENA_MAX = -8  # glibc mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """Cap glibc's per-thread malloc arenas (default: 8 per core). Each worker thread would
    otherwise grow its own heap of matcher scratch data; measured on the full OFAC list
    (bench/bench_daemon.py) two arenas save ~15-20 MB of resident memory at no speed cost.
    The same as MALLOC_ARENA_MAX=2 in the environment, which still wins if set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def release_memory() -> None:
    """Collect garbage and return freed heap pages to the OS (glibc's malloc_trim), so the
    resident size after a reload is one compiled index, not two."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the pages stay mapped
        ctypes.CDLL(None).malloc_trim(0)
