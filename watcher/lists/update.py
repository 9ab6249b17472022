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

Several instances on one shared state (issue 10): each keeps its list files in its OWN
state_dir, while the validators, the recorded changes and the version in force (`list_files`:
its sha256 and its body) are shared. So, before anything else, an update makes the local file
the version in force (`sync_list`: taken from the database, no download), and trusts a 304
only when its own downloaded sources (``.sources/<name>/.version``) are that version too;
otherwise it downloads every URL unconditionally. The change, the new version in force and the
validators are saved in ONE transaction, check-and-set against the version the diff was made
from: whichever instance sees a new version first records it, once; one that finds it
recorded already only swaps its own file; one that finds a third version recorded meanwhile
records nothing and fails this check (the next one starts from that version). `update_due`
syncs every list, due or not, so every instance may run it on every tick.

Crash safety (SIGKILL at any instant): the transaction above comes first, then the file is
written, then the sources are kept. A crash before the transaction repeats the whole update
next time; a crash after it finds the local file behind the version in force, takes it from
the database and downloads again (its sources are not that version), finding nothing new. No
change is lost and none is reported twice.
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
SOURCES_VERSION = ".version"  # in a list's sources: the version they were imported as
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
    # the list file in force in this state_dir was replaced (by this update, or by the version
    # another instance recorded): what the matcher screens must be reloaded
    swapped: bool = False


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
    output = output_path(item, state_dir)
    cache = sources_dir(item, state_dir)
    synced = False
    try:
        base, synced = await _sync(store, item, output)
        with store.snapshot() as tx:
            state = tx.list_state(item.name)
        # a 304 says "the files you have": trusted only when this host's files are the
        # version in force, which the shared validators were saved with
        mine = base is not None and _sources_version(cache) == base
        fetched = await _download(item, state.validators if mine else {}, cache, client, limits)
        if fetched is None:
            return _record_unchanged(store, item, now, synced)
        staged = await asyncio.to_thread(_stage, item, cache, fetched)
        imported = await asyncio.to_thread(_import, item, staged, output)
        recorded = _commit(store, item, base, imported, fetched, now)
        written = await asyncio.to_thread(_write, item, output, imported)
        await asyncio.to_thread(_keep_sources, staged, cache, imported.version)
    except (WatcherError, OSError) as exc:  # ListRejectedError and SourceFileError included
        return _record_failure(store, item, now, str(exc), synced)
    return _result(item, imported, recorded=recorded, swapped=synced or written)


async def sync_list(item: ListConfig, store: StateStore, state_dir: Path) -> bool:
    """Make this state_dir's file of `item` the version in force that the (shared) state
    records, taken from the database: no download. True when the file was replaced."""
    return (await _sync(store, item, output_path(item, state_dir)))[1]


async def _sync(store: StateStore, item: ListConfig, output: Path) -> tuple[str | None, bool]:
    """(the version in force, which the local file now is; None when the state records none
    yet and the local file, if any, is the base), and whether the local file was replaced.
    The store is used from this thread only (a SQLite store is bound to its thread)."""
    with store.snapshot() as tx:
        recorded = tx.list_file_version(item.name)
    if recorded is None or await asyncio.to_thread(local_version, output) == recorded:
        return recorded, False
    with store.snapshot() as tx:
        stored = tx.list_file(item.name)
    if stored is None:  # cannot be: list_files rows are never deleted
        return None, False
    version, text = stored
    await asyncio.to_thread(write_atomically, output, text)
    log.info("%s", kv(event="list-sync", list=item.name, version=version[:12], path=output))
    return version, True


def local_version(output: Path) -> str | None:
    """The version of the list file in this state_dir (None: there is none)."""
    try:
        text = output.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return _version(text)


def _sources_version(cache: Path) -> str | None:
    try:
        return (cache / SOURCES_VERSION).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None


def _commit(  # noqa: PLR0917
    store: StateStore,
    item: ListConfig,
    base: str | None,
    imported: _Imported,
    fetched: dict[str, FetchResult],
    now: float,
) -> bool:
    """In one transaction: record the change (if this instance is the first to see this
    version), make it the version in force, save the check. Check-and-set: the version in
    force must still be `base`, the one the diff was made from. True when the change was
    recorded here."""
    diff = imported.diff
    recorded = False
    with store.transaction() as tx:
        current = tx.list_file_version(item.name)
        if current != imported.version:
            if current != base:
                raise ListRejectedError(
                    f"list {item.name}: another instance made version {str(current)[:12]}"
                    f" the one in force while this one imported {imported.version[:12]};"
                    " nothing recorded, checked again from that version next time"
                )
            if not diff.empty:
                recorded = tx.add_list_change(
                    item.name,
                    imported.version,
                    (len(diff.added), len(diff.removed), len(diff.changed)),
                    diff.to_json(),
                    now,
                    rescreen=bool(diff.added) and not imported.first,
                )
            tx.save_list_file(item.name, imported.version, imported.text, now)
        state = tx.list_state(item.name)
        checked = _succeeded(
            state, now, _validators(state, fetched), imported.entries, imported.data_date
        )
        if recorded:
            checked = dataclasses.replace(checked, last_change=now)
        tx.save_list_state(checked)
    return recorded


