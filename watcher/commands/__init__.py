"""The `watcher` verbs, one module each; shared click options live here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from watcher.config.schema import DatabaseConfig

_F = TypeVar("_F", bound=Callable[..., Any])

CONFIG_HELP = (
    "Config file (default: $SANCTIONS_WATCH_CONFIG, else /etc/sanctions-watch/config.yaml)."
)


def config_option(dest: str = "config_path", help_text: str = CONFIG_HELP) -> Callable[[_F], _F]:
    """The `--config PATH` option every config-driven verb takes (None: the default path)."""
    return click.option(
        "--config",
        dest,
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=help_text,
    )


PASSWORD_FILE_HELP = (
    "Read the PostgreSQL password from this file instead of the config's database.password_file"
    " or password_env (which, under systemd, exist only inside the service). Neither: "
    "libpq's own PGPASSWORD or ~/.pgpass."
)

password_file_option = click.option(
    "--password-file",
    "password_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=PASSWORD_FILE_HELP,
)


def with_password_file(database: DatabaseConfig, password_file: Path | None) -> DatabaseConfig:
    """`database` with its password read from `password_file` instead, when given."""
    if password_file is None:
        return database
    return database.model_copy(
        update={"password_file": password_file.absolute(), "password_env": None}
    )


def baseline_line(items: int, matches: int = 0) -> str:
    """What a feed's first poll did, said plainly: the existing items are not mailed."""
    among = f" ({matches} match(es) among them)" if matches else ""
    return (
        f"first poll: {items} item(s) recorded as the baseline; nothing is mailed for them"
        f"{among}. Only items that appear from now on are mailed (`backfill: true` on a feed "
        "mails its existing items too)"
    )
