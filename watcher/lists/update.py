"""One update of one configured official list: fetch, validate, import, diff, swap.

    result = await update_list(item, store, state_dir, client, limits, now)

- Fetching uses the feeds' fetcher (`watcher.ingest.fetch`: size cap, deadline, SSRF guard) with a
  conditional GET per URL; when every URL answers 304 the update costs nothing more.
- The downloaded files are kept under ``<state_dir>/lists/.sources/<name>/``: a list made of
  several files (OFAC's sdn.csv + alt.csv + add.csv) is re-imported whole when one changes.
- Validation: the importers refuse files cut short (`check_complete`, XML that does not
  parse); `watcher.lists.validate` refuses HTML pages and a sudden loss of most entries.
  Anything refused leaves the list in force untouched and is recorded as a failure.
- The new list file is written atomically (`write_atomically`): the daemon's file watcher or
  an explicit reload picks it up; a reader never sees half a list.

Crash safety (SIGKILL at any instant): the diff is recorded first, once per (list, version of
the written file), then the file is written, then the validators and sources are saved. A
crash before the file is written repeats the whole update next time (the validators were not
saved, so the files are downloaded again) and records nothing twice; a crash after it finds
the file already current and records an empty change, i.e. nothing. No change is lost and none
is reported twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from watcher.config.schema import Config, ListConfig
from watcher.config.settings import load_watchlist_file
from watcher.config.watchlist import Entry, Severity
from watcher.config.yamlfile import gc_paused
from watcher.errors import WatcherError
from watcher.importers.sources import IMPORTERS
from watcher.importers.writer import render, same_body, write_atomically
from watcher.ingest.fetch import FetchLimits, FetchResult, fetch
from watcher.lists.diff import ListDiff, diff_entries
from watcher.lists.state import ListState, Validators
from watcher.lists.validate import ListRejectedError, check_download, check_loss
from watcher.logs import kv
from watcher.state.interface import StateStore

log = logging.getLogger(__name__)

LISTS_DIR = "lists"
SOURCES_DIR = ".sources"
MIN_STALE_AFTER = 3 * 86400.0
RETRY_AFTER_FAILURE = 3600.0  # a failed update is retried after this (at most `every`)

UpdateStatus = Literal["updated", "unchanged", "not-modified", "failed"]


@dataclass(frozen=True)
class ListUpdateResult:
    """What one update of one list did."""

    name: str
    status: UpdateStatus
    entries: int = 0  # in the list in force afterwards
    diff: ListDiff | None = None  # when updated
    error: str = ""  # when failed
    rescreen: bool = False  # entries were added: back-screening is due
    notes: tuple[str, ...] = ()  # what the importer skipped or merged, counted and named


@dataclass(frozen=True)
class _Imported:
    text: str
    version: str
    entries: int
    data_date: str
    diff: ListDiff
    first: bool  # no list was in force before
    notes: tuple[str, ...]


# --- paths ------------------------------------------------------------------------------------


def output_path(item: ListConfig, state_dir: Path) -> Path:
    """Where the list's watchlist file is written: ``path:``, else ``<state_dir>/lists/``."""
    return item.path if item.path is not None else state_dir / LISTS_DIR / f"{item.name}.yaml"


def sources_dir(item: ListConfig, state_dir: Path) -> Path:
    return state_dir / LISTS_DIR / SOURCES_DIR / item.name


def list_outputs(config: Config, state_dir: Path) -> tuple[Path, ...]:
    """The list files `lists:` has written so far (a list not downloaded yet has none)."""
    return tuple(path for item in config.lists if (path := output_path(item, state_dir)).is_file())


def screened_watchlists(config: Config, state_dir: Path) -> tuple[Path, ...]:
    """What the matcher screens: ``watchlists:`` plus every list written by ``lists:``."""
    named = {p.resolve() for p in config.watchlists}
    extra = [p for p in list_outputs(config, state_dir) if p.resolve() not in named]
    return (*config.watchlists, *extra)


def stale_after(item: ListConfig) -> float:
    return item.stale_after or max(3 * item.every, MIN_STALE_AFTER)


def is_due(item: ListConfig, state: ListState, now: float) -> bool:
    """Due when never checked, `every` after the last check, or sooner after a failure."""
    if state.last_check is None:
        return True
    wait = item.every if not state.failures else min(item.every, RETRY_AFTER_FAILURE)
    return now >= state.last_check + wait


# --- the update -------------------------------------------------------------------------------


