"""Notice edits to the config and watchlist files, so the daemon reloads without a SIGHUP.

Polling, not inotify, on purpose: a handful of files checked every couple of seconds costs one
``stat`` each, needs no extra dependency or inotify watch budget, works on every filesystem
(NFS, bind mounts, overlay) and inside systemd's sandbox. Checking the *path* each time
(not a handle on the old file) sees editors' save-by-rename: the path's inode changes.
A watched directory (``watchlists: [/etc/sanctions-watch/lists/]``) reports a list added,
removed or renamed in it; the files in it are watched one by one as well.

A change is reported only when it has settled (debounce): the file's ``stat`` must be the
same on two consecutive checks, so a reload never reads a half-written file from a slow
copy. A ``touch`` or a save with identical bytes changes the stat but not the content
digest, and is not reported.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WATCHED_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class StatKey:
    """What ``stat`` tells cheaply; None fields mean the file is absent."""

    inode: int | None
    size: int | None
    mtime_ns: int | None


_ABSENT = StatKey(None, None, None)


def stat_key(path: Path) -> StatKey:
    try:
        st = os.stat(path)
    except OSError:
        return _ABSENT
    return StatKey(st.st_ino, st.st_size, st.st_mtime_ns)


def content_digest(path: Path) -> str | None:
    """The file's bytes; for a directory of watchlists, its sorted *.yaml/*.yml names (a new
    list dropped in counts; an editor's swap file does not)."""
    if path.is_dir():
        try:
            names = sorted(p.name for p in path.iterdir() if p.suffix in WATCHED_SUFFIXES)
        except OSError:
            return None
        return hashlib.sha256("\0".join(names).encode()).hexdigest()
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


@dataclass
class _Watched:
    stat: StatKey  # as last seen
    digest: str | None  # content at the last reported (or initial) state
    unsettled: bool = False  # stat changed at the last check; wait one more for it to hold


class FileWatcher:
    """Call `changed()` periodically; it returns the files whose content changed and settled."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._files: dict[Path, _Watched] = {}
        self.watch(paths)

    def watch(self, paths: Iterable[Path]) -> None:
        """Replace the watched set (after a reload) with the files as they are now."""
        wanted = [Path(p) for p in paths]
        self._files = {
            path: self._files.get(path) or _Watched(stat_key(path), content_digest(path))
            for path in wanted
        }

    def rebase(self) -> None:
        """Take the files as they are now as known (call just before reading them), so a
        change already being loaded is not reported again; later edits still are."""
        self._files = {path: _Watched(stat_key(path), content_digest(path)) for path in self._files}

    @property
    def paths(self) -> list[Path]:
        return list(self._files)

    def changed(self) -> list[Path]:
        settled: list[Path] = []
        for path, watched in self._files.items():
            current = stat_key(path)
            if current != watched.stat:
                watched.stat = current
                watched.unsettled = True
                continue
            if not watched.unsettled:
                continue
            watched.unsettled = False
            digest = content_digest(path)
            if digest != watched.digest:
                watched.digest = digest
                settled.append(path)
        return settled
