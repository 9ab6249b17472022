"""The PostgreSQL backend: one state shared by several instances on several hosts.

Chosen when the config has a ``database:`` section (`watcher.state.open.open_state`). The
decisions, and why:

- **Synchronous psycopg 3 with its `ConnectionPool`, not the async API.** The state interface
  (`StateStore`, `Transaction`) is synchronous because sqlite3 is. Long state work (digests,
  alerts, back-screening) already runs in worker threads; what stays on the event loop is a
  poll's own units, pipelined to one or two round trips (`bench/bench_poll.py`: within 1.5x of
  SQLite). An async driver would need a second, async `Transaction` (every method twice) or a
  loop-in-thread bridge, for nothing the bench could measure. Each `transaction()` /
  `snapshot()` borrows a pooled connection for its duration, so one `PostgresStore` is safe
  to share across the daemon's threads and `another_connection()` is a view on the same
  pool.
- **The same `Transaction` as SQLite.** It calls ``execute(sql, params)`` with ``?``
  placeholders; `_Adapter` rewrites them to ``$1``, ``$2``, ... (cached per statement text;
  the connections' cursors are `psycopg.RawCursor`s, so psycopg parses no ``%s``), turns the
  marker ``/*lock-rows*/`` into ``FOR UPDATE SKIP LOCKED`` (SQLite reads a comment), and hands
  rows that read like `sqlite3.Row` (by index, by name, ``keys()``). Text parameters lose any
  NUL character (PostgreSQL ``text`` refuses ``\\x00``; feed text may carry one): it becomes
  U+FFFD, so a broken feed item can never make a write fail.
- **Write units serialize as SQLite's ``BEGIN IMMEDIATE`` does**: ``BEGIN`` then
  ``pg_advisory_xact_lock(WRITE_LOCK)``, across processes and hosts, so every read-then-write
  in `Transaction` stays correct with two instances. The lock goes with the transaction (a
  crashed instance holds nothing). Snapshots are ``REPEATABLE READ READ ONLY``: one view,
  no lock, never blocking a writer.
- **Few round trips** (each one waits on the server; polling 1,000 feeds does thousands of
  units, `bench/bench_poll.py`): a unit runs in psycopg's pipeline mode, so its BEGIN (and
  the lock) go out with its first statements and it waits only where it reads a result and
  at its end: a poll's write unit is two round trips, a 304's one. Rows go in multi-row
  INSERTs (`Transaction`), not one execution per row. No check query when a connection is
  borrowed from the pool: one the server closed is known from its socket.
- **Schema**: the same `MIGRATIONS`, mapped by `pg_ddl` (``INTEGER PRIMARY KEY`` -> identity,
  ``INTEGER`` -> ``BIGINT``, ``REAL`` -> ``DOUBLE PRECISION`` (unix times need 53 bits),
  ``BLOB`` -> ``BYTEA``, ``TEXT`` -> ``TEXT COLLATE "C"``: byte order as SQLite compares, so
  every ``ORDER BY`` and ``>`` on text agrees between backends whatever the database's
  locale). The version sits in the one-row table ``watcher_schema``. ``casefold(text)`` is an
  SQL function folding as Unicode does (``lower()`` under the ICU root collation when the
  server has ICU), so the digest's ``ORDER BY casefold(name)`` is SQLite's.
- **Errors**: an unreachable server, a refused password, an unknown role or database raise
  `StateUnavailable` (exit 69) naming the database by `public_url` (never the password) and
  what to check.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg.errors
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from watcher.logs import kv
from watcher.state.errors import (
    StateError,
    StateNotWritable,
    StateStoreFailed,
    StateUnavailable,
)
from watcher.state.interface import DbCursor
from watcher.state.schema import MIGRATIONS, newer_schema, outdated_schema, split_sql
from watcher.state.transaction import Transaction

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of write transactions: one fixed 64-bit number ("swstate1")
WRITE_LOCK = int.from_bytes(b"swstate1", "big")
SCHEMA_TABLE = "watcher_schema"
LOCK_ROWS = "/*lock-rows*/"  # in claim subqueries: skip rows another instance holds
_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"
_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
UNREACHABLE_WAIT = 1.0  # seconds a unit waits for a connection while the server is down


# --- names and messages -------------------------------------------------------------------


def public_url(url: str) -> str:
    """The URL without its password (in the userinfo or a ``password=`` parameter): what
    messages and logs name."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL (a broken IPv6 address): cut what may be a password
        return re.sub(r"(?<=//)([^:/@]*):[^@/]*@", r"\1@", url).split("?", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _hint(detail: str) -> str:
    text = detail.lower()
    if "password" in text or "authentication" in text:
        return (
            "check the user name in database.url and the password in database.password_file "
            "or database.password_env (and the server's pg_hba.conf)"
        )
    if "does not exist" in text:
        return (
            "check the role and database names in database.url; create the database first "
            "(createdb -O USER NAME)"
        )
    return (
        "check that the server is running and reachable at that host and port (firewall, "
        "listen_addresses, pg_hba.conf) and that database.url names it"
    )


# SQLSTATE classes and codes that mean the server or the session is out of reach
_UNAVAILABLE_CLASSES = ("08", "28", "3D")  # connection, authorization, unknown database
_UNAVAILABLE_CODES = ("57P01", "57P02", "57P03", "53300")  # shutdown, starting, too many
_FULL_CODES = ("53100", "58030")  # disk full, I/O error
_DENIED_CODES = ("42501", "25006")  # insufficient privilege, read-only transaction


def state_error(where: str, exc: Exception, secret: str | None = None) -> StateError | None:
    """The user-facing error for a failure of the database at `where` (None: not about the
    database itself, a bug). `secret` is scrubbed from the driver's text, should it echo it."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        detail = detail.replace(secret, "***")
    code = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, PoolTimeout) or (
        isinstance(exc, psycopg.OperationalError)
        and (not code or code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES)
    ):
        return StateUnavailable(
            f"cannot use the state database {where}: {detail}. {_hint(detail).capitalize()}"
        )
    if code in _FULL_CODES:
        return StateStoreFailed(
            f"could not store to the state database {where}: {detail}. Free space on the "
            "database server; nothing already stored is lost, and what was not stored is "
            "fetched again on the next poll"
        )
    if code in _DENIED_CODES:
        return StateNotWritable(
            f"cannot write the state database {where}: {detail}. The role in database.url "
            "must own the database's tables (or hold INSERT, UPDATE, DELETE and CREATE on "
            "them), and the server must not be a read-only standby"
        )
    return None


# --- what Transaction talks to ---------------------------------------------------------------

_PLACEHOLDER = re.compile(r"""('(?:[^']|'')*'|"[^"]*"|--[^\n]*)|\?""")