async def update_list(  # noqa: PLR0917 (the service edge hands in its parts)
    item: ListConfig,
    store: StateStore,
    state_dir: Path,
    client: httpx.AsyncClient,
    limits: FetchLimits,
    now: float,
) -> ListUpdateResult:
    """Check one list and replace the list in force when it changed. Never raises for a
    list problem: a failure is recorded (and returned) and the list in force stays."""
    with store.transaction() as tx:
        state = tx.list_state(item.name)
    output = output_path(item, state_dir)
    cache = sources_dir(item, state_dir)
    try:
        fetched = await _download(item, state, cache, output, client, limits)
        if fetched is None:
            return _record_unchanged(store, state, item, now, "not-modified", state.validators)
        staged = await asyncio.to_thread(_stage, item, cache, fetched)
        imported = await asyncio.to_thread(_import, item, staged, output)
        _apply(store, item, output, imported, now)
        _keep_sources(staged, cache)
    except (WatcherError, OSError) as exc:  # ListRejectedError and SourceFileError included
        return _record_failure(store, state, item, now, str(exc))
    return _record_success(store, state, item, now, _validators(state, fetched), imported)


def _apply(
    store: StateStore, item: ListConfig, output: Path, imported: _Imported, now: float
) -> None:
    """Swap the new version in, unless the list in force already says the same."""
    for note in imported.notes:
        log.info("%s", kv(event="list-import-note", list=item.name, note=note))
    if not output.is_file() or not same_body(output.read_text(encoding="utf-8"), imported.text):
        _swap(store, item, output, imported, now)


def _record_success(  # noqa: PLR0917
    store: StateStore,
    state: ListState,
    item: ListConfig,
    now: float,
    validators: dict[str, Validators],
    imported: _Imported,
) -> ListUpdateResult:
    diff = imported.diff
    if diff.empty:
        unchanged = _record_unchanged(store, state, item, now, "unchanged", validators, imported)
        return dataclasses.replace(unchanged, notes=imported.notes)
    checked = _succeeded(state, now, validators, imported.entries, imported.data_date)
    with store.transaction() as tx:
        tx.save_list_state(dataclasses.replace(checked, last_change=now))
    log.info(
        "%s",
        kv(
            event="list-update",
            list=item.name,
            result="updated",
            entries=imported.entries,
            added=len(diff.added),
            removed=len(diff.removed),
            changed=len(diff.changed),
        ),
    )
    return ListUpdateResult(
        item.name,
        "updated",
        imported.entries,
        diff,
        rescreen=bool(diff.added) and not imported.first,
        notes=imported.notes,
    )


async def _download(  # noqa: PLR0917
    item: ListConfig,
    state: ListState,
    cache: Path,
    output: Path,
    client: httpx.AsyncClient,
    limits: FetchLimits,
) -> dict[str, FetchResult] | None:
    """Every URL's response (sequentially: one official server, politely); None when every
    URL answered 304 and the list in force was built from the cached files."""
    results: dict[str, FetchResult] = {}
    for url in item.urls:
        cached = cache / _file_name(item, url)
        known = state.validators.get(url) if cached.is_file() and output.is_file() else None
        result = await fetch(
            client,
            url,
            limits,
            etag=known.etag if known else None,
            last_modified=known.last_modified if known else None,
        )
        if result.error:
            raise ListRejectedError(f"list {item.name}: {url}: {result.error}")
        if result.status == 304 and known is not None:
            results[url] = result
            continue
        if not 200 <= result.status < 300:
            raise ListRejectedError(f"list {item.name}: {url}: HTTP {result.status}")
        check_download(item.name, url, result.body, result.headers)
        results[url] = result
    if all(r.status == 304 for r in results.values()):
        return None
    return results


def _file_name(item: ListConfig, url: str) -> str:
    """The URL's own file name (the importers go by suffix and name: .zip, cons_prim.csv)."""
    name = Path(unquote(urlsplit(url).path)).name
    index = item.urls.index(url)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return f"{index:02d}-{safe or 'list'}"


