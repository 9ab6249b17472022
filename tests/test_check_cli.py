"""`watcher check`, run as a real subprocess: summary and exit 0, or every problem and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from watcher.config.schema import CONFIG_ENV
from watcher.config.settings import load_watchlists

REPO = Path(__file__).resolve().parents[1]


def watcher(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != CONFIG_ENV} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "watcher", "check", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    """A valid config: two watchlists in a directory, three feeds, one ignore file."""
    write(
        tmp_path / "lists" / "energy.yaml",
        """
        entries:
          - {id: rosneft, name: Rosneft, aliases: [NK Rosneft, Роснефть]}
          - {id: lukoil, name: Lukoil}
        """,
    )
    write(
        tmp_path / "lists" / "people.yaml",
        """
        defaults: {type: person}
        entries:
          - {id: putin, name: Vladimir Putin, aliases: [Putin]}
        """,
    )
    write(
        tmp_path / "ignore.yaml",
        """
        ignore:
          - {phrase: Justice League, reason: film title}
          - {entry: people/putin, phrase: Rasputin}
        """,
    )
    return write(
        tmp_path / "config.yaml",
        """
        watchlists: [lists]
        matching: {ignore: [ignore.yaml]}
        feeds:
          - url: https://example.org/a.rss
          - url: https://example.org/b.rss
          - url: file:///srv/c.xml
        """,
    )


def test_valid_config_prints_a_summary_and_exits_0(setup: Path) -> None:
    result = watcher("--config", str(setup))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "ok: 2 lists, 3 entries, 6 names, 3 feeds, 2 ignore rules\n",
        "",
    )


def test_config_is_found_through_the_environment(setup: Path) -> None:
    result = watcher(env={CONFIG_ENV: str(setup)})
    assert (result.returncode, result.stdout) == (
        0,
        "ok: 2 lists, 3 entries, 6 names, 3 feeds, 2 ignore rules\n",
    )


def test_every_problem_in_every_file_is_printed_and_exit_is_1(setup: Path) -> None:
    lists = setup.parent / "lists"
    write(lists / "energy.yaml", "entries:\n  - {id: rosneft, name: Rosneft, severity: huge}\n")
    write(lists / "people.yaml", "entries:\n  - id: putin\n    name: !!python/name:os.system\n")
    write(setup.parent / "ignore.yaml", "ignore:\n  - {reason: no phrase or entry}\n")
    result = watcher("--config", str(setup))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{lists}/energy.yaml:2:44: entries[0].severity: 'huge' is not allowed; use one of "
        "'low', 'medium' or 'high'",
        f"{lists}/people.yaml:3:11: YAML tag !!python/name:os.system is not allowed; remove it "
        "(only plain text, numbers, true/false, lists and mappings are accepted)",
        f"{setup.parent}/ignore.yaml:2:5: ignore[0]: a rule needs a phrase, an entry, or both",
    ]
    assert result.stderr == "error: 3 problems found\n"


def test_config_problems_are_printed_with_positions(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.yaml",
        """
        watchlists: [nowhere]
        polling: {interval: often}
        """,
    )
    result = watcher("--config", str(config))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{config}:1:14: watchlists[0]: {tmp_path}/nowhere does not exist; fix the path "
        "(relative paths are resolved against the config file's directory)",
        f"{config}:2:21: polling.interval: 'often' is not a duration; write e.g. 30s, 15m, 1h "
        "or 1h30m",
    ]


def test_config_without_watchlists_is_a_problem(tmp_path: Path) -> None:
    config = write(tmp_path / "config.yaml", "feeds: [{url: https://example.org/rss}]\n")
    result = watcher("--config", str(config))
    assert (result.returncode, result.stdout) == (
        1,
        f"{config}: watchlists: no watchlists configured; add "
        "'watchlists: [path/to/list.yaml or a directory]'\n",
    )


def test_missing_config_file(tmp_path: Path) -> None:
    result = watcher("--config", str(tmp_path / "absent.yaml"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: config file {tmp_path}/absent.yaml not found "
        f"(pass --config PATH or set {CONFIG_ENV})\n"
    )


def test_watchlists_without_a_config(setup: Path) -> None:
    result = watcher("--watchlists", str(setup.parent / "lists"))
    assert (result.returncode, result.stdout) == (0, "ok: 2 lists, 3 entries, 6 names\n")
    result = watcher("--watchlists", str(setup.parent / "lists" / "energy.yaml"), "/nonexistent")
    assert (result.returncode, result.stdout) == (
        1,
        "/nonexistent: watchlist file or directory not found\n",
    )


def test_the_example_watchlists_pass() -> None:
    watchlists = load_watchlists([REPO / "watchlists"])
    entries = [e for w in watchlists for e in w.entries]
    names = sum(len(e.names) for e in entries)
    result = watcher("--watchlists", str(REPO / "watchlists"))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"ok: {len(watchlists)} lists, {len(entries)} entries, {names} names\n",
        "",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lists/"], "PATHS are watchlists: use `watcher check --watchlists PATH...`"),
        (["--watchlists"], "--watchlists needs at least one watchlist file or directory"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = watcher(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_names_that_cannot_work_are_reported_at_their_line(tmp_path: Path) -> None:
    write(tmp_path / "l.yaml", "entries:\n  - id: a\n    name: Acme\n    aliases: [A, '!!!']\n")
    run = watcher("--watchlists", str(tmp_path))
    assert run.returncode == 1
    assert "l.yaml:4:15: entries[0].aliases[0]: 'A' is a single character" in run.stdout
    assert "l.yaml:4:18: entries[0].aliases[1]: '!!!' has no letters or digits" in run.stdout
