"""One daemon per state directory: an advisory ``flock`` on ``state_dir/watcher.state.lock``.

The lock file also carries the holder's PID, which `watcher reload` reads to signal it.
The kernel drops the lock when the process dies (even by ``kill -9``), so a stale file
never blocks a restart; only a live holder does.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from watcher.errors import WatcherError
from watcher.state.sqlite import not_writable

LOCK_FILE = "watcher.state.lock"


class AlreadyRunningError(WatcherError):
    """Another process holds the state directory."""


class NotRunningError(WatcherError):
    """No process holds the state directory (nothing to signal)."""


class StateLock:
    """Held for the life of a `watcher run` (daemon or ``--once``)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise not_writable(self.path, exc.strerror or str(exc), "the lock file") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunningError(
                f"another watcher ({lock_holder(self.path)}) is already running on state directory "
                f"{self.path.parent} (lock {self.path}); stop it, or give this one its own "
                "state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            # Unlock before closing so a waiting successor never sees our PID as live.
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(path: Path) -> str:
    """Who holds the lock file at ``path``, for messages: its PID when it wrote one."""
    pid = read_pid_file(path)
    return f"PID {pid}" if pid else "another process"


def read_pid_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def running_pid(state_dir: Path) -> int:
    """The PID of the live process holding ``state_dir``; `NotRunningError` when there is none."""
    path = Path(state_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotRunningError(f"no watcher is running on state directory {state_dir}") from None
    try:
        try:
            # A shared lock succeeds only when nobody holds the exclusive one.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = read_pid_file(path)
            if pid is None:
                raise NotRunningError(
                    f"a watcher holds {path} but has not written its PID yet; try again"
                ) from None
            return pid
        fcntl.flock(fd, fcntl.LOCK_UN)
        raise NotRunningError(f"no watcher is running on state directory {state_dir}")
    finally:
        os.close(fd)
