"""The one narrow interface in front of both state backends.

Callers (ingestion, notifier, lists, service, commands) type against `StateStore`, never a
backend class: `watcher.state.open.open_state` picks SQLite (a file in ``state_dir``, the
embedded default) or PostgreSQL (``database:`` in the config, shared by several instances).

Both backends hand out the SAME `watcher.state.transaction.Transaction`; it speaks to the
database through `DbConnection`, the small part of DB-API both drivers share (``?``
placeholders; rows readable by index and by column name, like `sqlite3.Row`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from watcher.state.transaction import Transaction


class StateStore(Protocol):
    """Durable state: units of work on one database, whichever backend holds it.

    Errors are `watcher.state.errors.StateError`s whose messages name `where`.
    """

    @property
    def where(self) -> str:
        """The database for messages: the SQLite file's path, or the PostgreSQL URL without
        its password. Every error message about the state names it."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One atomic unit of work that may write: committed on normal exit, rolled back on
        any exception. Write units are serialized across threads, processes and hosts, so a
        read-then-write inside one is never interleaved with another writer."""
        ...

    def snapshot(self) -> AbstractContextManager[Transaction]:
        """A read-only unit of work: one consistent view that neither waits for nor blocks
        writers, however long the reading takes. Only read inside it."""
        ...

    def another_connection(self) -> StateStore:
        """A store usable from one other thread (the SQLite store is not shared across
        threads; the PostgreSQL one is, and may return itself). Close it when done."""
        ...

    def upgrade(self) -> tuple[int, int]:
        """Apply the schema migrations this release knows: (version before, version after).
        Safe to run from two processes or hosts at once (the second finds nothing to do)."""
        ...

    def close(self) -> None: ...


class DbCursor(Protocol):
    """What `Transaction` reads from a statement's result (sqlite3 and psycopg cursors)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class DbConnection(Protocol):
    """What `Transaction` calls: `sqlite3.Connection` as it is, or the PostgreSQL adapter
    (`watcher.state.postgresql`) that translates ``?`` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> DbCursor: ...

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> DbCursor: ...


class DbRow(Protocol):
    """One result row: by index, by column name, and its column names (`sqlite3.Row`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...
