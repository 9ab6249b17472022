"""What `watcher check` says about a PostgreSQL state database: can it be reached, which
server, which schema version. It only reads: nothing is created or changed."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from watcher.config.schema import DatabaseConfig
from watcher.state.errors import StateError
from watcher.state.postgresql import public_url, schema_version, state_error
from watcher.state.schema import MIGRATIONS, UPGRADE_COMMAND

OLDEST_SERVER = 13  # the portable SQL rules (CONVENTIONS.md) hold from PostgreSQL 13 on
CONNECT_TIMEOUT = 10  # seconds: a host that does not answer is reported, not waited on


@dataclass(frozen=True)
class DatabaseProbe:
    """A successful connection: the server's version and the state's schema version."""

    where: str  # the URL without a password
    server_version: int  # libpq's number: 150004 is 15.4
    schema_version: int  # 0: no tables of ours yet

    @property
    def server(self) -> str:
        return f"PostgreSQL {self.server_version // 10000}.{self.server_version % 10000}"

    @property
    def problem(self) -> str | None:
        """What stops the daemon from using this database, in words; None when it can."""
        current = len(MIGRATIONS)
        if self.server_version // 10000 < OLDEST_SERVER:
            return f"{self.server} is too old; sanctions-watch needs PostgreSQL 13 or newer"
        if self.schema_version > current:
            return (
                f"schema version {self.schema_version}, newer than this sanctions-watch "
                f"understands ({current}): upgrade sanctions-watch"
            )
        if 0 < self.schema_version < current:
            return (
                f"schema version {self.schema_version}, older than this sanctions-watch's "
                f"({current}): run `{UPGRADE_COMMAND}`"
            )
        return None

    @property
    def schema(self) -> str:
        """The schema version in words, for a database the daemon can use."""
        if self.schema_version == 0:
            return (
                f"no tables yet (`{UPGRADE_COMMAND}` creates them, as does the first start; "
                "`watcher state copy --to URL` brings an existing SQLite state)"
            )
        return f"schema version {self.schema_version} (current)"


def probe(database: DatabaseConfig) -> DatabaseProbe:
    """Connect once and read the versions; a `StateError` naming the database and the cause
    (server down, password refused, unknown database) when that fails. The password is read
    now (`DatabaseConfig.password`) and never appears in a message."""
    where = public_url(database.url)
    conninfo = database.conninfo()
    secret = database.password()
    try:
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
            server_version = conn.info.server_version
            return DatabaseProbe(where, server_version, schema_version(conn))
    except psycopg.Error as exc:
        error = state_error(where, exc, secret)
        if error is None:
            raise StateError(f"cannot read the state database {where}: {exc}") from None
        raise error from None  # the driver's exception may carry the connection string
