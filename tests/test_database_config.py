"""The config's ``database:`` section (issue 10), through the product's own loader: what it
accepts, what it refuses (at file:line:col), and how the password is found at connect time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config.schema import DatabaseConfig
from watcher.config.settings import load_config
from watcher.errors import ValidationFailed, WatcherError


def write_config(directory: Path, text: str) -> Path:
    path = directory / "config.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_config(path)
    return [str(p).replace(str(path.parent) + "/", "") for p in caught.value.problems]


def database_of(directory: Path, text: str) -> DatabaseConfig:
    database = load_config(write_config(directory, text)).database
    assert database is not None
    return database


def test_without_a_database_section_the_state_stays_sqlite(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "feeds: []\n"))
    assert config.database is None


def test_a_full_database_section(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        database:
          url: postgresql://watcher@db.example.org:5432/sanctions
          password_file: secrets/db-password
          lease: 45s
        """,
    )
    database = load_config(path).database
    assert database is not None
    assert database.url == "postgresql://watcher@db.example.org:5432/sanctions"
    # relative to the config file, like every other path in it; read at connect time only
    assert database.password_file == tmp_path / "secrets/db-password"
    assert (database.password_env, database.lease) == (None, 45.0)


def test_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database: {url: 'postgres:///sanctions'}\n")
    database = load_config(path).database
    assert database is not None
    assert (database.password_file, database.password_env, database.lease) == (None, None, 30.0)


URL_PASSWORD = (
    "the URL holds a password, and a URL lands in logs, `ps` and error messages; remove it from "
    "the URL and put it in a file named by password_file (under systemd: a LoadCredential= file) "
    "or an environment variable named by password_env"
)

REJECTIONS = [
    pytest.param(
        "database:\n  url: postgresql://watcher:hunter2@db:5432/sanctions\n",
        [f"config.yaml:2:8: database.url: {URL_PASSWORD}"],
        id="password-in-url",
    ),
    pytest.param(
        "database:\n  url: postgresql://watcher@db/sanctions?sslmode=require&password=hunter2\n",
        [f"config.yaml:2:8: database.url: {URL_PASSWORD}"],
        id="password-in-query",
    ),
    pytest.param(
        "database:\n  url: mysql://watcher@db/sanctions\n",
        [
            "config.yaml:2:8: database.url: 'mysql://watcher@db/sanctions' is not a PostgreSQL "
            "URL; write postgresql://USER@HOST:5432/DATABASE (without the password)"
        ],
        id="not-postgresql",
    ),
    pytest.param(
        "database:\n  url: postgresql://watcher@db:99999/sanctions\n",
        [
            "config.yaml:2:8: database.url: 'postgresql://watcher@db:99999/sanctions' has an "
            "invalid port; write e.g. db.example.org:5432"
        ],
        id="bad-port",
    ),
    pytest.param(
        "database:\n  url: postgresql://watcher@db/sanctions?sslmod=require\n",
        [
            "config.yaml:2:8: database.url: libpq cannot read this URL: invalid URI query "
            'parameter: "sslmod"; see '
            "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS"
        ],
        id="unknown-parameter",
    ),
    pytest.param(
        "database:\n  password_file: pw\n",
        ["config.yaml:2:3: database.url: required key 'url' is missing; add it"],
        id="url-missing",
    ),
    pytest.param(
        "database:\n  url: postgresql://db/s\n  password_file: pw\n  password_env: PW\n",
        [
            "config.yaml:2:3: database: password_file and password_env are both set; keep one "
            "(the password has one source)"
        ],
        id="two-password-sources",
    ),
    pytest.param(
        "database:\n  url: postgresql://db/s\n  lease: 2s\n",
        [
            "config.yaml:3:10: database.lease: must be at least 5s: a shorter lease runs out "
            "during an ordinary pause (a slow poll or send, a network hiccup) and another "
            "instance takes over work still in progress; 30s is the default"
        ],
        id="lease-too-short",
    ),
    pytest.param(
        "database:\n  url: postgresql://db/s\n  lease: soon\n",
        [
            "config.yaml:3:10: database.lease: 'soon' is not a duration; write e.g. 30s, 15m, "
            "1h or 1h30m"
        ],
        id="lease-not-a-duration",
    ),
    pytest.param(
        "database:\n  url: postgresql://db/s\n  pasword_file: pw\n",
        [
            "config.yaml:3:3: database.pasword_file: unknown key 'pasword_file' (did you mean "
            "'password_file'?); allowed keys: lease, password_env, password_file, url"
        ],
        id="unknown-key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REJECTIONS)
def test_rejections_at_their_position(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems_of(write_config(tmp_path, text)) == expected


def test_the_password_never_appears_in_a_rejection(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database:\n  url: postgresql://w:hunter2@db/s\n")
    with pytest.raises(ValidationFailed) as caught:
        load_config(path)
    assert "hunter2" not in str(caught.value)


def test_password_file_is_read_at_connect_time(tmp_path: Path) -> None:
    """Loading the config does not need the file (systemd creates it when the service
    starts); each `conninfo()` reads it, so a rotated password is used at the next connect."""
    secret = tmp_path / "db-password"
    path = write_config(
        tmp_path,
        f"database: {{url: 'postgresql://watcher@127.0.0.1:5432/s', password_file: {secret}}}\n",
    )
    database = load_config(path).database
    assert database is not None
    with pytest.raises(WatcherError) as caught:
        database.conninfo()
    assert str(caught.value).startswith(
        f"database.password_file: cannot read {secret}: No such file or directory."
    )
    secret.write_text("first\n", encoding="utf-8")
    assert database.password() == "first"
    assert "password=first" in database.conninfo()
    secret.write_text("second\r\n", encoding="utf-8")
    assert database.password() == "second"
    assert "user=watcher" in database.conninfo()


def test_unreadable_password_file_is_named(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"  # a directory: unreadable as a file, even for root
    secret.mkdir()
    database = database_of(tmp_path, f"database: {{url: 'postgres:///s', password_file: {secret}}}")
    with pytest.raises(WatcherError) as caught:
        database.password()
    assert f"database.password_file: cannot read {secret}: Is a directory." in str(caught.value)


def test_empty_password_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("\n", encoding="utf-8")
    database = database_of(tmp_path, f"database: {{url: 'postgres:///s', password_file: {secret}}}")
    with pytest.raises(WatcherError) as caught:
        database.password()
    assert str(caught.value) == f"database.password_file: {secret} is empty"


def test_password_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(
        tmp_path, "database: {url: 'postgresql://db/s', password_env: WATCHER_TEST_DB_PW}\n"
    )
    database = load_config(path).database
    assert database is not None
    monkeypatch.delenv("WATCHER_TEST_DB_PW", raising=False)
    with pytest.raises(WatcherError) as caught:
        database.password()
    assert str(caught.value) == (
        "database.password_env: environment variable WATCHER_TEST_DB_PW is not set"
    )
    monkeypatch.setenv("WATCHER_TEST_DB_PW", "from env")
    assert "password='from env'" in database.conninfo()


def test_no_password_source_leaves_it_to_libpq(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database: {url: 'postgresql://watcher@db/s'}\n")
    database = load_config(path).database
    assert database is not None
    assert database.password() is None
    assert "password" not in database.conninfo()
