"""The official-list step of a one-shot run (`watcher run --once`, cron): update the lists
that are due, reload what the matcher screens when one changed, back-screen stored news.
The daemon does the same from its ``lists`` job (`watcher.service.daemon.Daemon.update_lists`)."""

from __future__ import annotations

import logging
from pathlib import Path

from watcher.config import settings
from watcher.config.snapshot import Loaded, load
from watcher.ingest.fetch import make_client
from watcher.lists.rescreen import rescreen_pending
from watcher.lists.update import list_fetch_limits, update_due
from watcher.logs import kv
from watcher.state.interface import StateStore

log = logging.getLogger(__name__)


async def update_lists_once(store: StateStore, loaded: Loaded, now: float) -> Loaded:
    """Update the due lists; the snapshot to screen with afterwards (reloaded if a list
    changed; a reload that fails keeps `loaded`, and says so)."""
    config = loaded.config
    if not config.lists:
        return loaded
    state_dir = settings.resolved_state_dir(config)
    client = make_client(list_fetch_limits(config))
    try:
        results = await update_due(config, store, state_dir, client, now)
    finally:
        await client.aclose()
    if any(r.swapped for r in results):
        loaded = load(loaded.config_path, loaded)
    return loaded


def rescreen_once(store: StateStore, loaded: Loaded, now: float) -> int:
    """Back-screen the stored news for every list change not back-screened yet."""
    if not loaded.config.lists:
        return 0
    state_dir: Path = settings.resolved_state_dir(loaded.config)
    found = rescreen_pending(store, loaded.config, state_dir, now)
    if found:
        log.info("%s", kv(event="rescreen", found=found))
    return found
