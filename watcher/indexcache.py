"""The compiled watchlists, cached under ``<state_dir>/index/``, keyed by what they come from.

Compiling the full OFAC list takes seconds and parsing its YAML (with line numbers, for
file:line:col errors) about half a second more, with a transient memory peak. The compiled
index is therefore saved as ``<state_dir>/index/<key>.pickle``, the key being a hash of:

- the bytes (and paths) of every watchlist file and ignore file, in order;
- the threshold;
- the code that validates and compiles them (the source of the matcher and of the loaders,
  the word-list package versions, the Python version, the index format).

A file is only ever saved after its lists validated, so a hit proves the same bytes passed
the same code's validation: the YAML is not parsed again. The matcher's word lists
(`watcher.matching.lexicon`, whose versions are in the key) are saved beside the index and
restored with it: not rebuilt either. Anything else (no state dir yet,
an unreadable, corrupt, foreign or stale file, an unwritable directory) falls back to loading
and compiling, with a warning at most: the cache is never a reason to fail.

Pickle safety: loading a pickle runs code named in it, so only files this service wrote are
loaded. The cache lives in the service's own state directory (systemd ``StateDirectory=``,
mode 0700); the directory is created 0700, files 0600, and a file or directory not owned by
the running user, or writable by others, is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import os
import pickle
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from watcher import settings
from watcher.errors import Problem, ValidationFailed
from watcher.ignore import IgnoreRule, load_ignore
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, compile_watchlists, lexicon
from watcher.matching.index import INDEX_FORMAT
from watcher.progress import Report, quiet

log = logging.getLogger(__name__)

CACHE_DIR = "index"
KEEP = 3  # newest index files kept: a reload back to the previous lists stays warm
_SUFFIX = ".pickle"
# The code whose output the cache holds: any change to it makes every saved index stale.
_CODE_MODULES = ("matching", "settings.py", "watchlist.py", "ignore.py", "yamlfile.py")
_WORD_LISTS = ("wordfreq", "english-words")


@dataclass(frozen=True)
class CompiledLists:
    """The compiled watchlists and what they were built from."""

    compiled: CompiledWatchlists
    entries: int  # entries on the lists (vessels not matched included)
    key: str  # hash of the inputs (see the module docstring); "" if a file was unreadable
    from_cache: bool


def compile_lists(
    watchlists: Sequence[Path],
    ignore: Sequence[Path],
    threshold: int,
    state_dir: Path | None,
    report: Report = quiet,
) -> CompiledLists:
    """The config's watchlists and ignore lists compiled: from ``state_dir``'s cache when
    current, else loaded (validated) and compiled, and saved there. ``state_dir=None``: no
    cache. Raises `ValidationFailed` (file:line:col) for invalid lists, as loading does.
    ``report`` hears each step (`watcher.progress`): compiling a big list takes a while."""
    list_files, missing = settings.watchlist_files(watchlists)
    key = None if missing else input_key(list_files, ignore, threshold)
    cache_dir = state_dir / CACHE_DIR if state_dir is not None else None
    if key is not None and cache_dir is not None:
        report("loading the compiled watchlists from the index cache")
        hit = load_cached(cache_dir, key)
        if hit is not None:
            compiled, entries = hit
            return CompiledLists(compiled, entries, key, from_cache=True)
    lists = settings.load_watchlists(watchlists, report)
    rules = _load_ignore(ignore)
    entries = sum(len(wl.entries) for wl in lists)
    report(f"compiling the watchlists: {entries:,} entries into the matcher index")
    compiled = compile_watchlists(lists, threshold=threshold, ignore=rules)
    # files edited while they were read: what was compiled may not be what was hashed
    after = input_key(list_files, ignore, threshold)
    if key is not None and after == key and cache_dir is not None:
        report("saving the compiled watchlists to the index cache")
        save_cached(cache_dir, key, compiled, entries)
    return CompiledLists(compiled, entries, after or "", from_cache=False)


def _load_ignore(paths: Sequence[Path]) -> tuple[IgnoreRule, ...]:
    """Every rule of every ignore file; the problems of all files at once."""
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


def input_key(list_files: Sequence[Path], ignore: Sequence[Path], threshold: int) -> str | None:
    """Hash of everything a compiled index depends on; None if a file cannot be read."""
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(f"\0threshold={threshold}".encode())
    for kind, files in (("list", list_files), ("ignore", ignore)):
        for path in files:
            try:
                with path.open("rb") as handle:
                    content = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                return None
            digest.update(f"\0{kind}\0{path.absolute()}\0{content}".encode())
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """Hash of the code that validates and compiles watchlists (once per process)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{INDEX_FORMAT}\0{sys.version_info[:2]}".encode())
    for name in _CODE_MODULES:
        path = package / name
        sources = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for source in sources:
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for dist in _WORD_LISTS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            digest.update(f"\0{dist}={importlib.metadata.version(dist)}".encode())
    return digest.hexdigest()


