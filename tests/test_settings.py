"""The config file: validation with exact positions, durations and sizes, paths, env vars."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config.schema import (
    CONFIG_ENV,
    DEFAULT_CONFIG_PATH,
    Config,
    parse_duration,
    parse_size,
)
from watcher.config.settings import config_path, load_config, resolved_state_dir
from watcher.errors import ValidationFailed, WatcherError


def write_config(directory: Path, text: str, name: str = "config.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_config(path)
    return [str(p).replace(str(path.parent) + "/", "") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        (45, 45.0),
        (2.5, 2.5),
        ("1h 30m", 5400.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512KiB", 524288),
        ("10MiB", 10485760),
        ("1GB", 10**9),
        ("100KB", 100_000),
        ("10 MB", 10**7),
        (4096, 4096),
        ("2048", 2048),
        ("1.5KiB", 1536),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


def test_config_values_are_parsed(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "a.yaml").write_text("entries: []\n")
    path = write_config(
        tmp_path,
        """
        watchlists: [lists]
        feeds:
          - url: https://example.org/rss
            interval: 5m
          - {url: "file:///srv/feed.xml", name: Local, backfill: true}
        polling: {interval: 1h30m, max_bytes: 2MiB, concurrency: 4}
        matching: {threshold: 88}
        digest: {schedule: "30 6 * * mon-fri", timezone: Europe/Moscow, alert_severity: medium}
        email: {from: watch@example.org, to: [analyst@example.org], delivery: directory}
        smtp: {host: mail.example.org, port: 465, security: tls}
        """,
    )
    config = load_config(path)
    assert [(f.url, f.name, f.interval, f.backfill) for f in config.feeds] == [
        ("https://example.org/rss", "", 300.0, False),
        ("file:///srv/feed.xml", "Local", None, True),
    ]
    assert (config.polling.interval, config.polling.max_bytes, config.polling.concurrency) == (
        5400.0,
        2 * 2**20,
        4,
    )
    assert config.polling.timeout == 30.0  # untouched defaults stay
    assert config.matching.threshold == 88
    assert (config.digest.schedule, config.digest.timezone) == ("30 6 * * mon-fri", "Europe/Moscow")
    assert (config.email.from_, config.email.to) == ("watch@example.org", ("analyst@example.org",))
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "mail.example.org",
        465,
        "tls",
    )


def test_empty_config_file_means_every_default(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ""))
    assert config.model_dump(exclude={"email"}) == Config().model_dump(exclude={"email"})
    assert config.email.directory == tmp_path / "outbox"  # relative default, resolved


CONFIG_REJECTIONS = [
    pytest.param(
        "polling:\n  intervall: 5m\n",
        [
            "config.yaml:2:3: polling.intervall: unknown key 'intervall' (did you mean "
            "'interval'?); allowed keys: allow_private_hosts, allow_private_networks, "
            "concurrency, interval, jitter, "
            "max_backoff, max_bytes, max_redirects, per_host, retention, stale_after, timeout, "
            "user_agent"
        ],
        id="unknown-nested-key",
    ),
    pytest.param(
        "feed:\n  - url: https://example.org/rss\n",
        [
            "config.yaml:1:1: feed: unknown key 'feed' (did you mean 'feeds'?); allowed keys: "
            "database, digest, email, feeds, lists, matching, polling, retention, smtp, "
            "state_dir, watchlists"
        ],
        id="unknown-top-level-key",
    ),
    pytest.param(
        "polling:\n  interval: 15 minutes\n",
        [
            "config.yaml:2:13: polling.interval: '15 minutes' is not a duration; write e.g. "
            "30s, 15m, 1h or 1h30m"
        ],
        id="bad-duration",
    ),
    pytest.param(
        "polling:\n  interval: 0s\n",
        ["config.yaml:2:13: polling.interval: must be greater than zero"],
        id="zero-interval",
    ),
    pytest.param(
        "polling:\n  jitter: -5\n",
        ["config.yaml:2:11: polling.jitter: a duration cannot be negative"],
        id="negative-duration",
    ),
    pytest.param(
        "polling:\n  max_bytes: 10 megabytes\n",
        [
            "config.yaml:2:14: polling.max_bytes: '10 megabytes' is not a size; write e.g. "
            "512KiB, 10MiB or 1GB"
        ],
        id="bad-size",
    ),
    pytest.param(
        "polling:\n  concurrency: many\n",
        ["config.yaml:2:16: polling.concurrency: expected a whole number, got 'many'"],
        id="not-a-number",
    ),
    pytest.param(
        "polling:\n  concurrency: 0\n",
        ["config.yaml:2:16: polling.concurrency: must be at least 1, got 0"],
        id="below-minimum",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/a\n  - url: example.org/rss\n",
        [
            "config.yaml:3:10: feeds[1].url: 'example.org/rss' is not a feed URL; it must start "
            "with https://, http:// or file://"
        ],
        id="bad-feed-url",
    ),
    pytest.param(
        "feeds:\n  - name: Reuters\n",
        ["config.yaml:2:5: feeds[0].url: required key 'url' is missing; add it"],
        id="feed-without-url",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/a\n  - url: https://example.org/a\n",
        [
            "config.yaml:3:10: feeds[1].url: feed https://example.org/a is already listed as "
            "feeds[0]; remove one"
        ],
        id="duplicate-feed",
    ),
    pytest.param(
        "lists:\n  - {name: ofac, source: ofac, urls: [https://example.org/sdn.csv]}\n"
        "  - {name: ofac, source: ofac, urls: [https://example.org/cons.csv]}\n",
        [
            "config.yaml:3:12: lists[1].name: list 'ofac' is already configured as lists[0]; "
            "rename one"
        ],
        id="duplicate-list",
    ),
    pytest.param(
        "lists:\n  - {name: un, source: un, urls: [scsanctions.un.org/consolidated.xml]}\n",
        [
            "config.yaml:2:35: lists[0].urls[0]: 'scsanctions.un.org/consolidated.xml' is not a "
            "list URL; it must start with https://, http:// or file://"
        ],
        id="bad-list-url",
    ),
    pytest.param(
        "feeds: https://example.org/rss\n",
        [
            "config.yaml:1:8: feeds: expected a list, e.g. [A, B] or one '- item' per line, "
            "got 'https://example.org/rss'"
        ],
        id="feeds-not-a-list",
    ),
    pytest.param(
        "email:\n  delivery: pigeon\n",
        [
            "config.yaml:2:13: email.delivery: 'pigeon' is not allowed; use one of 'smtp' or "
            "'directory'"
        ],
        id="bad-choice",
    ),
    pytest.param(
        "digest:\n  schedule: '0 7 * *'\n",
        [
            "config.yaml:2:13: digest.schedule: '0 7 * *' is not a cron schedule (Wrong number "
            "of fields; got 4, expected 5); write 5 fields: minute hour day-of-month month "
            "day-of-week, e.g. '0 7 * * *' for 07:00 daily"
        ],
        id="bad-cron",
    ),
    pytest.param(
        "digest:\n  timezone: Europe/Mosco\n",
        [
            "config.yaml:2:13: digest.timezone: 'Europe/Mosco' is not a time zone; use an IANA "
            "name such as UTC or Europe/Moscow"
        ],
        id="bad-timezone",
    ),
    pytest.param(
        "smtp:\n  port: 70000\n",
        ["config.yaml:2:9: smtp.port: must be at most 65535, got 70000"],
        id="port-out-of-range",
    ),
    pytest.param(
        "smtp: !!python/object:smtplib.SMTP {host: x}\n",
        [
            "config.yaml:1:7: YAML tag !!python/object:smtplib.SMTP is not allowed; remove it "
            "(only plain text, numbers, true/false, lists and mappings are accepted)"
        ],
        id="python-tag",
    ),
    pytest.param(
        "smtp:\n  host: a\n  host: b\n",
        ["config.yaml:3:3: duplicate key 'host'; each key may appear once in a mapping"],
        id="duplicate-key",
    ),
    pytest.param(
        "watchlists: [missing.yaml]\nmatching:\n  ignore: [nope.yaml]\n",
        [
            "config.yaml:1:14: watchlists[0]: missing.yaml does not exist; fix the path "
            "(relative paths are resolved against the config file's directory)",
            "config.yaml:3:12: matching.ignore[0]: nope.yaml does not exist; fix the path "
            "(relative paths are resolved against the config file's directory)",
        ],
        id="missing-input-files",
    ),
    pytest.param(
        "polling: {interval: 5m\n",
        [
            "config.yaml:2:1: YAML syntax error: did not find expected ',' or '}' (while "
            "parsing a flow mapping started on line 1)"
        ],
        id="syntax-error",
    ),
    pytest.param(
        "- just a list\n",
        ["config.yaml:1:1: expected a mapping of 'key: value' lines, got a list"],
        id="not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONFIG_REJECTIONS)
def test_config_rejection_at_its_position(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write_config(tmp_path, text)
    assert problems_of(path) == expected  # (problems_of strips the directory from paths)


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        polling:
          interval: soon
          concurrency: 0
        feeds:
          - url: gopher://x
        email:
          delivery: pigeon
          reply_to: x@example.org
        """,
    )
    assert [p.split(": ")[0] + ": " + p.split(": ")[1] for p in problems_of(path)] == [
        "config.yaml:2:13: polling.interval",
        "config.yaml:3:16: polling.concurrency",
        "config.yaml:5:10: feeds[0].url",
        "config.yaml:7:13: email.delivery",
        "config.yaml:8:3: email.reply_to",
    ]


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    (etc / "lists").mkdir(parents=True)
    (etc / "lists" / "a.yaml").write_text("entries: []\n")
    (etc / "templates").mkdir()
    (etc / "ignore.yaml").write_text("ignore: []\n")
    (etc / "secret").write_text("pw\n")
    (etc / "ca.pem").write_text("")
    absolute = tmp_path / "elsewhere.yaml"
    absolute.write_text("entries: []\n")
    path = write_config(
        etc,
        f"""
        state_dir: var/state
        watchlists: [lists, ./lists/a.yaml, {absolute}]
        matching: {{ignore: [ignore.yaml]}}
        email: {{directory: mail/out, templates: templates}}
        smtp: {{password_file: secret, ca_file: ./ca.pem}}
        """,
    )
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    config = load_config(Path("etc/config.yaml"))
    assert config.state_dir == etc / "var/state"
    assert config.watchlists == (etc / "lists", etc / "lists/a.yaml", absolute)
    assert config.matching.ignore == (etc / "ignore.yaml",)
    assert (config.email.directory, config.email.templates) == (etc / "mail/out", etc / "templates")
    assert (config.smtp.password_file, config.smtp.ca_file) == (etc / "secret", etc / "ca.pem")
    assert resolved_state_dir(config) == etc / "var/state"
    assert path.exists()


