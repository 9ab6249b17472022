"""Official lists (``lists:``): update the due ones, swap a changed one in by a reload, then
back-screen the stored news against its new entries (`watcher.lists`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from watcher.config import settings
from watcher.config.schema import Config
from watcher.ingest.fetch import make_client
from watcher.lists.rescreen import rescreen_pending
from watcher.lists.update import list_fetch_limits, update_due
from watcher.logs import kv
from watcher.service.handlers.context import Context
from watcher.service.handlers.mail import Mail

log = logging.getLogger(__name__)


class Lists:
    def __init__(self, ctx: Context, mail: Mail, reload: Callable[[str], Awaitable[None]]) -> None:
        self._ctx = ctx
        self._mail = mail
        self._reload = reload

    async def update(self, reason: str) -> None:
        """Update the official lists that are due; a changed one is swapped in by a reload
        (the running version stays until the new one is compiled), then the stored news is
        back-screened against its new entries.

        Every instance runs it: list files live in each host's own state_dir, so each one
        brings its files to the version the shared state records (from the database, without a
        download), while whether a list is due comes from the shared state, a change is
        recorded once and back-screening is claimed by one instance (`watcher.lists.update`)."""
        config = self._ctx.current.get().loaded.config
        state_dir = settings.resolved_state_dir(config)
        client = make_client(list_fetch_limits(config))
        try:
            results = await update_due(config, self._ctx.store, state_dir, client, time.time())
        finally:
            await client.aclose()
        if any(r.swapped for r in results):  # this host's files changed
            await self._reload("list-update")
        found = await asyncio.get_running_loop().run_in_executor(
            self._ctx.workers, self._rescreen, config, state_dir
        )
        if found:
            await self._mail.alert_new_matches()
        log.info("%s", kv(event="lists", reason=reason, checked=len(results), rescreened=found))
        self._ctx.controls.status_changed()

    def _rescreen(self, config: Config, state_dir: Path) -> int:
        """Back-screening, in a worker thread on a connection of its own."""
        own = self._ctx.store.another_connection()
        try:
            return rescreen_pending(
                own, config, state_dir, time.time(), owner=self._ctx.instance.id
            )
        finally:
            own.close()
