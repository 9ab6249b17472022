"""Open the state the config names: SQLite in ``state_dir`` (no ``database:``, the embedded
default) or the PostgreSQL database of ``database.url``."""

from __future__ import annotations

from watcher.config.schema import Config
from watcher.config.settings import resolved_state_dir
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store


def open_state(config: Config, *, for_upgrade: bool = False) -> StateStore:
    """The state database of `config`, at the current schema version. A new, empty database
    is created at it; an older one raises `StateSchemaOutdated` (run `watcher state upgrade`)
    unless `for_upgrade` (then call `StateStore.upgrade`); a newer one is refused."""
    if config.database is None:
        return Store(resolved_state_dir(config), for_upgrade=for_upgrade)
    # psycopg is imported only by those who use PostgreSQL
    from watcher.state.postgresql import PostgresStore, public_url  # noqa: PLC0415

    return PostgresStore(
        config.database.conninfo(), public_url(config.database.url), for_upgrade=for_upgrade
    )
