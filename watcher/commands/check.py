"""`watcher check`: validate the config file, its watchlists and ignore lists, and say so.

    $ watcher check --config /etc/sanctions-watch/config.yaml
    ok: 3 lists, 41 entries, 132 names, 6 feeds
    $ watcher check --watchlists watchlists/
    ok: 3 lists, 41 entries, 132 names

Every problem is printed on its own line as ``file:line:col: path: message`` (exit status 1),
not only the first: the config file's, then those of every watchlist and ignore list. With a
``database:`` section it also connects to PostgreSQL and says which server and schema version
it found (or why it could not connect), never printing the password:

    database: postgresql://watcher@db.example.org/sanctions: connected, PostgreSQL 16.4,
    schema version 7 (current)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import click

from watcher.commands import config_option, password_file_option, with_password_file
from watcher.config.ignore import load_ignore
from watcher.config.schema import Config, DatabaseConfig
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
@password_file_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def command(
    config_file: Path | None,
    watchlists_only: bool,
    password_file: Path | None,
    paths: tuple[Path, ...],
) -> None:
    """Validate the config, watchlists and ignore lists; print every problem found.

    With a `database:` section, also connect to PostgreSQL and report the server and
    schema versions, or why the connection failed (naming the database and the cause).

    Exits 0 and prints a one-line summary when everything is valid (and the database can be
    used), 1 otherwise.
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
        summary = _check_config(config_file, problems, password_file)
    if problems:
        for problem in problems:
            click.echo(str(problem))
        raise WatcherError(f"{_count(len(problems), 'problem')} found")
    click.echo(f"ok: {summary}")


def _check_config(
    config_file: Path | None, problems: list[Problem], password_file: Path | None = None
) -> str:
    """Validate the config and everything it names, adding to `problems`; the summary."""
    config = _collect(problems, lambda: load_config(config_file))
    if config is None:
        return ""
    if config.database is not None:
        database = with_password_file(config.database, password_file)
        _check_database(database, str(config_path(config_file)), problems)
    elif password_file is not None:
        raise click.UsageError("--password-file is for the database: section, which is not set")
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


def _check_database(database: DatabaseConfig, file: str, problems: list[Problem]) -> None:
    """Connect to the configured PostgreSQL and say what was found (a line starting
    ``database:``), or add the reason it cannot be used to `problems`."""
    from watcher.state.probe import probe  # noqa: PLC0415 -- psycopg only for PostgreSQL

    try:
        found = probe(database)
    except WatcherError as exc:  # unreachable, refused, password file missing
        problems.append(Problem(file, 0, 0, "database", str(exc)))
        return
    said = f"{found.where}: connected, {found.server}"
    if found.problem is not None:
        problems.append(Problem(file, 0, 0, "database", f"{said}, {found.problem}"))
    else:
        click.echo(f"database: {said}, {found.schema}")


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
