"""Failures that must not look like success: a damaged, truncated or unwritable state database,
a full disk, and a run that could poll no feed. Each exits with its own code (sysexits.h) and
one line naming the file and what to do, never a traceback.

Real SQLite files throughout. The full disk is SQLite's own limit on a real file
(``PRAGMA max_page_count`` set where the product connects); the read-only state directory is
real permissions (as root, without the capabilities that bypass them).
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from feedserver import FeedServer, rss

from watcher.cli import main
from watcher.errors import EX_CANTCREAT, EX_DATAERR, EX_IOERR, EX_UNAVAILABLE
from watcher.state.errors import StateCorrupt
from watcher.state.sqlite import DB_FILE, Store

ROOT = Path(__file__).resolve().parents[1]

WATCHLIST = """\
list: t
entries:
  - id: rosneft
    name: Rosneft
    severity: high
"""


def _item(n: int, padding: int = 0) -> dict[str, str]:
    return {
        "guid": f"item-{n}",
        "link": f"https://news.test/{n}",
        "title": f"Story {n} about Rosneft",
        "description": f"Rosneft story number {n}. " + "filler text " * padding,
    }


def write_config(base: Path, *feed_urls: str) -> Path:
    lists = base / "lists"
    lists.mkdir(exist_ok=True)
    (lists / "t.yaml").write_text(WATCHLIST)
    feeds = "feeds:\n" + "".join(f"  - url: {url}\n" for url in feed_urls)
    if not feed_urls:
        feeds = "feeds: []\n"
    config = base / "config.yaml"
    config.write_text(
        f"state_dir: {base / 'state'}\n"
        f"watchlists: [{lists}]\n"
        f"{feeds}"
        "polling:\n  jitter: 0s\n  timeout: 5s\n  allow_private_networks: true\n"
        "email:\n  to: [a@example.org]\n  delivery: directory\n"
        f"  directory: {base / 'outbox'}\n"
    )
    return config


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`watcher ARGS` in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        feeds.route("/a.xml", rss(_item(1)), headers={"Content-Type": "application/rss+xml"})
        yield feeds


VERBS = [
    ("status",),
    ("poll", "--once"),
    ("digest", "--preview"),
    ("run", "--once"),
]


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: v[0])
def test_a_truncated_database_is_refused_not_started_afresh(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str], verb: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, server.url("/a.xml"))
    assert run_cli(capsys, "run", "--once", "--config", str(config))[0] == 0
    db = tmp_path / "state" / DB_FILE
    db.write_bytes(b"")  # truncated: a new history would mail every feed's items again

    code, _, err = run_cli(capsys, *verb, "--config", str(config))

    assert code == EX_DATAERR
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert str(db) in line and "0 bytes" in line and "backup" in line
    assert db.stat().st_size == 0  # left as it was, for the operator to restore


def test_a_file_that_is_not_a_database_is_named_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "state" / DB_FILE
    db.parent.mkdir()
    db.write_bytes(b"this is not a database\n" * 400)

    for verb in VERBS:
        code, _, err = run_cli(capsys, *verb, "--config", str(config))
        assert code == EX_DATAERR, (verb, err)
        assert "Traceback" not in err
        assert f"the state database {db} is damaged (file is not a database)" in err
        assert ".recover" in err and "backup" in err and "mv " in err


def test_a_malformed_database_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    Store(tmp_path / "state").close()
    db = tmp_path / "state" / DB_FILE
    with db.open("r+b") as raw:  # page 1 after the file header: the schema
        raw.seek(100)
        raw.write(b"\xa5" * 3000)

    code, _, err = run_cli(capsys, "status", "--config", str(config))

    assert code == EX_DATAERR
    assert "Traceback" not in err
    assert str(db) in err and "malformed" in err


def test_a_missing_database_starts_fresh(tmp_path: Path) -> None:
    Store(tmp_path / "state").close()
    assert (tmp_path / "state" / DB_FILE).stat().st_size > 0


def test_store_refuses_an_empty_file_and_leaves_it(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"")
    with pytest.raises(StateCorrupt, match="only a missing file starts fresh"):
        Store(tmp_path)
    assert (tmp_path / DB_FILE).stat().st_size == 0


PR_CAPBSET_DROP = 24  # prctl(2)
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore permission bits
ROOT_OVERRIDES = (1, 2, 3)


def _without_root_overrides() -> Callable[[], None] | None:
    """For a child process of root: drop the capabilities that bypass permission bits from
    its bounding set, so the exec'd program is bound by them like any service user."""
    if os.geteuid() != 0:
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop() -> None:
        for cap in ROOT_OVERRIDES:
            if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


