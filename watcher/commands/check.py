"""`watcher check`: validate the config file, its watchlists and ignore lists, and say so.

    $ watcher check --config /etc/sanctions-watch/config.yaml
    ok: 3 lists, 41 entries, 132 names, 6 feeds
    $ watcher check --watchlists watchlists/
    ok: 3 lists, 41 entries, 132 names

Every problem is printed on its own line as ``file:line:col: path: message`` (exit status 1),
not only the first: the config file's, then those of every watchlist and ignore list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import click

from watcher.commands import config_option
from watcher.config.ignore import load_ignore
from watcher.config.schema import Config
from watcher.config.settings import config_path, load_config, load_watchlists
from watcher.config.watchlist import Watchlist
from watcher.errors import Problem, ValidationFailed, WatcherError

T = TypeVar("T")


@click.command("check")
@config_option("config_file")
@click.option(
    "--watchlists",
    "watchlists_only",
    is_flag=True,
    help="Check the watchlist files/directories given as PATHS, without a config file.",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def command(config_file: Path | None, watchlists_only: bool, paths: tuple[Path, ...]) -> None:
    """Validate the config, watchlists and ignore lists; print every problem found.

    Exits 0 and prints a one-line summary when everything is valid, 1 otherwise.
    """
    if paths and not watchlists_only:
        raise click.UsageError("PATHS are watchlists: use `watcher check --watchlists PATH...`")
    if watchlists_only and not paths:
        raise click.UsageError("--watchlists needs at least one watchlist file or directory")
    problems: list[Problem] = []
    if watchlists_only:
        watchlists = _collect(problems, lambda: load_watchlists(paths)) or []
        summary = _summary(watchlists)
    else:
        summary = _check_config(config_file, problems)
    if problems:
        for problem in problems:
            click.echo(str(problem))
        raise WatcherError(f"{_count(len(problems), 'problem')} found")
    click.echo(f"ok: {summary}")


def _check_config(config_file: Path | None, problems: list[Problem]) -> str:
    """Validate the config and everything it names, adding to `problems`; the summary."""
    config = _collect(problems, lambda: load_config(config_file))
    if config is None:
        return ""
    if not config.watchlists and not config.lists:
        path = str(config_path(config_file))
        problems.append(
            Problem(
                path,
                0,
                0,
                "watchlists",
                "no watchlists configured; add 'watchlists: [path/to/list.yaml or a directory]'",
            )
        )
    watchlists = _collect(problems, lambda: load_watchlists(config.watchlists)) or []
    rules = _check_ignore_files(config, problems)
    parts = [_summary(watchlists), _count(len(config.feeds), "feed")]
    if rules is not None:
        parts.append(_count(rules, "ignore rule"))
    if config.lists:  # official lists kept current; their files are checked as they arrive
        parts.append(_count(len(config.lists), "official list") + " kept current (lists:)")
    return ", ".join(parts)


def _check_ignore_files(config: Config, problems: list[Problem]) -> int | None:
    """The number of ignore rules, or None when no ignore files are configured."""
    if not config.matching.ignore:
        return None
    rules = 0
    for path in config.matching.ignore:
        loaded = _collect(problems, partial(load_ignore, path))
        rules += len(loaded or ())
    return rules


def _collect(problems: list[Problem], load: Callable[[], T]) -> T | None:
    """`load()`, or None with its problems added to `problems`."""
    try:
        return load()
    except ValidationFailed as exc:
        problems += exc.problems
        return None


def _summary(watchlists: Sequence[Watchlist]) -> str:
    """``2 lists, 18 entries, 53 names`` (names: primary names plus strong aliases)."""
    entries = [entry for watchlist in watchlists for entry in watchlist.entries]
    names = sum(len(entry.names) for entry in entries)
    return ", ".join(
        (
            _count(len(watchlists), "list"),
            _count(len(entries), "entry", "entries"),
            _count(names, "name"),
        )
    )


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