def load_cached(cache_dir: Path, key: str) -> tuple[CompiledWatchlists, int] | None:
    """The index saved under `key` and its entry count; None when absent or unusable."""
    path = cache_dir / f"{key}{_SUFFIX}"
    try:
        with path.open("rb") as source:
            if not _trusted(cache_dir, os.fstat(source.fileno())):
                log.warning("%s", kv(event="index-cache", file=path, result="ignored-untrusted"))
                return None
            saved_key, entries, compiled, words = pickle.load(source)
    except FileNotFoundError:
        return None
    except Exception as exc:  # any broken file: rebuild, never fail
        log.warning("%s", kv(event="index-cache", file=path, result="unreadable", error=exc))
        return None
    if saved_key != key or not isinstance(compiled, CompiledWatchlists):
        log.warning("%s", kv(event="index-cache", file=path, result="ignored-mismatch"))
        return None
    if isinstance(words, dict):
        lexicon.restore(words)  # the matcher's word lists: not built again
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when older ones are pruned
    return compiled, int(entries)


def _trusted(cache_dir: Path, info: os.stat_result) -> bool:
    """Written by this user, and by nobody else (a pickle runs code when loaded)."""
    try:
        folder = cache_dir.stat()
    except OSError:
        return False
    uid = os.getuid()
    others = stat.S_IWGRP | stat.S_IWOTH
    return all(s.st_uid == uid and not s.st_mode & others for s in (info, folder))


def save_cached(cache_dir: Path, key: str, compiled: CompiledWatchlists, entries: int) -> None:
    """Save atomically (temp file + rename) and prune to the newest `KEEP`; a failure is a
    warning (the next start compiles again), never an error."""
    started = time.monotonic()
    try:
        cache_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the state dir
        cache_dir.mkdir(mode=0o700, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                payload = (key, entries, compiled, lexicon.saved())
                pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, cache_dir / f"{key}{_SUFFIX}")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except (OSError, pickle.PicklingError) as exc:
        log.warning("%s", kv(event="index-cache", dir=cache_dir, result="not-saved", error=exc))
        return
    _prune(cache_dir)
    seconds = time.monotonic() - started
    log.info("%s", kv(event="index-cache", result="saved", key=key[:12], seconds=f"{seconds:.2f}"))


def _prune(cache_dir: Path) -> None:
    """Keep the `KEEP` most recently used index files (and no stale temp files)."""
    try:
        found = [(p.stat().st_mtime, p) for p in cache_dir.iterdir() if p.suffix == _SUFFIX]
    except OSError:
        return
    found.sort(reverse=True)
    kept = 0
    for mtime, path in found:
        temp = path.name.startswith(".tmp-")
        if temp and time.time() - mtime < 3600:  # another process may be writing it
            continue
        if not temp and kept < KEEP:
            kept += 1
            continue
        with contextlib.suppress(OSError):
            path.unlink()
