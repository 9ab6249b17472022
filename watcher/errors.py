"""One error family for everything a user can fix: the CLI catches `WatcherError` once."""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes (sysexits.h), documented in README.md and `watcher run --help`. One place only.
EX_OK = 0
EX_USER = 1  # a config, watchlist or usage problem the user fixes (any WatcherError by default)
EX_USAGE = 2  # click's own: unknown option, missing argument
EX_DATAERR = 65  # the state database is corrupt, truncated or not a database
EX_UNAVAILABLE = 69  # no feed could be polled; the PostgreSQL state server cannot be reached
EX_CANTCREAT = 73  # the state directory or database cannot be written
EX_IOERR = 74  # what was fetched could not be stored (disk full, I/O error)
EX_TEMPFAIL = 75  # mail stays queued; cron or the operator tries again later

EXIT_CODES_HELP = """\b
Exit status:
  0   ok
  1   a config or watchlist error (each problem as file:line:col)
  2   a usage error
  65  the state database is corrupt or truncated (restore it from a backup,
      `sqlite3 FILE .recover`, or move it aside)
  69  no feed could be polled, or the PostgreSQL state database cannot be
      reached or refused the connection (server down, password, database
      name: the message names it)
  73  the state directory or database cannot be written (permissions,
      a read-only file system)
  74  what was fetched could not be stored (disk full, I/O error)
  75  mail stays queued (the SMTP server did not take it yet)
"""


class WatcherError(Exception):
    """An error the user can act on; its message says what is wrong and how to fix it."""

    exit_code = EX_USER


@dataclass(frozen=True)
class Problem:
    """One validation problem at a place in a file."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # dotted/indexed path inside the document, e.g. "entries[3].aliases"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ValidationFailed(WatcherError):  # noqa: N818 -- reads as what happened; public API
    """A config file or watchlist is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
