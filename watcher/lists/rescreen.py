"""Back-screening: when an update adds entries to a list, the articles stored over the last
``retention.rescreen`` are screened again against the new entries only.

The hits are stored as ordinary matches marked ``origin='rescreen'``: they go out once, in the
next digest's "Newly listed, already in the news" section (and as an alert when their severity
reaches ``digest.alert_severity``), because a match is unique per (article, list, entry).
A change is marked back-screened only after every batch is done; a crash part-way simply runs
it again, and the uniqueness keeps anything from being reported twice.

Articles are read in bounded batches (`Transaction.article_texts`), so memory stays flat
whatever the window holds; only the new entries are compiled, so 100 new entries cost a small
index, not the whole list's.
"""

from __future__ import annotations

import logging
from pathlib import Path

from watcher.config.ignore import load_ignore
from watcher.config.schema import Config
from watcher.config.settings import load_watchlist_file
from watcher.config.watchlist import Watchlist
from watcher.lists.diff import ListDiff
from watcher.lists.state import ListChangeRow
from watcher.lists.update import output_path
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, scan
from watcher.matching.index import compile_watchlists
from watcher.state.interface import StateStore

log = logging.getLogger(__name__)

BATCH = 500  # articles per read


def rescreen_pending(store: StateStore, config: Config, state_dir: Path, now: float) -> int:
    """Back-screen every recorded list change not back-screened yet; the new matches."""
    with store.transaction() as tx:
        changes = tx.list_changes_to_rescreen()
    found = 0
    for change in changes:
        compiled = _compile_added(change, config, state_dir)
        hits = 0
        if compiled is not None:
            hits = rescreen(store, compiled, now - config.retention.rescreen, now)
        with store.transaction() as tx:
            tx.mark_rescreened(change.id, now)
        log.info("%s", kv(event="rescreen", list=change.list_name, change=change.id, found=hits))
        found += hits
    return found


def rescreen(store: StateStore, compiled: CompiledWatchlists, since: float, now: float) -> int:
    """Screen the article texts kept since `since` against `compiled`; store new matches."""
    found, after = 0, ""
    while True:
        with store.snapshot() as tx:
            batch = tx.article_texts(since, after, BATCH)
        if not batch:
            return found
        hits = [(article_id, scan(text, compiled).matches) for article_id, text in batch]
        with store.transaction() as tx:
            for article_id, matches in hits:
                if matches:
                    found += tx.add_matches(
                        article_id, matches, now, notify=True, origin="rescreen"
                    )
        after = batch[-1][0]


def _compile_added(
    change: ListChangeRow, config: Config, state_dir: Path
) -> CompiledWatchlists | None:
    """The entries the change added, as they are in the list in force, compiled alone."""
    added = {brief.id for brief in ListDiff.from_json(change.diff_json).added}
    item = next((i for i in config.lists if i.name == change.list_name), None)
    if not added or item is None or not output_path(item, state_dir).is_file():
        return None
    in_force = load_watchlist_file(output_path(item, state_dir))
    entries = tuple(e for e in in_force.entries if e.id in added)
    if not entries:
        return None
    subset = Watchlist(
        name=in_force.name,
        description=in_force.description,
        source=in_force.source,
        entries=entries,
    )
    rules = tuple(rule for path in config.matching.ignore for rule in load_ignore(path))
    return compile_watchlists([subset], threshold=config.matching.threshold, ignore=rules)
