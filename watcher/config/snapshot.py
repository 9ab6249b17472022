"""Everything the daemon reads from files, validated and compiled, as one immutable snapshot.

`load` reads the config, the watchlists and the ignore lists, derives the job specs and
compiles the matcher. It is blocking (run it in a worker thread) and all-or-nothing: on any
problem it raises, and the caller keeps its previous snapshot (a reload never half-applies).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from watcher.config import settings
from watcher.config.indexcache import compile_lists, input_key
from watcher.config.schema import Config, FeedConfig
from watcher.errors import ValidationFailed, WatcherError
from watcher.lists.update import screened_watchlists
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, prepare
from watcher.progress import Report, quiet
from watcher.service.jobs import JobSpec, job_specs

log = logging.getLogger(__name__)

WATCH_INTERVAL = 2.0  # seconds between checks of the config and watchlist files


@dataclass(frozen=True)
class Loaded:
    """One consistent version of everything read from files: swapped in as a whole."""

    config_path: Path
    config: Config
    compiled: CompiledWatchlists
    specs: tuple[JobSpec, ...]
    watched_files: tuple[Path, ...]
    entries: int
    matcher_key: str  # what `compiled` was built from (`watcher.config.indexcache.input_key`)

    @property
    def feeds(self) -> dict[str, FeedConfig]:
        return {feed.url: feed for feed in self.config.feeds}


def load(
    config_path: Path | None, previous: Loaded | None = None, report: Report = quiet
) -> Loaded:
    """Read and validate the config and watchlists, compile the matcher (blocking: CPU + I/O).

    When the watchlists, ignore lists and threshold are byte-for-byte what ``previous`` was
    built from, its compiled matcher is reused: a reload for a config edit neither re-parses
    the OFAC list nor holds a second compiled copy in memory. Otherwise the compiled index
    comes from the cache in the state directory when current (`watcher.config.indexcache`).
    Raises `ValidationFailed` (every problem with file:line:col) or another `WatcherError`.
    ``report`` hears each step (`watcher.progress`).
    """
    path = settings.config_path(config_path).absolute()
    report(f"reading the config {path}")
    config = settings.load_config(path)
    specs = tuple(job_specs(config, watch_interval=WATCH_INTERVAL))
    # a reload caches in the running state dir (a changed state_dir is refused, not created)
    state_dir = settings.resolved_state_dir(previous.config if previous is not None else config)
    watchlists = screened_watchlists(config, state_dir)  # lists: outputs are screened too
    list_files, missing = settings.watchlist_files(list(watchlists))
    watched = tuple(dict.fromkeys([path, *watchlists, *list_files, *config.matching.ignore]))
    ignore, threshold = config.matching.ignore, config.matching.threshold
    if previous is not None and not missing:
        key = input_key(list_files, ignore, threshold)
        if key is not None and previous.matcher_key == key:
            return Loaded(path, config, previous.compiled, specs, watched, previous.entries, key)
    lists = compile_lists(watchlists, ignore, threshold, state_dir, report)
    report("preparing the matcher's word lists")
    prepare(lists.compiled)  # word lists and typo index: built here, before any match runs
    log.info(
        "%s",
        kv(
            event="watchlists",
            entries=lists.entries,
            names=lists.compiled.name_count,
            index="cached" if lists.from_cache else "compiled",
        ),
    )
    return Loaded(path, config, lists.compiled, specs, watched, lists.entries, lists.key)


def log_rejected(exc: WatcherError, what: str) -> None:
    """Log a rejected config: one line per problem, each starting with file:line:col."""
    problems = exc.problems if isinstance(exc, ValidationFailed) else None
    if problems:
        for problem in problems:
            log.error("%s", kv(event=what, result="problem", problem=problem))
    else:
        log.error("%s", kv(event=what, result="problem", problem=exc))
    log.error("%s", kv(event=what, result="rejected", problems=len(problems or [exc])))