@functools.lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """A portable statement in PostgreSQL's own form: ``?`` -> ``$1``, ``$2``, ... (outside
    literals and comments), `LOCK_ROWS` -> ``FOR UPDATE SKIP LOCKED``. Run on a
    `psycopg.RawCursor`, which sends it as it is: psycopg's own ``%s`` parsing costs more
    than the round trip for a multi-row INSERT, and it caches no statement of over 50
    parameters."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(
        lambda found: found.group(1) or f"${next(numbers)}",
        sql.replace(LOCK_ROWS, "FOR UPDATE SKIP LOCKED"),
    )


def _clean(params: Sequence[Any]) -> Sequence[Any]:
    """PostgreSQL text refuses NUL: U+FFFD in its place (the rest of the text survives)."""
    if any(isinstance(p, str) and "\x00" in p for p in params):
        return [p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params]
    return params


class PgRow:
    """One row, read as `sqlite3.Row` reads: by index, by column name, ``keys()``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=False))!r})"


def pg_row(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    """psycopg row factory making `PgRow`s (the first of two same-named columns wins)."""
    index: dict[str, int] = {}
    for position, column in enumerate(cursor.description or ()):
        index.setdefault(column.name, position)
    return functools.partial(PgRow, index)


class _Adapter:
    """A `DbConnection` over one psycopg connection in pipeline mode (see the module
    docstring): statements are sent without waiting for their results; the unit waits only
    where it reads one (`_Pipelined`) and at its end."""

    def __init__(self, conn: psycopg.Connection[PgRow], pipeline: psycopg.Pipeline) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self.syncs = 0  # how many times this unit has waited for its results so far

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> DbCursor:
        return _Pipelined(self._conn.execute(pg_sql(sql), _clean(parameters)), self)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> DbCursor:
        cursor = self._conn.cursor()
        cursor.executemany(pg_sql(sql), [_clean(p) for p in seq_of_parameters])
        return cursor

    def wait_for(self, sent_at: int) -> None:
        """Have the results of the statements sent before sync number `sent_at` arrived."""
        if self.syncs == sent_at:
            self._pipeline.sync()
            self.syncs += 1


class _Pipelined:
    """A statement sent in pipeline mode. psycopg waits for its rows when they are read, but
    gives its row count at once, before the server has answered: here that waits too."""

    __slots__ = ("_adapter", "_cursor", "_sent_at")

    def __init__(self, cursor: psycopg.Cursor[PgRow], adapter: _Adapter) -> None:
        self._cursor = cursor
        self._adapter = adapter
        self._sent_at = adapter.syncs

    @property
    def rowcount(self) -> int:
        self._adapter.wait_for(self._sent_at)
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


def _ended(tx: Transaction, end: str) -> Iterator[Transaction]:
    """Yield `tx`, then send `end` (COMMIT or ROLLBACK); ROLLBACK when its user raised. In
    pipeline mode any statement may raise an earlier one's error: only while rolling back
    after another error is that one ignored."""
    try:
        yield tx
    except BaseException:
        with suppress(psycopg.Error):
            tx.connection.execute("ROLLBACK")
        raise
    tx.connection.execute(end)


def _closed_by_server(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server has closed this idle connection, known without a round trip:
    reads what its socket holds (the server's last message, then the end of the stream;
    nothing at all on a live connection)."""
    try:
        conn.pgconn.consume_input()
        conn.pgconn.consume_input()
    except psycopg.OperationalError:
        return True
    return conn.broken


# --- schema -------------------------------------------------------------------------------

_DDL_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # never float4: unix times need 53 bits
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),  # byte order, as SQLite compares text
)


def pg_ddl(statement: str) -> str:
    """A migration statement (SQLite's types, see CONVENTIONS.md) in PostgreSQL's types."""
    for pattern, replacement in _DDL_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


_CASEFOLD = """CREATE OR REPLACE FUNCTION casefold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(value {collate}) $$"""


def _create_functions(conn: psycopg.Connection[Any], where: str) -> None:
    """``casefold(text)``: Unicode lower case whatever the database's locale (SQLite has it
    as Python's str.casefold), so the digest's SQL order is the same on both backends."""
    icu = conn.execute("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").fetchone()
    conn.execute(_CASEFOLD.format(collate='COLLATE "und-x-icu"' if icu else ""))
    folded = conn.execute("SELECT casefold('ÉÇ')").fetchone()
    if folded is not None and folded[0] != "éç":
        log.warning(
            "%s",
            kv(
                event="state-schema",
                database=where,
                warning="no ICU and a C ctype: casefold() folds only ASCII, so non-ASCII "
                "names sort apart in digests (use a server built with ICU or a UTF-8 ctype)",
            ),
        )


# --- the store ----------------------------------------------------------------------------


class PostgresStore:
    """The state in PostgreSQL (a `watcher.state.interface.StateStore`), shared by threads.

    `conninfo` carries the password (libpq URL or key=value string); `where` is what messages
    name (`public_url`). An older schema is refused with `StateSchemaOutdated` unless opened
    ``for_upgrade`` (then call `upgrade`)."""

    def __init__(
        self,
        conninfo: str,
        where: str,
        *,
        for_upgrade: bool = False,
        max_connections: int = 8,
        connect_timeout: float = 10.0,
        busy_timeout: float = 10.0,
    ) -> None:
        self.where = where
        try:
            secret = psycopg.conninfo.conninfo_to_dict(conninfo).get("password")
        except psycopg.ProgrammingError:  # its text may quote the password: not shown
            raise StateError(
                f"database.url {where} is not a valid PostgreSQL connection URL: write it as "
                "postgresql://USER@HOST:PORT/DATABASE (options as ?name=value)"
            ) from None
        self._secret = None if secret is None else str(secret)
        self._kwargs: dict[str, Any] = {
            "autocommit": True,  # BEGIN/COMMIT are explicit, as on SQLite
            "row_factory": pg_row,
            "cursor_factory": psycopg.RawCursor,  # ``$1`` placeholders: see `pg_sql`
            "connect_timeout": max(1, round(connect_timeout)),
            "application_name": "sanctions-watch",
        }
        with self._translated(), psycopg.connect(conninfo, **self._kwargs) as conn:
            self._check_schema(conn, for_upgrade=for_upgrade)
        self._pool: ConnectionPool[psycopg.Connection[PgRow]] = ConnectionPool(
            conninfo,
            kwargs=self._kwargs,
            min_size=1,
            max_size=max_connections,
            open=False,
            timeout=busy_timeout,  # waiting for a free connection (the server's own lock
            # waits do not count): only an unreachable server makes it run out
            name="sanctions-watch-state",
        )
        self._pool.open()
        self._owner = True
        # the server was unreachable at the last try: the next units wait UNREACHABLE_WAIT,
        # not busy_timeout, for a connection (the event loop must not stall on every unit
        # of an outage), until one gets through
        self._unreachable = False

    # --- units of work --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work, serialized with every other writer on every host."""
        with self._translated(), self._begun("BEGIN", _LOCK) as db:
            yield from _ended(Transaction(db, self.where), "COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        """A read-only unit of work: one consistent view, no lock, blocking no writer."""
        with self._translated(reading=True), self._begun(_SNAPSHOT) as db:
            yield from _ended(Transaction(db, self.where), "ROLLBACK")  # nothing to keep

    @contextmanager
    def _begun(self, *begin: str) -> Iterator[_Adapter]:
        """A pooled connection in pipeline mode, its `begin` statements sent: they go out
        with the unit's first statements, which wait for the server only where a result
        is read (`_Adapter`), and the unit's end waits for all. A statement that failed
        raises there at the latest (its own error), and the unit is rolled back.

        No check query on every checkout (a round trip per unit of work): a connection the
        server closed while it sat in the pool (a restart, an idle timeout) is known by
        what its socket already holds (`_closed_by_server`) and discarded; the next one is
        tried (after a restart every pooled one is dead: at most the pool's size, then a
        new one)."""
        attempts = (self._pool.max_size or 1) + 1
        for attempt in range(attempts):
            wait = UNREACHABLE_WAIT if self._unreachable else None
            with self._pool.connection(timeout=wait) as conn:
                self._unreachable = False
                if _closed_by_server(conn) and attempt < attempts - 1:
                    continue  # the pool discards the broken connection
                try:
                    with conn.pipeline() as pipeline:
                        for statement in begin:
                            conn.execute(statement)
                        yield _Adapter(conn, pipeline)
                except BaseException:
                    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        with suppress(psycopg.Error):
                            conn.execute("ROLLBACK")  # the failure surfaced after the end
                    raise
                return

    @contextmanager
    def _translated(self, *, reading: bool = False) -> Iterator[None]:
        """Driver errors about the database itself become `StateError`s naming it (a write
        inside a snapshot is a bug, not the server's fault: it stays the driver's error)."""
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            error = state_error(self.where, exc, self._secret)
            self._unreachable = isinstance(error, StateUnavailable)
            if error is None or (
                reading and isinstance(exc, psycopg.errors.ReadOnlySqlTransaction)
            ):
                raise
            raise error from None  # the driver's exception may carry the conninfo

    def another_connection(self) -> PostgresStore:
        """This store for another thread: the pool is thread-safe. Closing the view leaves
        the pool open."""
        view = object.__new__(PostgresStore)
        view.__dict__.update(self.__dict__)
        view._owner = False
        return view

    def close(self) -> None:
        if self._owner:
            self._pool.close()

    # --- schema ---------------------------------------------------------------------------

    def _check_schema(self, conn: psycopg.Connection[PgRow], *, for_upgrade: bool) -> None:
        version = schema_version(conn)
        if version == 0:  # new: created at the current version, under the write lock
            with _locked(conn):
                if schema_version(conn) == 0:
                    _migrate(conn, 0, self.where)
            version = schema_version(conn)
        if version > len(MIGRATIONS):
            raise newer_schema(self.where, version)
        if version < len(MIGRATIONS) and not for_upgrade:
            raise outdated_schema(self.where, version)

    def upgrade(self) -> tuple[int, int]:
        """Apply the missing migrations in one transaction under the write lock: (from, to).
        Another host running it at once waits, then finds nothing to do."""
        with self._translated(), self._pool.connection() as conn, _locked(conn):
            version = schema_version(conn)
            if version > len(MIGRATIONS):
                raise newer_schema(self.where, version)
            _migrate(conn, version, self.where)
            return version, len(MIGRATIONS)


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version this backend records (0: a new database, no table of ours yet),
    read on any psycopg connection (no placeholders): the store's, or `watcher check`'s
    (`watcher.state.probe`).

    Asked of ``pg_tables`` (read with the statement's own snapshot), not ``to_regclass``:
    the latter answers from the session's catalog cache, which a transaction that waited
    for the write lock does not refresh, so the second of two instances starting at once on
    a new database saw no schema after the first had created it, and failed creating it
    again (DuplicateTable; found by tests/test_ha_chaos.py)."""
    exists = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_tables"
        f" WHERE schemaname = current_schema() AND tablename = '{SCHEMA_TABLE}'"
    ).fetchone()
    if exists is None or not exists[0]:
        return 0
    row = conn.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


@contextmanager
def _locked(conn: psycopg.Connection[PgRow]) -> Iterator[None]:
    conn.execute(f"BEGIN; {_LOCK}")
    try:
        yield
    except BaseException:
        with suppress(psycopg.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate(conn: psycopg.Connection[Any], version: int, where: str) -> None:
    """Bring the schema from `version` to the current one (inside the caller's transaction:
    PostgreSQL's DDL is transactional, so a failure leaves the old version whole)."""
    _create_functions(conn, where)
    for script in MIGRATIONS[version:]:
        for statement in split_sql(script):
            conn.execute(pg_ddl(statement))  # no parameters: no placeholder parsing
    conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version BIGINT NOT NULL)")
    conn.execute(f"DELETE FROM {SCHEMA_TABLE}")
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES ({len(MIGRATIONS)})")
