"""The SQLite backend: the embedded default, one file in ``state_dir``.

Callers open a `Store`, then do each unit of work inside ``with store.transaction() as tx:``
(or ``store.snapshot()`` to only read) and call methods on ``tx`` (`watcher.state.transaction`).

SQLite specifics: WAL mode, ``synchronous=NORMAL`` (durable at checkpoints and safe against
corruption), a busy timeout, and ``BEGIN IMMEDIATE`` so a writer never deadlocks on upgrade.
Schema versions live in ``PRAGMA user_version``; `MIGRATIONS[n]` moves version n to n+1. A new
file is created at the current version; an older one is refused (`watcher state upgrade` runs
`Store.upgrade`), a newer one too (upgrade sanctions-watch).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from watcher.state.errors import (
    StateCorrupt,
    StateError,
    StateNotWritable,
    StateStoreFailed,
)
from watcher.state.schema import MIGRATIONS, newer_schema, outdated_schema, split_sql
from watcher.state.transaction import Transaction

DB_FILE = "state.sqlite3"

# SQLite primary result codes (sqlite3.h), the low byte of `sqlite3.Error.sqlite_errorcode`
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 3, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26


def state_error(path: Path, exc: sqlite3.Error | OSError) -> StateError | None:
    """The user-facing error for a failure of the state database at ``path`` (naming the
    file and what to do), or None when it is not about the file (a bug, a busy lock)."""
    if isinstance(exc, OSError):
        return not_writable(path, exc.strerror or str(exc))
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return corrupt(path, str(exc))
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM):
        return not_writable(path, str(exc))
    if code in (_SQLITE_FULL, _SQLITE_IOERR):
        return StateStoreFailed(
            f"could not store to the state database {path}: {exc}. Free space on its file "
            "system (or raise the quota); nothing already stored is lost, and what was not "
            "stored is fetched again on the next poll"
        )
    return None


def corrupt(path: Path, detail: str) -> StateCorrupt:
    return StateCorrupt(
        f"the state database {path} is damaged ({detail}). Stop the service, then restore "
        f"it from a backup; or salvage what is readable with `sqlite3 {path} .recover | "
        f"sqlite3 {path}.recovered` and move the recovered file into its place; or move it "
        f"aside (mv {path} {path}.broken) to start a new history, in which the feeds' "
        "current items are recorded again as a baseline, not mailed"
    )


def not_writable(path: Path, detail: str, what: str = "the state database") -> StateNotWritable:
    return StateNotWritable(
        f"cannot write {what} {path}: {detail}. The directory {path.parent} and "
        "the files in it must be writable by the user the service runs as (check state_dir "
        "in the config, ownership and permissions, and whether the file system is mounted "
        "read-only)"
    )


def _refuse_truncated(path: Path) -> None:
    """A database file of 0 bytes was truncated (SQLite writes its header on creation, and
    WAL mode at once): opening it would silently start a new history and mail every item of
    every feed again. Only a missing file starts fresh."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise not_writable(path, exc.strerror or str(exc)) from exc
    if size == 0:
        raise StateCorrupt(
            f"the state database {path} is empty (0 bytes): it was truncated, and starting "
            "over on it would forget every article already seen. Restore it from a backup; "
            f"to start a new history on purpose, remove it (rm {path}): only a missing file "
            "starts fresh"
        )


class Store:
    """The state database (a `watcher.state.interface.StateStore`). Not shared across threads:
    `another_connection` gives another thread its own.

    Failures of the database file itself surface as `StateCorrupt` (65), `StateNotWritable`
    (73) or `StateStoreFailed` (74), each naming the file and what to do. An older schema is
    refused with `StateSchemaOutdated` unless opened ``for_upgrade`` (then call `upgrade`)."""

    def __init__(self, state_dir: Path, *, for_upgrade: bool = False) -> None:
        self.path = Path(state_dir) / DB_FILE
        self.where = str(self.path)
        _refuse_truncated(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise state_error(self.path, exc) or StateError(
                f"cannot open state database {self.path}: {exc} "
                "(check state_dir in the config and that the directory is writable)"
            ) from exc
        try:
            self._db.row_factory = sqlite3.Row
            self._db.create_function("casefold", 1, _casefold, deterministic=True)
            if not _has_function(self._db, "floor(1.5)"):  # built without the math functions
                self._db.create_function("floor", 1, _floor, deterministic=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._check_schema(for_upgrade=for_upgrade)
        except sqlite3.Error as exc:
            self._db.close()
            error = state_error(self.path, exc)
            if error is None:
                raise
            raise error from exc
        except BaseException:
            self._db.close()
            raise

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _check_schema(self, *, for_upgrade: bool) -> None:
        """A new file gets the current schema; an older one waits for `upgrade`."""
        version = self._version()
        if version == 0:  # new: created at the current version (re-read under the lock)
            with self.transaction():
                self._migrate_locked(creating=True)
            version = self._version()
        if version > len(MIGRATIONS):
            raise newer_schema(self.where, version)
        if version < len(MIGRATIONS) and not for_upgrade:
            raise outdated_schema(self.where, version)

    def upgrade(self) -> tuple[int, int]:
        """Apply the missing migrations in one write transaction: (from, to) versions. A
        second process running it at once waits for the first, then finds nothing to do."""
        with self.transaction():
            return self._migrate_locked(creating=False)

    def _migrate_locked(self, *, creating: bool) -> tuple[int, int]:
        version = self._version()  # inside BEGIN IMMEDIATE: no other writer moved it since
        if version > len(MIGRATIONS):
            raise newer_schema(self.where, version)
        if creating and version != 0:
            return version, version  # another process created it meanwhile
        for script in MIGRATIONS[version:]:
            for statement in split_sql(script):
                self._db.execute(statement)
        self._db.execute(f"PRAGMA user_version={len(MIGRATIONS)}")
        return version, len(MIGRATIONS)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work: committed on normal exit, rolled back on any exception."""
        with self._translated():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db, self.where)
            except BaseException:
                with suppress(sqlite3.Error):  # a damaged file may fail this too
                    self._rollback()
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        """A read-only unit of work: one consistent view of the database that neither waits
        for nor blocks writers (WAL), however long the reading takes. Only read inside it."""
        with self._translated():
            self._db.execute("BEGIN DEFERRED")
            try:
                yield Transaction(self._db, self.where)
            finally:
                with suppress(sqlite3.Error):
                    self._rollback()  # nothing to keep: ends the read

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite errors about the file itself become `StateError`s naming it."""
        try:
            yield
        except sqlite3.Error as exc:
            error = state_error(self.path, exc)
            if error is None:
                raise
            raise error from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:  # SQLite may have rolled back itself (SQLITE_FULL...)
            self._db.execute("ROLLBACK")

    def another_connection(self) -> Store:
        """A second `Store` on the same database, for work in one other thread (a `Store` is
        not shared across threads). SQLite serializes the writers of both."""
        return Store(self.path.parent)

    def close(self) -> None:
        self._db.close()


def _has_function(db: sqlite3.Connection, call: str) -> bool:
    try:
        db.execute(f"SELECT {call}")
    except sqlite3.OperationalError:
        return False
    return True


def _floor(value: float | None) -> float | None:
    """SQL ``floor(x)``, which SQLite has only when built with its math functions."""
    return None if value is None else float(math.floor(value))


def _casefold(value: str | None) -> str | None:
    """SQL ``casefold(x)``: Python's casefold (SQLite's lower() only folds ASCII), so the
    digest's SQL order is `render.sort_for_digest`'s."""
    return value.casefold() if isinstance(value, str) else value
