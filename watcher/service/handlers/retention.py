"""State retention: forget what no digest, history or back-screening needs any more, and
instances dead for a week (`watcher status` shows a dead one until then). Run by the leader
only: one instance prunes the shared state."""

from __future__ import annotations

import logging
import time

from watcher.ingest import poll
from watcher.logs import kv
from watcher.service.handlers.context import Context
from watcher.service.instance import DEAD_RETENTION

log = logging.getLogger(__name__)


class Retention:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def prune(self, reason: str) -> None:
        config, now = self._ctx.current.get().loaded.config, time.time()
        if not self._ctx.instance.lead_for("prune", reason, now):
            return
        removed = poll.prune(self._ctx.store, config, now)
        with self._ctx.store.transaction() as tx:
            instances = tx.prune_instances(now - DEAD_RETENTION)
        log.info("%s", kv(event="prune", removed=removed, instances=instances))