def _write(item: ListConfig, output: Path, imported: _Imported) -> bool:
    """Swap the new version in, unless the list in force already says the same; True when
    the entries screened changed (a reload is due)."""
    for note in imported.notes:
        log.info("%s", kv(event="list-import-note", list=item.name, note=note))
    if output.is_file() and same_body(output.read_text(encoding="utf-8"), imported.text):
        return False
    write_atomically(output, imported.text)
    return not imported.diff.empty


def _result(
    item: ListConfig, imported: _Imported, *, recorded: bool, swapped: bool
) -> ListUpdateResult:
    diff = imported.diff
    status: UpdateStatus = "updated" if swapped else "unchanged"
    fields = {"list": item.name, "result": status, "entries": imported.entries}
    if recorded:
        counts = {"added": len(diff.added), "removed": len(diff.removed)}
        fields |= {**counts, "changed": len(diff.changed)}
    elif swapped:
        fields |= {"change": "recorded-by-another-instance"}
    log.info("%s", kv(event="list-update", **fields))
    return ListUpdateResult(
        item.name,
        status,
        imported.entries,
        diff if recorded else None,
        rescreen=recorded and bool(diff.added) and not imported.first,
        notes=imported.notes,
        swapped=swapped,
    )


async def _download(
    item: ListConfig,
    validators: dict[str, Validators],
    cache: Path,
    client: httpx.AsyncClient,
    limits: FetchLimits,
) -> dict[str, FetchResult] | None:
    """Every URL's response (sequentially: one official server, politely); None when every
    URL answered 304, i.e. the cached files are current. Conditional only with `validators`
    (empty: this host's files are not the version in force, so everything is downloaded)."""
    results: dict[str, FetchResult] = {}
    for url in item.urls:
        cached = cache / _file_name(item, url)
        known = validators.get(url) if cached.is_file() else None
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


def _keep_sources(staged: Sequence[Path], cache: Path, version: str) -> None:
    """The staged files become the cache the next conditional GET relies on, marked with
    the version they were imported as (a 304 is trusted only for the version in force)."""
    if not staged:
        return
    staging = staged[0].parent
    (staging / SOURCES_VERSION).write_text(version + "\n", encoding="ascii")
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


def _record_unchanged(
    store: StateStore, item: ListConfig, now: float, synced: bool
) -> ListUpdateResult:
    """Every URL answered 304: this host's files are the version in force, still current."""
    with store.transaction() as tx:
        state = tx.list_state(item.name)
        tx.save_list_state(_succeeded(state, now, state.validators, state.entries, state.data_date))
    status: UpdateStatus = "updated" if synced else "not-modified"
    change = {"change": "recorded-by-another-instance"} if synced else {}
    log.info(
        "%s",
        kv(event="list-update", list=item.name, result=status, entries=state.entries, **change),
    )
    return ListUpdateResult(item.name, status, state.entries or 0, swapped=synced)


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
    store: StateStore, item: ListConfig, now: float, error: str, synced: bool
) -> ListUpdateResult:
    """Counted on the shared state, read afresh (another instance may have written since)."""
    with store.transaction() as tx:
        state = tx.list_state(item.name)
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
    return ListUpdateResult(item.name, "failed", state.entries or 0, error=error, swapped=synced)


async def update_due(
    config: Config,
    store: StateStore,
    state_dir: Path,
    client: httpx.AsyncClient,
    now: float,
    *,
    force: bool = False,
) -> list[ListUpdateResult]:
    """Update every configured list that is due (every one with `force`), one at a time;
    bring the others' files in this state_dir to the version in force (no download).

    Safe on every instance sharing the state, on every tick: due-ness is shared (one check per
    ``every`` between them, give or take two that start the same second, which record nothing
    twice), and an instance whose files are behind catches up within one tick. A result with
    `swapped` means the screened lists must be reloaded."""
    limits = list_fetch_limits(config)
    with store.snapshot() as tx:
        states = {item.name: tx.list_state(item.name) for item in config.lists}
    results = []
    for item in config.lists:
        state = states[item.name]
        if force or is_due(item, state, now):
            results.append(await update_list(item, store, state_dir, client, limits, now))
        elif synced := await _sync_quietly(item, store, state_dir, state):
            results.append(synced)
    return results


async def _sync_quietly(
    item: ListConfig, store: StateStore, state_dir: Path, state: ListState
) -> ListUpdateResult | None:
    """`sync_list` for a list not due: a result only when the file was replaced or could not
    be (a local problem: logged, not counted on the shared state)."""
    try:
        if not await sync_list(item, store, state_dir):
            return None
    except OSError as exc:
        log.warning("%s", kv(event="list-sync", list=item.name, result="failed", error=str(exc)))
        return ListUpdateResult(item.name, "failed", state.entries or 0, error=str(exc))
    return ListUpdateResult(item.name, "updated", state.entries or 0, swapped=True)


LIST_MAX_BYTES = 256 * 2**20  # the full SDN XML is ~100 MB; feeds' 10 MiB cap is too small


def list_fetch_limits(config: Config) -> FetchLimits:
    """The feeds' limits, with room for a whole official list and a longer deadline."""
    base = FetchLimits.from_config(config.polling)
    return dataclasses.replace(
        base,
        max_bytes=max(base.max_bytes, LIST_MAX_BYTES),
        timeout=max(base.timeout, 300.0),
    )
