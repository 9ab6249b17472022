"""The compiled watchlists, cached under ``<state_dir>/index/``, keyed by what they come from.

Compiling the full OFAC list takes seconds and parsing its YAML (with line numbers, for
file:line:col errors) about half a second more, with a transient memory peak. The compiled
index is therefore saved as ``<state_dir>/index/<key>.pickle``, the key being a hash of:

- the bytes (and paths) of every watchlist file and ignore file, in order;
- the threshold;
- the code that validates and compiles them (the source of the matcher and of the loaders,
  the word-list package versions, the Python version, the index format).

The matcher's word lists take ~1.5 s of CPU to build and do not depend on the watchlists,
only on the code and word-list versions: on an index miss (a new or edited list, and every
`watcher run --once`, `poll --once` or `match --config` in a new state directory) they are
restored from ``words-<fingerprint>.pickle`` in the user's cache directory
(``$XDG_CACHE_HOME/sanctions-watch``, else ``~/.cache/sanctions-watch``) when there is one,
and saved there after building. A service without a writable home simply builds them.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from watcher.config import settings
from watcher.config.ignore import IgnoreRule, load_ignore
from watcher.errors import Problem, ValidationFailed
from watcher.logs import kv
from watcher.matching import CompiledWatchlists, compile_watchlists, lexicon
from watcher.matching.index import INDEX_FORMAT
from watcher.progress import Report, quiet

log = logging.getLogger(__name__)

CACHE_DIR = "index"
KEEP = 3  # newest index files kept: a reload back to the previous lists stays warm
_SUFFIX = ".pickle"
_WORDS_PREFIX = "words-"
# The code whose output the cache holds: any change to it makes every saved index stale.
_CODE_MODULES = (
    "matching",
    "config/settings.py",
    "config/watchlist.py",
    "config/ignore.py",
    "config/yamlfile.py",
)
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
    words_dir = words_cache_dir(os.environ)
    words_restored = words_dir is not None and restore_words(words_dir)
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
    if words_dir is not None and not words_restored:
        save_words(words_dir)
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
    package = Path(__file__).resolve().parent.parent  # watcher/
    digest = hashlib.sha256(f"{INDEX_FORMAT}\0{sys.version_info[:2]}".encode())
    for name in _CODE_MODULES:
        path = package / name
        # the package's data compiled in too (matching/exonyms.yaml, the news spellings table)
        sources = sorted([*path.glob("*.py"), *path.glob("*.yaml")]) if path.is_dir() else [path]
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
        _write_pickle(cache_dir, f"{key}{_SUFFIX}", (key, entries, compiled, lexicon.saved()))
    except (OSError, pickle.PicklingError) as exc:
        log.warning("%s", kv(event="index-cache", dir=cache_dir, result="not-saved", error=exc))
        return
    _prune(cache_dir)
    seconds = time.monotonic() - started
    log.info("%s", kv(event="index-cache", result="saved", key=key[:12], seconds=f"{seconds:.2f}"))


def _write_pickle(directory: Path, name: str, payload: object) -> None:
    """``payload`` pickled to ``directory/name`` atomically (temp file, fsync, rename), in a
    directory only this user can write."""
    directory.mkdir(mode=0o700, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# --- the matcher's word lists, kept per user across state directories ---------------------


def words_cache_dir(env: Mapping[str, str]) -> Path | None:
    """``$XDG_CACHE_HOME/sanctions-watch``, else ``~/.cache/sanctions-watch``; None when
    there is no home (a service's DynamicUser=)."""
    base = env.get("XDG_CACHE_HOME") or (
        str(Path(env["HOME"]) / ".cache") if env.get("HOME", "/") != "/" else ""
    )
    return Path(base) / "sanctions-watch" if base else None


def _words_name() -> str:
    return f"{_WORDS_PREFIX}{code_fingerprint()[:32]}{_SUFFIX}"


def restore_words(directory: Path) -> bool:
    """Restore the word lists saved in ``directory`` by this code; False when there are none
    (or they are unusable: then they are built, as without a cache)."""
    path = directory / _words_name()
    try:
        with path.open("rb") as source:
            if not _trusted(directory, os.fstat(source.fileno())):
                log.warning("%s", kv(event="words-cache", file=path, result="ignored-untrusted"))
                return False
            fingerprint, words = pickle.load(source)
    except FileNotFoundError:
        return False
    except Exception as exc:  # any broken file: build, never fail
        log.warning("%s", kv(event="words-cache", file=path, result="unreadable", error=exc))
        return False
    if fingerprint != code_fingerprint() or not isinstance(words, dict):
        return False
    lexicon.restore(words)
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when older versions' files are pruned
    log.debug("%s", kv(event="words-cache", file=path, result="restored"))
    return True


def save_words(directory: Path) -> None:
    """Save the word lists (building them if need be) for the next process, keeping the
    `KEEP` most recently used versions (several checkouts may share a home). A failure (no
    writable home) only means they are built next time."""
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_pickle(directory, _words_name(), (code_fingerprint(), lexicon.saved()))
    except (OSError, pickle.PicklingError) as exc:
        log.debug("%s", kv(event="words-cache", dir=directory, result="not-saved", error=exc))
        return
    log.debug("%s", kv(event="words-cache", dir=directory, result="saved"))
    _prune(directory)


def _prune(cache_dir: Path) -> None:
    """Keep the `KEEP` most recently used files (and no stale temp files)."""
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
