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