def _stage(item: ListConfig, cache: Path, fetched: dict[str, FetchResult]) -> list[Path]:
    """The files of this version in a fresh staging directory beside the cache."""
    staging = cache.with_name(cache.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    paths = []
    for url in item.urls:
        target = staging / _file_name(item, url)
        result = fetched[url]
        if result.status == 304:
            shutil.copyfile(cache / target.name, target)
        else:
            target.write_bytes(result.body)
        paths.append(target)
    return paths


def _import(item: ListConfig, paths: Sequence[Path], output: Path) -> _Imported:
    """Import the staged files and diff them against the list in force (blocking: CPU)."""
    severity = Severity(item.severity)
    with gc_paused():  # ~100k containers built: as in `watcher import`, ~1.5x faster
        result = IMPORTERS[item.source](paths, item.name, severity)
        text = render(result, item.name, severity)
    old: tuple[Entry, ...] = ()
    first = not output.is_file()
    if not first:
        old = load_watchlist_file(output).entries
    check_loss(item.name, len(old), len(result.entries), item.max_loss)
    return _Imported(
        text=text,
        version=_version(text),
        entries=len(result.entries),
        data_date=max((f.data_date for f in result.files), default=""),
        diff=diff_entries(item.name, old, result.entries),
        first=first,
        notes=result.notes,
    )


def _version(text: str) -> str:
    """What identifies a version of the list: its body's hash. The header comment names the
    downloaded files' mtimes, which differ on every download of the same release."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return hashlib.sha256("".join(lines[start:]).encode()).hexdigest()


def _swap(
    store: StateStore, item: ListConfig, output: Path, imported: _Imported, now: float
) -> None:
    """Record the change (once per version), then replace the list file in one step."""
    diff = imported.diff
    if diff.empty:  # details only (notes, dates): nothing to report
        write_atomically(output, imported.text)
        return
    with store.transaction() as tx:
        tx.add_list_change(
            item.name,
            imported.version,
            (len(diff.added), len(diff.removed), len(diff.changed)),
            diff.to_json(),
            now,
            rescreen=bool(diff.added) and not imported.first,
        )
    write_atomically(output, imported.text)


def _keep_sources(staged: Sequence[Path], cache: Path) -> None:
    """The staged files become the cache the next conditional GET relies on."""
    if not staged:
        return
    staging = staged[0].parent
    old = cache.with_name(cache.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if cache.exists():
        cache.rename(old)
    staging.rename(cache)
    shutil.rmtree(old, ignore_errors=True)


def _validators(state: ListState, fetched: dict[str, FetchResult]) -> dict[str, Validators]:
    kept = dict(state.validators)
    for url, result in fetched.items():
        if result.status != 304:
            kept[url] = Validators(result.headers.get("etag"), result.headers.get("last-modified"))
    return kept


def _record_unchanged(  # noqa: PLR0917
    store: StateStore,
    state: ListState,
    item: ListConfig,
    now: float,
    status: UpdateStatus,
    validators: dict[str, Validators],
    imported: _Imported | None = None,
) -> ListUpdateResult:
    entries = imported.entries if imported is not None else state.entries
    data_date = imported.data_date if imported is not None else state.data_date
    with store.transaction() as tx:
        tx.save_list_state(_succeeded(state, now, validators, entries, data_date))
    log.info("%s", kv(event="list-update", list=item.name, result=status, entries=entries))
    return ListUpdateResult(item.name, status, entries or 0)


def _succeeded(
    state: ListState,
    now: float,
    validators: dict[str, Validators],
    entries: int | None,
    data_date: str,
) -> ListState:
    """`state` after a check that worked (changed or not): failures cleared."""
    return dataclasses.replace(
        state,
        validators=validators,
        last_check=now,
        last_success=now,
        failures=0,
        failing_since=None,
        last_error=None,
        entries=entries,
        data_date=data_date,
    )


def _record_failure(
    store: StateStore, state: ListState, item: ListConfig, now: float, error: str
) -> ListUpdateResult:
    with store.transaction() as tx:
        tx.save_list_state(
            dataclasses.replace(
                state,
                last_check=now,
                failures=state.failures + 1,
                failing_since=state.failing_since or now,
                last_error=error,
            )
        )
    log.warning(
        "%s",
        kv(event="list-update", list=item.name, result="failed", kept="list-in-force", error=error),
    )
    return ListUpdateResult(item.name, "failed", state.entries or 0, error=error)


async def update_due(
    config: Config,
    store: StateStore,
    state_dir: Path,
    client: httpx.AsyncClient,
    now: float,
    *,
    force: bool = False,
) -> list[ListUpdateResult]:
    """Update every configured list that is due (every one with `force`), one at a time."""
    limits = list_fetch_limits(config)
    with store.transaction() as tx:
        states = {item.name: tx.list_state(item.name) for item in config.lists}
    results = []
    for item in config.lists:
        if force or is_due(item, states[item.name], now):
            results.append(await update_list(item, store, state_dir, client, limits, now))
    return results


LIST_MAX_BYTES = 256 * 2**20  # the full SDN XML is ~100 MB; feeds' 10 MiB cap is too small


def list_fetch_limits(config: Config) -> FetchLimits:
    """The feeds' limits, with room for a whole official list and a longer deadline."""
    base = FetchLimits.from_config(config.polling)
    return dataclasses.replace(
        base,
        max_bytes=max(base.max_bytes, LIST_MAX_BYTES),
        timeout=max(base.timeout, 300.0),
    )