def test_home_directory_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write_config(tmp_path, "state_dir: ~/state\n"))
    assert config.state_dir == tmp_path / "home" / "state"


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert config_path(None) == DEFAULT_CONFIG_PATH == Path("/etc/sanctions-watch/config.yaml")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "from-env.yaml"))
    assert config_path(None) == tmp_path / "from-env.yaml"
    assert config_path(tmp_path / "explicit.yaml") == tmp_path / "explicit.yaml"


def test_env_var_selects_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "matching: {threshold: 77}\n", name="env.yaml")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_config().matching.threshold == 77
    assert load_config(write_config(tmp_path, "")).matching.threshold == 90  # --config wins


def test_missing_config_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(WatcherError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value) == (
        f"config file {tmp_path}/nope.yaml not found (pass --config PATH or set {CONFIG_ENV})"
    )


def test_state_dir_fallbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path, ""))
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/sanctions-watch:/var/lib/other")
    assert resolved_state_dir(config) == Path("/var/lib/sanctions-watch")
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.chdir(tmp_path)
    assert resolved_state_dir(config) == tmp_path / "state"
    explicit = load_config(write_config(tmp_path, "state_dir: /srv/state\n"))
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/sanctions-watch")
    assert resolved_state_dir(explicit) == Path("/srv/state")


