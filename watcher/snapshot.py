"""Everything the daemon reads from files, validated and compiled, as one immutable snapshot.

`load` reads the config, the watchlists and the ignore lists, derives the job specs and
compiles the matcher. It is blocking (run it in a worker thread) and all-or-nothing: on any
problem it raises, and the caller keeps its previous snapshot (a reload never half-applies).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from watcher import settings
from watcher.config import Config, FeedConfig
from watcher.errors import Problem, ValidationFailed, WatcherError
from watcher.filewatch import content_digest
from watcher.ignore import IgnoreRule, load_ignore
from watcher.jobs import JobSpec, job_specs
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, compile_watchlists

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
    matcher_key: tuple[object, ...]  # what `compiled` was built from (file digests, threshold)

    @property
    def feeds(self) -> dict[str, FeedConfig]:
        return {feed.url: feed for feed in self.config.feeds}


def load(config_path: Path | None, previous: Loaded | None = None) -> Loaded:
    """Read and validate the config and watchlists, compile the matcher (blocking: CPU + I/O).

    When the watchlists, ignore lists and threshold are byte-for-byte what ``previous`` was
    built from, its compiled matcher is reused: a reload for a config edit neither re-parses
    the OFAC list nor holds a second compiled copy in memory.
    Raises `ValidationFailed` (every problem with file:line:col) or another `WatcherError`.
    """
    path = settings.config_path(config_path).absolute()
    config = settings.load_config(path)
    specs = tuple(job_specs(config, config_file=str(path), watch_interval=WATCH_INTERVAL))
    list_files, missing = settings.watchlist_files(list(config.watchlists))
    key = _matcher_key(list_files, config)
    watched = tuple(dict.fromkeys([path, *config.watchlists, *list_files, *config.matching.ignore]))
    if previous is not None and not missing and previous.matcher_key == key:
        return Loaded(path, config, previous.compiled, specs, watched, previous.entries, key)
    watchlists = settings.load_watchlists(list(config.watchlists))
    ignore = _load_ignore(config.matching.ignore)
    compiled = compile_watchlists(watchlists, threshold=config.matching.threshold, ignore=ignore)
    entries = sum(len(w.entries) for w in watchlists)
    return Loaded(path, config, compiled, specs, watched, entries, key)


def _matcher_key(list_files: list[Path], config: Config) -> tuple[object, ...]:
    files = [*list_files, *config.matching.ignore]
    return (config.matching.threshold, *((str(f), content_digest(f)) for f in files))


def _load_ignore(paths: tuple[Path, ...]) -> tuple[IgnoreRule, ...]:
    rules: list[IgnoreRule] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            rules.extend(load_ignore(path))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return tuple(rules)


def log_rejected(exc: WatcherError, what: str) -> None:
    """Log a rejected config: one line per problem, each starting with file:line:col."""
    problems = exc.problems if isinstance(exc, ValidationFailed) else None
    if problems:
        for problem in problems:
            log.error("%s", problem)
    else:
        log.error("%s", exc)
    log.error("%s", kv(event=what, result="rejected", problems=len(problems or [exc])))
