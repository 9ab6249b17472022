"""`watcher demo`: the whole pipeline on bundled sample feeds, offline, in under a minute.

The package ships three sample feeds (``feeds/``: RSS and Atom, items written for this
project in the style of October 2025 news, plus everyday items and deliberate near-misses
such as a tennis player called Novak) and two small watchlists (``watchlists/``). The demo
copies them into a directory, writes a config that reads the feeds as ``file://`` URLs and
delivers mail into ``outbox/`` as .eml files, then runs the same pass as ``watcher run
--once`` with ``backfill`` on (a feed's first poll would otherwise only record a baseline).

The clock is pinned to `DEMO_NOW` (the morning after the sample news), so the digest is the
same whenever and wherever the demo runs.
"""

from __future__ import annotations

import asyncio
import email
import email.parser
import email.policy
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from watcher.config.schema import Config
from watcher.config.settings import load_config
from watcher.errors import WatcherError
from watcher.service.once import OnceResult, run_once
from watcher.state.open import open_state

DATA = Path(__file__).parent
DEMO_NOW = datetime(2025, 10, 31, 7, 0, tzinfo=UTC).timestamp()
MARKER = ".watcher-demo"
FEEDS = {
    "world.xml": "Demo Wire: World",
    "markets.xml": "Demo Wire: Energy & Markets",
    "life.xml": "Demo Wire: Sport & Life",
}

CONFIG_TEMPLATE = """\
# Written by `watcher demo`: a complete sanctions-watch config. Edit it, or the watchlists
# next to it, and run `watcher demo --dir {dir}` again (state and outbox start afresh), or
# run it yourself: watcher run --once --config {dir}/config.yaml
# Every key is described in deploy/config.example.yaml.
state_dir: state
watchlists:
  - watchlists/
feeds:
{feeds}
polling:
  allow_private_networks: false
  # the sample feeds are frozen in October 2025 and never get a new article: staleness
  # (counted from the newest article's date) would only ever say so
  stale_after: 3650d
digest:
  alert_severity: high   # high-severity matches are also mailed at once, as alerts
  alert_max_age: 14d     # the sample news is from the week before (the default is 2d)
  send_empty: true
email:
  from: "sanctions-watch demo <watch@localhost>"
  to: [analyst@example.org]
  subject_prefix: "[sanctions-watch demo]"
  delivery: directory    # write .eml files instead of talking to an SMTP server
  directory: outbox
"""

FEED_TEMPLATE = """\
  - url: {url}
    name: "{name}"
    backfill: true       # mail what the feed already holds on its first poll"""


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    config: Path
    once: OnceResult
    digest: Path | None
    digest_html: Path | None
    alerts: list[Path]


def prepare(directory: Path) -> Path:
    """Lay out the demo directory (feeds, watchlists, config); returns the config path.

    Files the user may have edited (config, watchlists) are kept; the feeds, the state and
    the outbox are the demo's own and are replaced, so every run starts from scratch.
    """
    directory = directory.absolute()
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise WatcherError(
            f"{directory} exists and is not a demo directory; pass --dir with a new or empty "
            "directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("written by `watcher demo`\n")
    for owned in ("state", "outbox"):
        shutil.rmtree(directory / owned, ignore_errors=True)
    shutil.copytree(DATA / "feeds", directory / "feeds", dirs_exist_ok=True)
    if not (directory / "watchlists").exists():
        shutil.copytree(DATA / "watchlists", directory / "watchlists")
    config = directory / "config.yaml"
    if not config.exists():
        feeds = "\n".join(
            FEED_TEMPLATE.format(url=(directory / "feeds" / file).as_uri(), name=name)
            for file, name in FEEDS.items()
        )
        config.write_text(CONFIG_TEMPLATE.format(dir=_shown(directory), feeds=feeds))
    return config


def run(directory: Path) -> DemoResult:
    config = prepare(directory)
    once = asyncio.run(run_once(config, now=DEMO_NOW))
    outbox = config.parent / "outbox"
    digest, alerts = _delivered(load_config(config), outbox)
    html = _write_html(digest) if digest else None
    return DemoResult(config.parent, config, once, digest, html, alerts)


def _delivered(config: Config, outbox: Path) -> tuple[Path | None, list[Path]]:
    """The .eml files of the digest and the alerts, found by their Message-IDs."""
    store = open_state(config)
    try:
        with store.snapshot() as tx:
            messages = tx.outbox_messages()
    finally:
        store.close()
    by_id = {_message_id(p): p for p in sorted(outbox.glob("*.eml"))}
    digests = [
        by_id[m.message_id] for m in messages if m.kind == "digest" and m.message_id in by_id
    ]
    alerts = [by_id[m.message_id] for m in messages if m.kind == "alert" and m.message_id in by_id]
    return (digests[-1] if digests else None), alerts


def _message_id(path: Path) -> str:
    with path.open("rb") as handle:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(handle)
    return str(headers.get("Message-ID", "")).strip()


def _write_html(eml: Path) -> Path | None:
    """Save the digest's HTML part next to it, for opening in a browser."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html",))
    if part is None:
        return None
    html = eml.with_suffix(".html")
    html.write_text(part.get_content(), encoding="utf-8")
    return html


def summary(result: DemoResult) -> list[str]:
    """What the demo prints: where the digest landed and what it holds."""
    once = result.once
    lines = [
        f"polled {once.feeds} sample feeds ({_shown(result.directory / 'feeds')}), "
        f"watchlists in {_shown(result.directory / 'watchlists')}",
    ]
    if result.alerts:
        lines.append(
            f"alerts: {len(result.alerts)} immediate alert(s) for high-severity matches in "
            f"{_shown(result.directory / 'outbox')}/"
        )
    if result.digest is None:
        lines.append("digest: none was written (no matches?); see the log above")
    else:
        lines.append(
            f"digest: {_shown(result.digest)} ({once.digest_matches} matches, "
            f"{once.digest_high} high)"
        )
        if result.digest_html is not None:
            lines.append(f"open {_shown(result.digest_html)} in a browser to read it")
    lines.append(
        f"config: {_shown(result.config)}; edit it or the watchlists and run the demo again"
    )
    return lines


def _shown(path: Path) -> str:
    """A path as short as it can be said: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