def test_a_single_path_or_address_counts_as_a_list_of_one(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "ignore.yaml").write_text("ignore: []\n")
    config = load_config(
        write_config(
            tmp_path,
            "watchlists: lists\nmatching: {ignore: ignore.yaml}\nemail: {to: a@example.org}\n",
        )
    )
    assert config.watchlists == (tmp_path / "lists",)
    assert config.matching.ignore == (tmp_path / "ignore.yaml",)
    assert config.email.to == ("a@example.org",)


def test_config_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(WatcherError, match=r"config file .* is not a file \(pass --config"):
        load_config(tmp_path)


def test_private_address_settings(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        feeds:
          - {url: "http://intranet.example.org/feed.xml", allow_private: true}
          - url: https://public.example/feed.xml
        polling:
          allow_private_hosts: [wiki.example.org, 10.1.2.0/24, "fd00::1"]
        """,
    )
    config = load_config(path)
    assert [f.allow_private for f in config.feeds] == [True, False]
    assert config.polling.allow_private_hosts == ("wiki.example.org", "10.1.2.0/24", "fd00::1")
    assert config.polling.allow_private_networks is False  # the old key keeps its default
    bad = write_config(
        tmp_path, "polling:\n  allow_private_hosts: [ok.example, 'a b/c']\n", "b.yaml"
    )
    [problem] = problems_of(bad)
    assert problem.startswith("b.yaml:2:37: polling.allow_private_hosts[1]: ")
    assert "neither a host name" in problem
