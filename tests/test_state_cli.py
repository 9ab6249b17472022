"""Operating the PostgreSQL state (issue 10), as an operator does it, on a real throwaway
cluster (`pg_cluster` in conftest) and real SQLite files, through real subprocesses:
`watcher check` connecting (or saying why not), `watcher state upgrade` on old schemas of
both backends, and `watcher state copy` moving a state filled by real `watcher run --once`
passes (local feed server, aiosmtpd) into PostgreSQL, after which nothing goes out twice."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pgcluster
import psycopg
from feedserver import FeedServer, rss
from smtpserver import SmtpTestServer

from watcher.config.schema import CONFIG_ENV
from watcher.state.postgresql import pg_ddl
from watcher.state.schema import MIGRATIONS, split_sql
from watcher.state.sqlite import DB_FILE, Store

ROOT = Path(__file__).resolve().parents[1]
CURRENT = len(MIGRATIONS)
WATCHLIST = "list: t\nentries:\n  - {id: rosneft, name: Rosneft, severity: high}\n"


def watcher(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in (CONFIG_ENV, "PGPASSWORD")}
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        env=environment | (env or {}),
        timeout=50,
        check=False,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def password_file(tmp_path: Path, password: str = pgcluster.PASSWORD) -> Path:
    return write(tmp_path / "db-password", password + "\n")


def database_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    """A config whose state is the PostgreSQL database at `url` (password from a file)."""
    write(tmp_path / "lists" / "t.yaml", WATCHLIST)
    return write(
        tmp_path / "config.yaml",
        f"""
        watchlists: [lists]
        database:
          url: {url}
          password_file: {password_file(tmp_path)}
        {extra}
        """,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound here, never listening)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- watcher check -------------------------------------------------------------------------


def test_check_connects_and_reports_server_and_schema(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    config = database_config(tmp_path, pg_database.url)
    result = watcher("check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"database: {pg_database.url}: connected, PostgreSQL ")
    assert first.endswith(
        "no tables yet (`watcher state upgrade` creates them, as does the "
        "first start; `watcher state copy --to URL` brings an existing SQLite "
        "state)"
    )
    assert result.stdout.splitlines()[1] == "ok: 1 list, 1 entry, 1 name, 0 feeds"
    assert pgcluster.PASSWORD not in result.stdout + result.stderr

    assert watcher("state", "upgrade", "--config", str(config)).returncode == 0
    result = watcher("check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(f", schema version {CURRENT} (current)")


def test_check_says_the_password_was_refused(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    config = database_config(tmp_path, pg_database.url)
    wrong = write(tmp_path / "wrong-password", "not-the-password\n")
    result = watcher("check", "--config", str(config), "--password-file", str(wrong))
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"{config}: database: cannot use the state database {pg_database.url}: "
    )
    assert 'password authentication failed for user "postgres"' in result.stdout
    assert "Check the user name in database.url and the password" in result.stdout
    assert "not-the-password" not in result.stdout + result.stderr
    assert result.stderr.strip() == "error: 1 problem found"


def test_check_says_the_server_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql://watcher@127.0.0.1:{closed_port()}/sanctions"
    config = database_config(tmp_path, url)
    result = watcher("check", "--config", str(config))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{config}: database: cannot use the state database {url}: ")
    assert "Connection refused" in result.stdout
    assert "Check that the server is running and reachable" in result.stdout


def test_check_names_a_missing_password_file(tmp_path: Path) -> None:
    config = database_config(tmp_path, f"postgresql://w@127.0.0.1:{closed_port()}/s")
    (tmp_path / "db-password").unlink()
    result = watcher("check", "--config", str(config))
    assert result.returncode == 1
    assert (
        f"database: database.password_file: cannot read {tmp_path / 'db-password'}: "
        "No such file or directory."
    ) in result.stdout


# --- watcher state upgrade -------------------------------------------------------------------


def old_sqlite_state(state_dir: Path, version: int) -> None:
    """A SQLite state as a release with the first `version` migrations left it, with a feed."""
    state_dir.mkdir(parents=True)
    db = sqlite3.connect(state_dir / DB_FILE, isolation_level=None)
    for script in MIGRATIONS[:version]:
        for statement in split_sql(script):
            db.execute(statement)
    db.execute(f"PRAGMA user_version={version}")
    db.execute("INSERT INTO feeds (url, current_url) VALUES ('https://a.test/rss', 'x')")
    db.close()


def old_postgres_state(database: pgcluster.Database, version: int) -> None:
    """The same on PostgreSQL: the first `version` migrations, as its backend maps them."""
    with psycopg.connect(database.conninfo(), autocommit=True) as conn:
        for script in MIGRATIONS[:version]:
            for statement in split_sql(script):
                conn.execute(pg_ddl(statement))
        conn.execute("CREATE TABLE watcher_schema (version BIGINT NOT NULL)")
        conn.execute(f"INSERT INTO watcher_schema (version) VALUES ({version})")
        conn.execute("INSERT INTO feeds (url, current_url) VALUES ('https://a.test/rss', 'x')")


def test_state_upgrade_of_an_old_sqlite_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    old_sqlite_state(state, 3)
    write(tmp_path / "lists" / "t.yaml", WATCHLIST)
    config = write(tmp_path / "config.yaml", f"state_dir: {state}\nwatchlists: [lists]\n")
    result = watcher("state", "upgrade", "--config", str(config))
    assert (result.returncode, result.stdout) == (
        0,
        f"SQLite {state / DB_FILE}: schema version 3 -> {CURRENT}\n",
    ), result.stderr
    result = watcher("state", "upgrade", "--config", str(config))
    assert (result.returncode, result.stdout) == (
        0,
        f"SQLite {state / DB_FILE}: schema version {CURRENT}, already current\n",
    ), result.stderr
    store = Store(state)  # opens without for_upgrade: the schema is current
    try:
        with store.snapshot() as tx:
            assert [feed.url for feed in tx.feeds()] == ["https://a.test/rss"]
    finally:
        store.close()


def test_state_upgrade_of_an_old_postgres_database(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    old_postgres_state(pg_database, 4)
    config = database_config(tmp_path, pg_database.url)
    result = watcher("check", "--config", str(config))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith(
        f", schema version 4, older than this sanctions-watch's ({CURRENT}): run "
        "`watcher state upgrade`"
    )
    result = watcher("state", "upgrade", "--config", str(config))
    assert (result.returncode, result.stdout) == (
        0,
        f"PostgreSQL {pg_database.url}: schema version 4 -> {CURRENT}\n",
    ), result.stderr
    result = watcher("state", "upgrade", "--config", str(config))
    assert (
        result.stdout
        == f"PostgreSQL {pg_database.url}: schema version {CURRENT}, already current\n"
    )
    with psycopg.connect(pg_database.conninfo()) as conn:
        row = conn.execute("SELECT url FROM feeds").fetchone()
    assert row == ("https://a.test/rss",)


def test_state_upgrade_creates_a_new_postgres_database(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    config = database_config(tmp_path, pg_database.url)
    result = watcher("state", "upgrade", "--config", str(config))
    assert result.stdout == (
        f"PostgreSQL {pg_database.url}: schema version 0 -> {CURRENT} (tables created)\n"
    ), result.stderr


# --- watcher state copy ----------------------------------------------------------------------


def story(n: int) -> dict[str, str]:
    return {
        "guid": f"story-{n}",
        "link": f"https://news.test/{n}",
        "title": f"Rosneft story {n}",
        "description": f"Rosneft was named in story number {n}.",
    }


def sqlite_counts(state_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(state_dir / DB_FILE)
    try:
        tables = [
            str(row[0])
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(row[0]).startswith("sqlite_")
        ]
        return {t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}
    finally:
        db.close()


def unsent_message_ids(state_dir: Path) -> set[str]:
    db = sqlite3.connect(state_dir / DB_FILE)
    try:
        rows = db.execute("SELECT message_id FROM outbox WHERE sent_at IS NULL").fetchall()
        return {str(row[0]) for row in rows}
    finally:
        db.close()


def copy_config(tmp_path: Path, feed: str, smtp: SmtpTestServer, database: str = "") -> Path:
    settings = smtp.smtp_config()
    write(tmp_path / "lists" / "t.yaml", WATCHLIST)
    return write(
        tmp_path / ("config-pg.yaml" if database else "config.yaml"),
        f"""
        state_dir: {tmp_path / "state"}
        watchlists: [lists]
        feeds:
          - {{url: "{feed}", backfill: true}}
        polling: {{jitter: 0s, timeout: 10s, allow_private_networks: true}}
        digest: {{alert_severity: high, alert_window: 0s}}
        email: {{from: "w <watch@example.org>", to: [analyst@example.org]}}
        smtp:
          host: 127.0.0.1
          port: {settings.port}
          security: starttls
          username: {settings.username}
          password_file: {settings.password_file}
          ca_file: {settings.ca_file}
          timeout: 10s
        {database}
        """,
    )


def test_copy_moves_a_sqlite_state_and_nothing_is_sent_twice(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    state = tmp_path / "state"
    with FeedServer() as feeds, SmtpTestServer(tmp_path) as smtp:
        feed = feeds.route("/news.xml", rss(story(1)))
        config = copy_config(tmp_path, feed, smtp)
        # 1. SQLite: story 1 is alerted and digested, and sent
        first = watcher("run", "--once", "--config", str(config))
        assert first.returncode == 0, first.stderr
        sent_before = smtp.wait_for_messages(2)
        # 2. the mail server is down when story 2 arrives: its mail stays queued
        smtp.stop()
        feeds.route("/news.xml", rss(story(1), story(2)))
        second = watcher("run", "--once", "--config", str(config))
        assert second.returncode == 75, second.stderr
        queued = unsent_message_ids(state)
        assert queued

        # 3. the copy: every table, counted on both sides
        counts = sqlite_counts(state)
        password = password_file(tmp_path)
        to_postgres = ["--config", str(config), "--to", pg_database.url]
        copy = ("state", "copy", *to_postgres, "--password-file", str(password))
        result = watcher(*copy, "--batch", "2")  # several batches per table
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == f"copied {state / DB_FILE} into {pg_database.url} (row counts checked):"
        printed = {line.split()[0]: int(line.split()[1]) for line in lines[1:-1]}
        assert printed == {t: n for t, n in counts.items() if t not in ("instances", "leases")}
        assert printed["outbox"] >= 3 and printed["articles"] == 2
        assert pgcluster.PASSWORD not in result.stdout + result.stderr

        # a second copy into the same database is refused, and changes nothing
        again = watcher(*copy)
        assert again.returncode == 1
        assert f"the database {pg_database.url} already holds state (" in again.stderr

        # 4. PostgreSQL from now on: the queued mail goes out once, with its Message-ID; story 1
        # and 2 are not alerted again; story 3 is new (its outbox id follows the copied ones)
        smtp.start()
        feeds.route("/news.xml", rss(story(1), story(2), story(3)))
        pg_config = copy_config(
            tmp_path,
            feed,
            smtp,
            f"database: {{url: '{pg_database.url}', password_file: {password}}}",
        )
        third = watcher("run", "--once", "--config", str(pg_config))
        assert third.returncode == 0, third.stderr
        after = smtp.wait_for_messages(len(sent_before) + len(queued) + 2)
        new = [m.message for m in after[len(sent_before) :]]
        ids = [str(m["Message-ID"]).strip() for m in new]
        assert len(ids) == len(set(ids))
        assert queued <= set(ids)  # the queued mail, under the Message-IDs it was given
        fresh = [m for m in new if str(m["Message-ID"]).strip() not in queued]
        bodies = " ".join(str(m.get_body(preferencelist=("plain",)).get_content()) for m in fresh)  # type: ignore[union-attr]
        assert "Rosneft story 3" in bodies
        assert "Rosneft story 1" not in bodies and "Rosneft story 2" not in bodies
        # 5. nothing left to send, nothing sent again
        total = len(after)
        fourth = watcher("run", "--once", "--config", str(pg_config))
        assert fourth.returncode == 0, fourth.stderr
        assert len(smtp.messages) == total
    assert sqlite_counts(state) == counts  # the SQLite file is left as it was


def test_copy_refuses_a_missing_sqlite_state_and_a_password_in_the_url(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    config = write(tmp_path / "config.yaml", f"state_dir: {tmp_path / 'state'}\n")
    result = watcher("state", "copy", "--config", str(config), "--to", pg_database.url)
    assert result.returncode == 1
    assert f"no SQLite state to copy: {tmp_path / 'state' / DB_FILE} does not exist" in (
        result.stderr
    )
    assert not (tmp_path / "state" / DB_FILE).exists()  # not created by asking
    with_password = pg_database.url.replace("postgres@", "postgres:hunter2@")
    result = watcher("state", "copy", "--config", str(config), "--to", with_password)
    assert result.returncode == 2
    assert "the URL holds a password" in result.stderr
    assert "hunter2" not in result.stderr


def test_check_refuses_a_schema_newer_than_this_release(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    config = database_config(tmp_path, pg_database.url)
    assert watcher("state", "upgrade", "--config", str(config)).returncode == 0
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:  # a later release's
        conn.execute(f"UPDATE watcher_schema SET version = {CURRENT + 1}")
    result = watcher("check", "--config", str(config))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith(
        f", schema version {CURRENT + 1}, newer than this sanctions-watch understands "
        f"({CURRENT}): upgrade sanctions-watch"
    )
    result = watcher("state", "upgrade", "--config", str(config))
    assert result.returncode == 1
    assert f"has schema version {CURRENT + 1}, newer than" in result.stderr


def test_without_a_password_source_libpq_reads_pgpassword(
    tmp_path: Path, pg_database: pgcluster.Database
) -> None:
    write(tmp_path / "lists" / "t.yaml", WATCHLIST)
    config = write(
        tmp_path / "config.yaml", f"watchlists: [lists]\ndatabase: {{url: '{pg_database.url}'}}\n"
    )
    refused = watcher("check", "--config", str(config), env={"PGPASSFILE": "/nonexistent"})
    assert refused.returncode == 1
    assert "no password supplied" in refused.stdout
    result = watcher(
        "check",
        "--config",
        str(config),
        env={"PGPASSWORD": pgcluster.PASSWORD, "PGPASSFILE": "/nonexistent"},
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"database: {pg_database.url}: connected, PostgreSQL ")
