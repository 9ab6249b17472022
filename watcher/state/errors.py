"""The state layer's errors: what callers catch, whatever the backend."""

from __future__ import annotations

from watcher.errors import EX_CANTCREAT, EX_DATAERR, EX_IOERR, EX_UNAVAILABLE, WatcherError


class StateError(WatcherError):
    pass


class DuplicateMessageError(StateError):
    """A message with this Message-ID is already in the outbox (nothing was stored)."""


class StateCorrupt(StateError):  # noqa: N818 -- reads as what happened; public API
    """The state database is damaged, truncated or not a SQLite database (EX_DATAERR)."""

    exit_code = EX_DATAERR


class StateNotWritable(StateError):  # noqa: N818
    """The state directory or database cannot be created or written (EX_CANTCREAT)."""

    exit_code = EX_CANTCREAT


class StateStoreFailed(StateError):  # noqa: N818
    """A write failed for lack of room or an I/O error: disk full, quota (EX_IOERR)."""

    exit_code = EX_IOERR


class StateUnavailable(StateError):  # noqa: N818
    """The PostgreSQL state database cannot be reached or refused the connection: server down
    or unreachable, wrong password, unknown role or database (EX_UNAVAILABLE: a service the
    run needs is unavailable; systemd restarts the unit, the server may be back by then)."""

    exit_code = EX_UNAVAILABLE


class StateSchemaOutdated(StateError):  # noqa: N818
    """The database has an older schema than this release: `watcher state upgrade` first."""


# The database file itself failed (not one operation on it): what callers report and stop on.
STATE_FILE_ERRORS = (StateCorrupt, StateNotWritable, StateStoreFailed, StateUnavailable)
