"""State retention: forget what no digest, history or back-screening needs any more."""

from __future__ import annotations

import logging
import time

from watcher.ingest import poll
from watcher.logs import kv
from watcher.service.handlers.context import Context

log = logging.getLogger(__name__)


class Retention:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def prune(self, reason: str) -> None:
        config = self._ctx.current.get().loaded.config
        removed = poll.prune(self._ctx.store, config, time.time())
        log.info("%s", kv(event="prune", removed=removed))
