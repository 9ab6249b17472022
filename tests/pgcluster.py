"""A throwaway PostgreSQL cluster for the tests and the benchmarks (no pytest in here).

`PgCluster.start()` runs ``initdb`` in a new temporary directory and starts ``postgres`` on
127.0.0.1 only (a free port; its unix socket in that directory, never /var/run), without
durability (fsync off: the data dies with the run anyway). Run as root (CI is), both run as
``nobody`` through ``setpriv``, because PostgreSQL refuses to run as root. `new_database()`
gives each test a database of its own. `stop()` stops the server and removes everything.

The binaries are found on PATH or under /usr/lib/postgresql/*/bin (Debian's layout);
`find_bin_dir()` is None when they are absent (tests then skip, saying so: `ABSENT`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
PASSWORD = "test-password-of-the-throwaway-cluster"
ABSENT = (
    "PostgreSQL binaries absent (initdb, pg_ctl, postgres: not on PATH nor under "
    "/usr/lib/postgresql/*/bin); install them: apt-get install postgresql"
)
_TOOLS = ("initdb", "pg_ctl", "postgres")


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres (the newest version first)."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version_key(p.parent.name), reverse=True)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in _TOOLS):
            return directory
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


@dataclass(frozen=True)
class Database:
    """One database of the cluster: how a `PostgresStore` connects to it."""

    name: str
    port: int

    @property
    def url(self) -> str:
        """A ``database.url`` as a user writes it (no password in it)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.name}"

    def conninfo(self, password: str = PASSWORD) -> str:
        return f"{self.url}?password={password}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    def __init__(self, bin_dir: Path, base: Path, port: int) -> None:
        self.bin_dir, self.base, self.port = bin_dir, base, port
        self.data = base / "data"
        self._names = itertools.count(1)

    @classmethod
    def start(cls, bin_dir: Path | None = None) -> PgCluster:
        bin_dir = bin_dir or find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(ABSENT)
        base = Path(tempfile.mkdtemp(prefix="sw-pg-"))  # /tmp: nobody can reach it
        cluster = cls(bin_dir, base, _free_port())
        try:
            cluster._initdb()
            cluster._start_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *command: str) -> None:
        prefix: list[str] = []
        if os.geteuid() == 0:  # postgres refuses root: run it as nobody
            nobody = pwd.getpwnam("nobody")
            prefix = [
                "setpriv",
                f"--reuid={nobody.pw_uid}",
                f"--regid={nobody.pw_gid}",
                "--clear-groups",
            ]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        completed = subprocess.run(
            [*prefix, *command], env=env, cwd=self.base, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({completed.returncode}): "
                f"{completed.stdout}{completed.stderr}{tail}"
            )

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.base, nobody.pw_uid, nobody.pw_gid)
        pwfile = self.base / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, -1)
        # C locale on purpose: the state must sort and fold text the same whatever the
        # cluster's locale (casefold uses ICU, columns compare in byte order)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )
        pwfile.unlink()

    def _start_server(self) -> None:
        options = " ".join(
            f"-c {setting}"
            for setting in (
                "listen_addresses=127.0.0.1",
                f"port={self.port}",
                f"unix_socket_directories={self.base}",
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "max_connections=100",
                "shared_buffers=32MB",
            )
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def pause(self) -> None:
        """Stop the server, keeping the cluster (a database outage); `resume` starts it."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._start_server()

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection over the unix socket (trust), in autocommit."""
        return psycopg.connect(
            host=str(self.base), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def new_database(self) -> Database:
        name = f"state_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return Database(name, self.port)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):  # already gone: nothing to stop
                pg_ctl = str(self.bin_dir / "pg_ctl")
                self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
