"""Reload: re-read the config and watchlists (SIGHUP, `watcher reload`, an edited file, a
changed official list) and swap them in whole; on any error the running version stays, and
the log names every problem with its file:line:col.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from watcher.config import settings
from watcher.config.snapshot import Loaded, load, log_rejected
from watcher.errors import WatcherError
from watcher.ingest import poll
from watcher.logs import kv
from watcher.service.filewatch import FileWatcher
from watcher.service.handlers.context import Context, Wake
from watcher.service.memory import release_memory

log = logging.getLogger(__name__)


class Reloader:
    def __init__(self, ctx: Context, config_path: Path | None, polls_changed: Wake) -> None:
        self._ctx = ctx
        self._config_path = config_path
        self._polls_changed = polls_changed
        self._lock = asyncio.Lock()
        self._watcher = FileWatcher(ctx.current.get().loaded.watched_files)

    async def reload(self, reason: str) -> None:
        """Re-read config and watchlists; on any error keep the running version."""
        async with self._lock:
            controls = self._ctx.controls
            old = self._ctx.current.get().loaded
            controls.reloading()
            log.info("%s", kv(event="reload", reason=reason))
            self._watcher.rebase()  # what we are about to read is no news to the watcher
            try:
                async with controls.heartbeat("reloading") as heartbeat:
                    fresh = await asyncio.to_thread(load, self._config_path, old, heartbeat.report)
                self._apply(old, fresh)
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
                del old
                release_memory()  # the old index (if rebuilt) is garbage now: pages back
            finally:
                self._watcher.watch(self._ctx.current.get().loaded.watched_files)
                controls.reloaded()

    def _apply(self, old: Loaded, fresh: Loaded) -> None:
        old_dir = settings.resolved_state_dir(old.config)
        new_dir = settings.resolved_state_dir(fresh.config)
        if new_dir != old_dir:
            raise WatcherError(
                f"state_dir changed from {old_dir} to {new_dir}; that needs a restart "
                "(systemctl restart sanctions-watch), not a reload"
            )
        poll.sync_feeds(self._ctx.store, fresh.config, time.time())  # new feeds are due now
        self._ctx.current.swap(fresh)
        self._ctx.controls.reschedule(fresh.specs)
        self._polls_changed()

    async def check_files(self, reason: str) -> None:
        """An edited config or watchlist file reloads (checked every few seconds)."""
        changed = self._watcher.changed()
        if changed:
            log.info("%s", kv(event="files-changed", files=",".join(str(p) for p in changed)))
            self._ctx.controls.spawn(self.reload, "file-change")
