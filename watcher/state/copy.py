"""Copy a SQLite state into a new PostgreSQL database (`watcher state copy --to URL`).

Every table the SQLite file holds at the current schema version is copied whole, ids and all
(outbox Message-IDs and digest ids stay valid, so nothing already sent goes out again), in
bounded batches: a read cursor on one SQLite snapshot, `BATCH` rows per ``executemany`` on the
PostgreSQL side. The copy is ONE write transaction on the target (under the write lock every
instance takes): a failure anywhere leaves the target as empty as it was, so it can simply be
run again. Before committing, each table's row count is compared with the source's; after the
rows, the identity sequences are moved past the copied ids (`_reset_identity`).

The source catalog (which tables, their columns, primary keys and foreign keys) is read from
SQLite itself (``sqlite_master``, ``PRAGMA table_info``/``foreign_key_list``): the source is
SQLite by definition. Every statement sent to the target is portable SQL with ``?``
placeholders, through the same connection adapter `Transaction` uses; the one PostgreSQL-only
statement is the sequence reset, which SQLite has no counterpart of.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from watcher.logs import kv
from watcher.state.errors import StateError
from watcher.state.interface import DbConnection
from watcher.state.transaction import Transaction

log = logging.getLogger(__name__)

BATCH = 500  # rows per INSERT batch: bounded memory whatever the table's size (texts, mail)
# Who is running now, not history: the instances on the new database register themselves.
NOT_COPIED = frozenset({"instances", "leases"})


@dataclass(frozen=True)
class Table:
    """One table of the source, as the copy needs it."""

    name: str
    columns: tuple[str, ...]
    identity: str | None  # the INTEGER PRIMARY KEY column (an identity column on PostgreSQL)
    parents: tuple[str, ...]  # tables its foreign keys point at (copied before it)


@dataclass(frozen=True)
class Copied:
    """A table copied: rows in the source and, counted after the copy, in the target."""

    table: str
    source_rows: int
    target_rows: int


class TargetNotEmptyError(StateError):
    """The target database already holds state: the copy would mix two histories."""


def connection(tx: Transaction) -> DbConnection:
    """The connection a unit of work runs on. The copy moves whole tables of rows it does not
    interpret, which is no business of `Transaction`'s typed methods."""
    return tx.connection


def source_tables(source: DbConnection) -> list[Table]:
    """The SQLite source's tables, parents before children (foreign keys)."""
    names = [
        str(row[0])
        for row in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        if not str(row[0]).startswith("sqlite_")  # SQLite's own (sqlite_sequence, _stat1)
        and str(row[0]) not in NOT_COPIED
    ]
    tables = {name: _describe(source, name) for name in names}
    return _parents_first(tables)


def _describe(source: DbConnection, name: str) -> Table:
    info = source.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
    columns = tuple(str(row[1]) for row in info)  # cid, name, type, notnull, default, pk
    keys = [row for row in info if int(row[5]) > 0]
    identity = str(keys[0][1]) if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER" else None
    parents = tuple(
        sorted(
            {
                str(row[2])
                for row in source.execute(f"PRAGMA foreign_key_list({_quote(name)})").fetchall()
                if str(row[2]) != name
            }
        )
    )
    return Table(name, columns, identity, parents)


def _parents_first(tables: dict[str, Table]) -> list[Table]:
    ordered: list[Table] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in placed or name not in tables:
            return
        if name in path:
            raise StateError(f"foreign keys form a cycle: {' -> '.join((*path, name))}")
        for parent in tables[name].parents:
            place(parent, (*path, name))
        placed.add(name)
        ordered.append(tables[name])

    for name in sorted(tables):
        place(name, ())
    return ordered


def count(db: DbConnection, table: str) -> int:
    row = db.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
    return int(row[0])


def refuse_non_empty(target: DbConnection, tables: Sequence[Table], where: str) -> None:
    """`TargetNotEmptyError` naming the tables that already hold rows in `target`."""
    held = [(table.name, count(target, table.name)) for table in tables]
    held = [(name, rows) for name, rows in held if rows]
    if held:
        listed = ", ".join(f"{name}: {rows} row(s)" for name, rows in held)
        raise TargetNotEmptyError(
            f"the database {where} already holds state ({listed}); copying into it would mix "
            "two histories. Copy into a new, empty database (createdb -O USER NAME), or drop "
            "and recreate this one if its state is not needed"
        )


def copy_tables(
    source: DbConnection,
    target: DbConnection,
    tables: Sequence[Table],
    *,
    batch: int = BATCH,
) -> list[Copied]:
    """Copy every row of `tables` from `source` into `target` (empty, same schema), in
    batches of `batch`; then reset the identity sequences and count both sides. Raises
    `StateError` when a count differs (the caller's transaction then rolls everything back)."""
    copied = []
    for table in tables:
        _check_columns(target, table)
        rows = 0
        for chunk in _batches(_rows(source, table), batch):
            target.executemany(_insert(table), chunk)
            rows += len(chunk)
        if table.identity is not None:
            _reset_identity(target, table)
        copied.append(Copied(table.name, count(source, table.name), count(target, table.name)))
        log.info("%s", kv(event="state-copy", table=table.name, rows=rows))
    wrong = [c for c in copied if c.target_rows != c.source_rows]
    if wrong:
        listed = ", ".join(f"{c.table}: {c.source_rows} -> {c.target_rows}" for c in wrong)
        raise StateError(f"row counts differ after the copy ({listed}); nothing was kept")
    return copied


def _check_columns(target: DbConnection, table: Table) -> None:
    """The target must have every column of the source table (same schema version)."""
    try:
        target.execute(
            f"SELECT {', '.join(map(_quote, table.columns))} FROM {_quote(table.name)} WHERE 1 = 0"
        ).fetchall()
    except Exception as exc:
        raise StateError(
            f"the target has no table {table.name} with the source's columns "
            f"({', '.join(table.columns)}): {exc}. Both must be at the same schema version"
        ) from exc


def _rows(source: DbConnection, table: Table) -> Iterator[Sequence[Any]]:
    """Every row of `table`, streamed: the cursor reads as it goes, never the whole table."""
    columns = ", ".join(map(_quote, table.columns))
    yield from source.execute(f"SELECT {columns} FROM {_quote(table.name)}")


def _batches(rows: Iterator[Sequence[Any]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    while chunk := [tuple(row) for row in islice(rows, size)]:
        yield chunk


def _insert(table: Table) -> str:
    columns = ", ".join(map(_quote, table.columns))
    marks = ", ".join("?" * len(table.columns))
    return f"INSERT INTO {_quote(table.name)} ({columns}) VALUES ({marks})"


def _reset_identity(target: DbConnection, table: Table) -> None:
    """The next id PostgreSQL hands out comes after the largest copied one (an identity
    column's sequence does not move when ids are inserted explicitly). PostgreSQL only."""
    assert table.identity is not None
    target.execute(
        f"""SELECT setval(pg_get_serial_sequence(?, ?),
                          (SELECT COALESCE(max({_quote(table.identity)}), 0) + 1
                           FROM {_quote(table.name)}),
                          false)""",
        (_quote(table.name), table.identity),
    ).fetchall()


def _quote(identifier: str) -> str:
    """An SQL identifier in double quotes (``"end"`` is a keyword): standard on both."""
    return '"' + identifier.replace('"', '""') + '"'
