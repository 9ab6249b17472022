"""Shared test helpers.

`shared_dir()` is where the large real-world corpora live: ``$SANCTIONS_WATCH_SHARED``, else
``../shared`` next to the checkout (never copied into it). CI has them; a fresh clone may not,
so tests using them are marked `@requires_shared` and skip with a clear reason.

Skips are never quiet (`skipledger`): the run ends with one line counting what was skipped and
why, and under CI (``CI=true``, as `.ci/run` sets) any skip fails the run.
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pgcluster
import psycopg
import pytest
import skipledger

from watcher.state.interface import StateStore
from watcher.state.postgresql import PostgresStore
from watcher.state.sqlite import DB_FILE, Store

SHARED_ENV = "SANCTIONS_WATCH_SHARED"


def shared_dir() -> Path:
    """The shared corpora: ``$SANCTIONS_WATCH_SHARED``, else ``../shared`` beside the checkout."""
    configured = os.environ.get(SHARED_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[1].parent / "shared"


SHARED_ABSENT = (
    f"shared corpora absent: no {shared_dir()} (set {SHARED_ENV}=DIR, or put them in ../shared)"
)

requires_shared = pytest.mark.skipif(not shared_dir().is_dir(), reason=SHARED_ABSENT)


@pytest.fixture(name="shared_dir")
def shared_dir_fixture() -> Path:
    """The shared corpora directory; skips the test when it is absent."""
    path = shared_dir()
    if not path.is_dir():
        pytest.skip(SHARED_ABSENT)
    return path


# --- the state backends: one contract suite on both ---------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgcluster.PgCluster]:
    """A throwaway PostgreSQL cluster for this session (per xdist worker); skips only when
    the PostgreSQL binaries are absent (CI has them, and fails on any skip)."""
    bin_dir = pgcluster.find_bin_dir()
    if bin_dir is None:
        pytest.skip(pgcluster.ABSENT)
    cluster = pgcluster.PgCluster.start(bin_dir)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_database(pg_cluster: pgcluster.PgCluster) -> pgcluster.Database:
    """A new, empty database of the session's cluster, for this test alone."""
    return pg_cluster.new_database()


class Backend:
    """Opens stores on one test's database, whichever backend; closes them at the end."""

    def __init__(self, kind: str, tmp_path: Path, database: pgcluster.Database | None) -> None:
        self.kind, self.state_dir, self.database = kind, tmp_path / "state", database
        self._opened: list[StateStore] = []

    def open(self, *, for_upgrade: bool = False) -> StateStore:
        store: StateStore
        if self.database is None:
            store = Store(self.state_dir, for_upgrade=for_upgrade)
        else:
            db = self.database
            store = PostgresStore(db.conninfo(), db.url, for_upgrade=for_upgrade)
        self._opened.append(store)
        return store

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        """Read straight from the database, under the store (for assertions only)."""
        if self.database is None:
            db = sqlite3.connect(f"file:{self.state_dir / DB_FILE}?mode=ro", uri=True)
            try:
                return [tuple(row) for row in db.execute(sql)]
            finally:
                db.close()
        with psycopg.connect(self.database.conninfo()) as conn:
            return [tuple(row) for row in conn.execute(sql)]

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The contract suite's parameter: each test using it runs on SQLite and PostgreSQL."""
    database = None
    if request.param == "postgresql":
        database = request.getfixturevalue("pg_database")
    opened = Backend(request.param, tmp_path, database)
    yield opened
    opened.close_all()


@pytest.fixture
def state(backend: Backend) -> StateStore:
    """A new, empty state store, on SQLite and on PostgreSQL (see `backend`)."""
    return backend.open()


def pytest_configure(config: pytest.Config) -> None:
    skipledger.pytest_configure(config)


@pytest.fixture(autouse=True, scope="session")
def _user_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user cache (the matcher's word lists, `watcher.config.indexcache`) in a directory of this
    session, for every process the tests start: never the real ~/.cache, and the ~1.5 s of
    CPU to build the word lists is spent once per session (per xdist worker), not once per
    subprocess."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage when each test ends, so a leaked socket or transport warns (and fails,
    warnings being errors) in the test that leaked it, not in whichever test runs next."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Undo a test's `watcher.logs.configure_logging` (the CLI run in-process points the root
    logger at click's captured stderr, closed when the command returns): otherwise a server
    thread still running (aiosmtpd logs every connection) writes to that closed stream later,
    and logging prints a traceback into the test run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
