"""The `watcher` verbs, one module each; shared click options live here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

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


def baseline_line(items: int, matches: int = 0) -> str:
    """What a feed's first poll did, said plainly: the existing items are not mailed."""
    among = f" ({matches} match(es) among them)" if matches else ""
    return (
        f"first poll: {items} item(s) recorded as the baseline; nothing is mailed for them"
        f"{among}. Only items that appear from now on are mailed (`backfill: true` on a feed "
        "mails its existing items too)"
    )