@pytest.mark.parametrize(
    ("existing", "verbs"),
    [(True, VERBS), (False, [("run", "--once")])],  # a new one: the lock file comes first
    ids=["existing-db", "new-db"],
)
def test_a_read_only_state_directory_exits_73(
    tmp_path: Path, existing: bool, verbs: list[tuple[str, ...]]
) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    if existing:
        Store(state).close()
    state.chmod(0o555)
    try:
        for verb in verbs:
            result = subprocess.run(
                [sys.executable, "-m", "watcher", *verb, "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=50,
                check=False,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                preexec_fn=_without_root_overrides(),
            )
            assert result.returncode == EX_CANTCREAT, (verb, result.stderr)
            assert "Traceback" not in result.stderr
            (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
            assert f"cannot write the state database {state / DB_FILE}" in line or (
                f"cannot write the lock file {state / 'watcher.state.lock'}" in line
            )
            assert "writable" in line
    finally:
        state.chmod(0o755)


@pytest.fixture
def page_limit(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Cap the state database at its current size: SQLite answers a write that needs one
    more page with SQLITE_FULL, as on a full disk."""
    limit: dict[str, int] = {}
    connect = sqlite3.connect

    def limited(*args: object, **kwargs: object) -> sqlite3.Connection:
        db = connect(*args, **kwargs)  # type: ignore[call-overload]
        if "pages" in limit:
            db.execute(f"PRAGMA max_page_count = {limit['pages']}")
        return db  # type: ignore[no-any-return]

    monkeypatch.setattr(sqlite3, "connect", limited)
    return limit


def _page_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


def test_a_full_disk_exits_74_in_one_line_and_loses_nothing(
    tmp_path: Path,
    server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    page_limit: dict[str, int],
) -> None:
    config = write_config(tmp_path, server.url("/a.xml"))
    assert run_cli(capsys, "run", "--once", "--config", str(config))[0] == 0
    db = tmp_path / "state" / DB_FILE
    page_limit["pages"] = _page_count(db)
    many = rss(*(_item(n, padding=50) for n in range(1, 200)))
    server.route("/a.xml", many, headers={"Content-Type": "application/rss+xml"})

    code, _, err = run_cli(capsys, "run", "--once", "--config", str(config))

    assert code == EX_IOERR
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert f"could not store to the state database {db}: database or disk is full" in line
    assert "Free space" in line

    del page_limit["pages"]  # space freed: the next run stores what the full one could not
    assert run_cli(capsys, "run", "--once", "--config", str(config))[0] == 0
    code, out, _ = run_cli(capsys, "status", "--json", "--config", str(config))
    assert code == 0 and '"articles": 199' in out


def test_run_once_exits_69_when_no_feed_could_be_polled(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server.url("/gone.xml"), server.url("/also-gone.xml"))

    code, _, err = run_cli(capsys, "run", "--once", "--config", str(config))

    assert code == EX_UNAVAILABLE
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "no feed could be polled (2 of 2 failed; first: http://127.0.0.1:" in line
    assert "HTTP 404" in line


def test_run_once_exits_0_when_one_feed_of_two_works(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server.url("/a.xml"), server.url("/gone.xml"))
    code, out, err = run_cli(capsys, "run", "--once", "--config", str(config))
    assert code == 0, err
    assert "first poll: 1 item(s) recorded as the baseline; nothing is mailed for them" in out


def test_run_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for text in ("0 ok", "65 the state database is corrupt", "69 no feed", "73 the state", "74 "):
        assert text in flat
    assert "75 mail stays queued" in flat


@pytest.mark.parametrize("content", [b"", b"garbage " * 1000], ids=["truncated", "not-a-db"])
def test_the_daemon_exits_65_on_a_damaged_database(tmp_path: Path, content: bytes) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "state" / DB_FILE
    db.parent.mkdir()
    db.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")},
    )
    assert result.returncode == EX_DATAERR, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert f"the state database {db} is" in line and "backup" in line
    assert db.read_bytes() == content
