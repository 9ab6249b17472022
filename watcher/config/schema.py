"""The configuration file: its schema, as frozen pydantic models.

Unknown keys are rejected everywhere (``extra="forbid"``). Durations are written ``30s``,
``15m``, ``1h`` (also ``1h30m``, ``2d``); sizes ``512KiB``, ``10MiB``, ``1GB``.
Loading and error reporting (file:line:col) are in `watcher.config.settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from watcher.errors import WatcherError
from watcher.ingest.netguard import parse_private_host
from watcher.service.cron import cron_trigger

DEFAULT_CONFIG_PATH = Path("/etc/sanctions-watch/config.yaml")
CONFIG_ENV = "SANCTIONS_WATCH_CONFIG"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
}


def parse_duration(value: object) -> float:
    """``"1h30m"`` -> 5400.0 seconds. Bare numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 1h or 1h30m")
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    else:
        raise ValueError("expected a duration such as 30s, 15m or 1h")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_size(value: object) -> int:
    """``"10MiB"`` -> 10485760 bytes. Bare numbers are bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512KiB or 10MiB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        found = _SIZE.fullmatch(value.strip())
        if not found:
            raise ValueError(f"{value!r} is not a size; write e.g. 512KiB, 10MiB or 1GB")
        size = int(float(found.group(1)) * _SIZE_UNITS[found.group(2)])
    else:
        raise ValueError("expected a size such as 512KiB or 10MiB")
    if size <= 0:
        raise ValueError("a size must be positive")
    return size


def _url_check(kind: str) -> Callable[[str], str]:
    """A validator for a `kind` ("feed", "list") URL: http(s) or file, stripped."""

    def check(value: str) -> str:
        if not re.match(r"(?i)(https?|file)://", value.strip()):
            raise ValueError(
                f"{value!r} is not a {kind} URL; it must start with https://, http:// or file://"
            )
        return value.strip()

    return check


_check_url = _url_check("feed")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(
            f"{value!r} is not a time zone; use an IANA name such as UTC or Europe/Moscow"
        ) from None
    return value


def _check_cron(value: str) -> str:
    try:
        cron_trigger(value, "UTC")  # cron's weekdays (0/7 = Sunday), not APScheduler's
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a cron schedule ({exc}); write 5 fields: "
            "minute hour day-of-month month day-of-week, e.g. '0 7 * * *' for 07:00 daily"
        ) from None
    return value


def _check_private_host(value: str) -> str:
    parse_private_host(value)  # raises ValueError naming what is wrong
    return value.strip()


def _one_or_many(value: object) -> object:
    """A single item where a list is expected means a list of one (``watchlists: lists/``)."""
    return [value] if isinstance(value, str) else value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than zero")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
Size = Annotated[int, BeforeValidator(parse_size)]
SeverityLevel = Literal["low", "medium", "high"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Section):
    url: Annotated[str, AfterValidator(_check_url)]
    name: str = ""
    interval: PositiveDuration | None = None  # overrides polling.interval
    backfill: bool = False  # alert on the items already in the feed at its first poll
    allow_private: bool = False  # this feed's own host may be on a private/loopback address


class PollingConfig(_Section):
    interval: PositiveDuration = 900.0
    jitter: Duration = 60.0
    timeout: PositiveDuration = 30.0  # whole-fetch deadline, not per read
    concurrency: int = Field(default=16, ge=1, le=1024)
    per_host: int = Field(default=2, ge=1, le=64)
    max_bytes: Size = 10 * 2**20
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_backoff: PositiveDuration = 6 * 3600.0
    stale_after: PositiveDuration = 7 * 86400.0  # no new item for this long: "stale"
    retention: PositiveDuration = 90 * 86400.0  # article rows older than this are pruned
    user_agent: str = "sanctions-watch/0.1 (+https://github.com/sanctions-watch/sanctions-watch)"
    allow_private_networks: bool = False  # every feed may reach any address (all or nothing)
    # host names and networks whose private addresses any feed may reach
    allow_private_hosts: tuple[Annotated[str, AfterValidator(_check_private_host)], ...] = ()


class MatchingConfig(_Section):
    threshold: int = Field(default=90, ge=0, le=100)
    ignore: Annotated[
        tuple[Path, ...], BeforeValidator(_one_or_many)
    ] = ()  # ignore-list files (phrases / entry ids to suppress)


class DigestConfig(_Section):
    schedule: Annotated[str, AfterValidator(_check_cron)] = "0 7 * * *"  # cron, in `timezone`
    timezone: Annotated[str, AfterValidator(_check_timezone)] = "UTC"
    alert_severity: Literal["none", "low", "medium", "high"] = "high"
    send_empty: bool = False
    max_bytes: Size = 100_000  # a larger digest is split into parts (at most 10; the rest waits)
    # Immediate alerts, bounded (what does not go out at once is still in the next digest):
    alert_window: Duration = 3600.0  # an entry starts at most one alert mail per window
    alert_max_per_run: int = Field(default=10, ge=1)  # alert mails per alert pass
    alert_max_per_hour: int = Field(default=20, ge=1)  # alert mails in any rolling hour
    alert_max_age: PositiveDuration = 2 * 86400.0  # older articles: digest only, no alert
    alert_max_articles: int = Field(default=20, ge=1, le=1000)  # listed in one alert mail


class EmailConfig(_Section):
    from_: str = Field(default="sanctions-watch <watch@localhost>", alias="from")
    to: Annotated[tuple[str, ...], BeforeValidator(_one_or_many)] = ()
    subject_prefix: str = "[sanctions-watch]"
    delivery: Literal["smtp", "directory"] = "smtp"
    directory: Path = Path("./outbox")
    templates: Path | None = None  # user templates; bundled ones are the fallback

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SmtpConfig(_Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    timeout: PositiveDuration = 30.0  # whole-send deadline
    ca_file: Path | None = None  # extra CA bundle to trust (private relays, tests)


# --- official lists kept current (issue 11) -------------------------------------------------

# list names (here and in watchlist files) and entry ids: one rule, safe in file names
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _check_list_name(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid list name: use lowercase letters, digits, '.', '_' and"
            " '-', starting with a letter or digit (e.g. ofac)"
        )
    return value


_check_list_url = _url_check("list")


class ListConfig(_Section):
    """One official list the daemon keeps current (``lists:``)."""

    name: Annotated[str, AfterValidator(_check_list_name)]
    source: Literal["ofac", "un", "opensanctions"]
    urls: Annotated[
        tuple[Annotated[str, AfterValidator(_check_list_url)], ...],
        BeforeValidator(_one_or_many),
        Field(min_length=1),
    ]
    every: PositiveDuration = 86400.0  # check interval; an unchanged list costs a 304
    severity: SeverityLevel = "medium"
    path: Path | None = None  # default: <state_dir>/lists/<name>.yaml
    stale_after: PositiveDuration | None = None  # default: 3 x every, at least 3 days
    max_loss: float = Field(default=0.5, gt=0, le=1)  # refuse a version losing more entries


class RetentionConfig(_Section):
    rescreen: Duration = 30 * 86400.0  # article text kept for back-screening newly listed


# --- PostgreSQL instead of the SQLite file (issue 10) -----------------------------------------

MIN_LEASE = 5.0  # seconds; see `_check_lease`
_DATABASE_SCHEMES = ("postgresql", "postgres")
_URL_PASSWORD_MESSAGE = (
    "the URL holds a password, and a URL lands in logs, `ps` and error messages; remove it "
    "from the URL and put it in a file named by password_file (under systemd: a "
    "LoadCredential= file) or an environment variable named by password_env"
)


def _check_database_url(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DATABASE_SCHEMES:
        raise ValueError(
            f"{value!r} is not a PostgreSQL URL; write "
            "postgresql://USER@HOST:5432/DATABASE (without the password)"
        )
    try:
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number in range
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port; write e.g. db.example.org:5432") from None
    if parts.password is not None or "password" in parse_qs(parts.query):
        raise ValueError(_URL_PASSWORD_MESSAGE)  # the message must not repeat the URL
    from psycopg import ProgrammingError  # noqa: PLC0415 -- the driver only for its users
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        conninfo_to_dict(url)  # libpq's own parser: what it refuses, no connection can use
    except ProgrammingError as exc:
        raise ValueError(
            f"libpq cannot read this URL: {' '.join(str(exc).split())}; see "
            "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS"
        ) from None
    return url


def _check_lease(value: float) -> float:
    if value < MIN_LEASE:
        raise ValueError(
            f"must be at least {MIN_LEASE:.0f}s: a shorter lease runs out during an ordinary "
            "pause (a slow poll or send, a network hiccup) and another instance takes over work "
            "still in progress; 30s is the default"
        )
    return value


class DatabaseConfig(_Section):
    """``database:``: keep the state in PostgreSQL (shared by several instances) rather than
    the SQLite file in ``state_dir``. The password never goes in the config: it is read from
    `password_file` or `password_env` each time a connection is made (`password`)."""

    url: Annotated[str, AfterValidator(_check_database_url)]  # postgresql://USER@HOST:PORT/DB
    password_file: Path | None = None  # e.g. a systemd credential /run/credentials/<unit>/...
    password_env: str | None = None  # the environment variable holding the password
    # how long a claim (a feed's poll, the digest, queued mail) outlives a silent instance
    lease: Annotated[float, BeforeValidator(parse_duration), AfterValidator(_check_lease)] = 30.0

    @model_validator(mode="after")
    def _one_password_source(self) -> DatabaseConfig:
        if self.password_file is not None and self.password_env is not None:
            raise ValueError(
                "password_file and password_env are both set; keep one (the password has one "
                "source)"
            )
        return self

    def password(self) -> str | None:
        """The password from `password_file` (its first line) or `password_env`, read now;
        None when neither is set (libpq's own ``PGPASSWORD``, ``~/.pgpass`` or a password-less
        method such as peer or certificate authentication then applies). A missing or
        unreadable source is a `WatcherError` naming it."""
        if self.password_file is not None:
            try:
                text = self.password_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise WatcherError(
                    f"database.password_file: cannot read {self.password_file}: "
                    f"{exc.strerror or exc}. Under systemd the unit's LoadCredential= line puts "
                    "it there; run by hand, pass the file (--password-file) or set PGPASSWORD"
                ) from exc
            password = text.rstrip("\r\n")
            if not password:
                raise WatcherError(f"database.password_file: {self.password_file} is empty")
            return password
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise WatcherError(
                    f"database.password_env: environment variable {self.password_env} is not set"
                )
            return value
        return None

    def conninfo(self) -> str:
        """The libpq connection string: `url` with the password (`password`) added."""
        from psycopg.conninfo import make_conninfo  # noqa: PLC0415 -- only PostgreSQL users

        password = self.password()
        return (
            make_conninfo(self.url)
            if password is None
            else make_conninfo(self.url, password=password)
        )


class Config(_Section):
    state_dir: Path | None = None  # None: $STATE_DIRECTORY, else ./state (see `resolved_state_dir`)
    watchlists: Annotated[tuple[Path, ...], BeforeValidator(_one_or_many)] = ()
    feeds: tuple[FeedConfig, ...] = ()
    polling: PollingConfig = PollingConfig()
    matching: MatchingConfig = MatchingConfig()
    digest: DigestConfig = DigestConfig()
    email: EmailConfig = EmailConfig()
    smtp: SmtpConfig = SmtpConfig()
    lists: tuple[ListConfig, ...] = ()
    retention: RetentionConfig = RetentionConfig()
    database: DatabaseConfig | None = None  # None: SQLite in state_dir
