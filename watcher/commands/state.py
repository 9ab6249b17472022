"""`watcher state`: the state database itself (schema migrations; moving SQLite to PostgreSQL).

    $ watcher state upgrade --config /etc/sanctions-watch/config.yaml
    PostgreSQL postgresql://watcher@db.example.org/sanctions: schema version 6 -> 7
    $ watcher state copy --config /etc/sanctions-watch/config.yaml \\
          --to postgresql://watcher@db.example.org/sanctions --password-file /etc/.../db-password
    copied /var/lib/sanctions-watch/state.sqlite3 into postgresql://watcher@db.example.org/...
      feeds            42 rows
      ...
"""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from watcher.commands import config_option, password_file_option, with_password_file
from watcher.config.schema import Config, DatabaseConfig
from watcher.config.settings import load_config, resolved_state_dir
from watcher.errors import WatcherError
from watcher.state.errors import StateError, StateSchemaOutdated
from watcher.state.interface import StateStore
from watcher.state.lock import StateLock
from watcher.state.open import open_state
from watcher.state.sqlite import DB_FILE, Store


@click.group("state")
def command() -> None:
    """The state database: apply schema migrations, or copy a SQLite state into PostgreSQL."""


@command.command("upgrade")
@config_option()
@password_file_option
def upgrade(config_path: Path | None, password_file: Path | None) -> None:
    """Apply the schema migrations this release brings to the configured state database
    (PostgreSQL with a `database:` section, else the SQLite file in state_dir).

    Prints the version before and after. Safe to run twice, and from two hosts at once: the
    second finds nothing to do. The daemon refuses to start on an older schema until this ran.
    """
    config = _with_password(load_config(config_path), password_file)
    new = _is_new(config)
    store = open_state(config, for_upgrade=True)  # a new database is created at once
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    kind = "SQLite" if config.database is None else "PostgreSQL"
    if new:
        click.echo(f"{kind} {store.where}: schema version 0 -> {after} (tables created)")
    elif before == after:
        click.echo(f"{kind} {store.where}: schema version {after}, already current")
    else:
        click.echo(f"{kind} {store.where}: schema version {before} -> {after}")


@command.command("copy")
@config_option()
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The PostgreSQL database to copy into: postgresql://USER@HOST:PORT/DATABASE, without "
    "the password. It must hold no state yet.",
)
@password_file_option
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Rows per INSERT batch (bounds the memory used, whatever the tables' size).",
)
def copy(config_path: Path | None, url: str, password_file: Path | None, batch: int) -> None:
    """Copy the SQLite state in state_dir into a new PostgreSQL database.

    Every table (feeds, articles, matches, the mail outbox, alert and list state, list
    changes, article texts, ...) is copied in one transaction, ids kept (queued mail keeps its
    Message-ID: nothing already sent goes out again), and each table's row count is checked
    and printed. A database that already holds state is refused; a failed copy leaves the
    database empty. Stop the service first. The password comes from --password-file, else
    the config's database: section, else PGPASSWORD / ~/.pgpass. The SQLite file is kept
    (brought to the current schema version first if it was older).
    """
    from watcher.state.copy import (  # noqa: PLC0415 -- psycopg only for PostgreSQL users
        connection,
        copy_tables,
        refuse_non_empty,
        source_tables,
    )

    config = load_config(config_path)
    target = _target(url, config, password_file)
    state_dir = resolved_state_dir(config)
    if not (state_dir / DB_FILE).is_file():
        raise WatcherError(
            f"no SQLite state to copy: {state_dir / DB_FILE} does not exist (set state_dir in "
            "the config, or STATE_DIRECTORY=/var/lib/sanctions-watch for the service's)"
        )
    with StateLock(state_dir):  # no daemon may write the source meanwhile
        source = Store(state_dir, for_upgrade=True)
        try:
            before, after = source.upgrade()
            if before != after:
                click.echo(f"SQLite {source.where}: schema version {before} -> {after} first")
            store = _open_target(config.model_copy(update={"database": target}))
            try:
                with source.snapshot() as read, store.transaction() as write:
                    tables = source_tables(connection(read))
                    refuse_non_empty(connection(write), tables, store.where)
                    copied = copy_tables(connection(read), connection(write), tables, batch=batch)
            finally:
                store.close()
        finally:
            source.close()
    click.echo(f"copied {source.where} into {store.where} (row counts checked):")
    width = max((len(c.table) for c in copied), default=0)
    for item in copied:
        click.echo(f"  {item.table:<{width}}  {item.target_rows:>9} rows")
    click.echo(
        "Now add the database: section to the config (see deploy/INSTALL.md) and start the "
        "service; the SQLite file is no longer used."
    )


def _is_new(config: Config) -> bool:
    """Whether the state database holds no tables of ours yet."""
    if config.database is None:
        return not (resolved_state_dir(config) / DB_FILE).exists()
    from watcher.state.probe import probe  # noqa: PLC0415 -- psycopg only for PostgreSQL

    return probe(config.database).schema_version == 0


def _with_password(config: Config, password_file: Path | None) -> Config:
    if password_file is None:
        return config
    if config.database is None:
        raise click.UsageError(
            "--password-file is for a PostgreSQL state (the database: section), which this "
            "config does not have"
        )
    return config.model_copy(
        update={"database": with_password_file(config.database, password_file)}
    )


def _target(url: str, config: Config, password_file: Path | None) -> DatabaseConfig:
    """--to as a `DatabaseConfig`, with the password from --password-file, else the config's
    database section (password_file or password_env), else libpq's own (PGPASSWORD)."""
    source = config.database
    try:
        database = DatabaseConfig(
            url=url,
            password_file=source.password_file if source else None,
            password_env=source.password_env if source else None,
        )
    except ValidationError as exc:  # never repeat the input: it may hold a password
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise click.BadParameter(reasons, param_hint="--to") from None
    return with_password_file(database, password_file)


def _open_target(config: Config) -> StateStore:
    """The target, its schema created when it is new; one of an older version has been used
    already, which the copy refuses as it refuses any database holding state."""
    try:
        return open_state(config)
    except StateSchemaOutdated as exc:
        raise StateError(
            f"{exc}. It already holds a state; copy only into a new, empty database"
        ) from None
