"""Back-screening: when an update adds entries to a list, the articles stored over the last
``retention.rescreen`` are screened again against the new entries only.

The hits are stored as ordinary matches marked ``origin='rescreen'``: they go out once, in the
next digest's "Newly listed, already in the news" section (and as an alert when their severity
reaches ``digest.alert_severity``), because a match is unique per (article, list, entry).
A change is marked back-screened only after every batch is done; a crash part-way simply runs
it again, and the uniqueness keeps anything from being reported twice.

Instances sharing one state (issue 10) each run this: a change is back-screened by the one
that claims it (`Transaction.claim_rescreen`, check-and-set, for `CLAIM` seconds), and only by
an instance whose list file is the version in force (one still behind would miss the new
entries). Should a claim run out while its holder still works (a very long window, or a
holder presumed dead that was not), a second run is harmless: `Transaction.add_matches`
inserts with ``ON CONFLICT (article_id, list_name, entry_id) DO NOTHING`` and counts only
what it inserted, so no match, hence no alert or digest line, exists twice.

Articles are read in bounded batches (`Transaction.article_texts`), so memory stays flat
whatever the window holds; only the new entries are compiled, so 100 new entries cost a small
index, not the whole list's.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from watcher.config.ignore import load_ignore
from watcher.config.schema import Config
from watcher.config.settings import load_watchlist_file
from watcher.config.watchlist import Watchlist
from watcher.lists.diff import ListDiff
from watcher.lists.state import ListChangeRow
from watcher.lists.update import local_version, output_path
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, scan
from watcher.matching.index import compile_watchlists
from watcher.state.interface import StateStore

log = logging.getLogger(__name__)

BATCH = 500  # articles per read
CLAIM = 3600.0  # a claimed back-screening is left to its claimer for this long


def rescreen_pending(
    store: StateStore, config: Config, state_dir: Path, now: float, *, owner: str = ""
) -> int:
    """Back-screen every recorded list change not back-screened yet that this instance
    claims (`owner`: its name for the claim; a fresh one per call by default); the new
    matches."""
    owner = owner or uuid.uuid4().hex
    with store.snapshot() as tx:
        changes = tx.list_changes_to_rescreen()
    found = 0
    for change in changes:
        if not _in_force_here(store, change, config, state_dir):
            log.info("%s", kv(event="rescreen", list=change.list_name, skipped="list-behind"))
            continue
        with store.transaction() as tx:
            if not tx.claim_rescreen(change.id, owner, now, now + CLAIM):
                continue  # done, or another instance is at it
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


def _in_force_here(
    store: StateStore, change: ListChangeRow, config: Config, state_dir: Path
) -> bool:
    """This state_dir's file of the change's list is the version in force (or none is
    recorded: a state written before versions were), so its new entries are in it."""
    item = next((i for i in config.lists if i.name == change.list_name), None)
    if item is None:
        return True  # no longer configured: nothing to screen, only to mark done
    with store.snapshot() as tx:
        recorded = tx.list_file_version(item.name)
    return recorded is None or local_version(output_path(item, state_dir)) == recorded


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
