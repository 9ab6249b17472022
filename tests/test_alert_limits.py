"""Bounded alerts: one mail per entry per window, per-run and per-hour caps whose overflow the
digest lists with a note, no alert for old stories, bounded reads, collision-proof ids.

Real SQLite files throughout; mail that is sent goes to the aiosmtpd server of
tests/smtpserver.py, feeds come from the HTTP server of tests/feedserver.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from feedserver import FeedServer, rss
from notifier_samples import make_config, record_match
from smtpserver import SmtpTestServer

from watcher.config.schema import Config, DigestConfig
from watcher.config.settings import load_config
from watcher.notify import notifier
from watcher.notify.notice import OutboxMessage
from watcher.service.once import run_once
from watcher.state.errors import DuplicateMessageError
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store

T0 = 1_761_202_800.0  # 2025-10-23 07:00 UTC
RECENT = T0 - 3600.0  # found (and published) an hour before T0
HOUR = 3600.0


@pytest.fixture(name="store")
def store_fixture(state: StateStore) -> StateStore:
    """The contract suite's store: the tests taking it run on SQLite and on PostgreSQL."""
    return state


def _config(tmp_path: Path, **digest: object) -> Config:
    return make_config(tmp_path, digest=DigestConfig(timezone="UTC", **digest))  # type: ignore[arg-type]


def _articles(
    store: StateStore, entry: str, count: int, *, first: int = 0, at: float = RECENT
) -> None:
    """`count` articles about `entry`, one a second, the newest last."""
    for n in range(first, first + count):
        record_match(store, article=f"{entry}-{n}", entry=entry, found_at=at + n)


def _outbox(store: StateStore, kind: str | None = None) -> list[OutboxMessage]:
    with store.transaction() as tx:
        return tx.outbox_messages(kind)


def _parsed(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def _alert_texts(store: StateStore) -> list[str]:
    return [_text(_parsed(m.data)) for m in _outbox(store, "alert")]


def _unalerted(store: StateStore) -> list[str]:
    with store.snapshot() as tx:
        return sorted(m.article_id for m in tx.unalerted_matches(["high"]))


def _digest_text(store: StateStore, digest_id: str) -> str:
    (digest,) = [m for m in _outbox(store, "digest") if digest_id.encode() in m.data]
    return _text(_parsed(digest.data))


# --- coalescing per entry ---------------------------------------------------------------------


def test_one_alert_mail_per_entry_lists_its_articles_newest_first(
    store: StateStore, tmp_path: Path
) -> None:
    _articles(store, "rosneft", 5)
    _articles(store, "putin", 1)
    assert notifier.queue_alerts(store, _config(tmp_path), T0) == 2  # was one per article: 6
    subjects = sorted(_parsed(m.data)["Subject"] for m in _outbox(store, "alert"))
    assert subjects == [
        "[sanctions-watch] ALERT high: Putin — Story putin-0",
        "[sanctions-watch] ALERT high: Rosneft — 5 articles",
    ]
    (rosneft,) = [t for t in _alert_texts(store) if "5 new articles" in t]
    titles = re.findall(r"^Story (rosneft-\d)$", rosneft, re.M)
    assert titles == [f"rosneft-{n}" for n in (4, 3, 2, 1, 0)]
    assert _unalerted(store) == []


def test_an_article_naming_two_entries_is_one_mail_showing_both(
    store: StateStore, tmp_path: Path
) -> None:
    record_match(store, article="a1", entry="rosneft", found_at=RECENT)
    record_match(store, article="a1", entry="lukoil", found_at=RECENT)
    assert notifier.queue_alerts(store, _config(tmp_path), T0) == 1
    (text,) = _alert_texts(store)
    assert "-- Lukoil [" in text and "-- Rosneft [" in text
    assert text.count("Story a1") == 1


def test_an_entry_mails_again_only_when_its_window_has_passed(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_window="1h")
    _articles(store, "rosneft", 1)
    assert notifier.queue_alerts(store, config, T0) == 1
    _articles(store, "rosneft", 2, first=1, at=T0)
    _articles(store, "lukoil", 1, at=T0)
    # Rosneft is inside its window: its new articles wait (not dropped, not held back);
    # Lukoil has had no alert and goes out at once
    assert notifier.queue_alerts(store, config, T0 + 600) == 1
    assert _unalerted(store) == ["rosneft-1", "rosneft-2"]
    assert notifier.queue_alerts(store, config, T0 + HOUR - 1) == 0
    # the window is over: one mail lists everything that waited
    assert notifier.queue_alerts(store, config, T0 + HOUR + 1) == 1
    assert _unalerted(store) == []
    last = _parsed(_outbox(store, "alert")[-1].data)
    assert last["Subject"] == "[sanctions-watch] ALERT high: Rosneft — 2 articles"


def test_window_zero_mails_every_pass(store: StateStore, tmp_path: Path) -> None:
    config = _config(tmp_path, alert_window="0s")
    _articles(store, "rosneft", 1)
    assert notifier.queue_alerts(store, config, T0) == 1
    _articles(store, "rosneft", 1, first=1, at=T0)
    assert notifier.queue_alerts(store, config, T0 + 1) == 1


# --- caps: what they hold back, the digest lists once, with a note ---------------------------


def test_per_run_cap_holds_the_rest_back_for_the_digest_with_a_note(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_max_per_run=10)
    for n in range(13):
        _articles(store, f"entity-{n:02d}", 1)
    assert notifier.queue_alerts(store, config, T0) == 10
    assert _unalerted(store) == []  # the other three are held back, not waiting
    assert notifier.queue_alerts(store, config, T0 + 2 * HOUR) == 0  # and never alerted later
    digest_id = notifier.queue_digest(store, config, T0 + 2 * HOUR)
    assert digest_id is not None
    text = _digest_text(store, digest_id)
    assert "13 new matches in 13 articles" in text
    assert "10 of these already went out as immediate alerts." in text
    assert (
        "3 matches were held back from immediate alerts by the alert caps; "
        "they are listed below." in text
    )
    assert all(f"Story entity-{n:02d}-0" in text for n in range(13))
    with store.snapshot() as tx:
        assert tx.pending_match_count() == 0  # listed once...
    assert notifier.queue_digest(store, config, T0 + 3 * HOUR) is None  # ...and never again


def test_held_back_alerts_survive_a_digest_render_failure(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_max_per_run=1)
    _articles(store, "rosneft", 1)
    _articles(store, "lukoil", 1)
    assert notifier.queue_alerts(store, config, T0) == 1
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "digest.txt.j2").write_text("{{ summary.total ")
    email = config.email.model_copy(update={"templates": broken})
    with pytest.raises(Exception, match="template"):
        notifier.queue_digest(store, config.model_copy(update={"email": email}), T0 + 60)
    digest_id = notifier.queue_digest(store, config, T0 + 120)
    assert digest_id is not None
    assert "1 match was held back from immediate alerts" in _digest_text(store, digest_id)


def test_per_hour_cap_counts_the_alerts_of_the_last_hour(store: StateStore, tmp_path: Path) -> None:
    config = _config(tmp_path, alert_max_per_hour=3, alert_max_per_run=10)
    _articles(store, "a", 1)
    _articles(store, "b", 1)
    assert notifier.queue_alerts(store, config, T0) == 2
    for entry in ("c", "d", "e"):
        _articles(store, entry, 1, at=T0 + 60)
    assert notifier.queue_alerts(store, config, T0 + 600) == 1  # the hour's third
    assert _unalerted(store) == []  # two held back
    _articles(store, "f", 1, at=T0 + HOUR)
    _articles(store, "g", 1, at=T0 + HOUR)
    _articles(store, "h", 1, at=T0 + HOUR)
    # an hour after the first two, one alert of the last hour remains: two more may go
    assert notifier.queue_alerts(store, config, T0 + HOUR + 1) == 2
    assert len(_outbox(store, "alert")) == 5


def test_an_alert_lists_at_most_max_articles_and_holds_back_the_rest(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_max_articles=3)
    _articles(store, "rosneft", 8)
    assert notifier.queue_alerts(store, config, T0) == 1
    (text,) = _alert_texts(store)
    listed = re.findall(r"^Story (rosneft-\d)$", text, re.M)
    assert listed == ["rosneft-7", "rosneft-6", "rosneft-5"]
    assert (
        "5 more matches of Rosneft are not listed here (alert size cap); "
        "the next digest lists them." in text
    )
    assert notifier.queue_alerts(store, config, T0 + 2 * HOUR) == 0  # held back, not waiting
    digest_id = notifier.queue_digest(store, config, T0 + 2 * HOUR)
    assert digest_id is not None
    assert "5 matches were held back from immediate alerts" in _digest_text(store, digest_id)


# --- age ------------------------------------------------------------------------------------------


def test_old_stories_get_no_alert_but_reach_the_digest(store: StateStore, tmp_path: Path) -> None:
    config = _config(tmp_path, alert_max_age="2d")
    record_match(store, article="old", entry="putin", found_at=T0 - 400 * 86400)
    record_match(store, article="new", entry="rosneft", found_at=RECENT)
    assert notifier.queue_alerts(store, config, T0) == 1
    assert [_parsed(m.data)["Subject"] for m in _outbox(store, "alert")] == [
        "[sanctions-watch] ALERT high: Rosneft — Story new"
    ]
    digest_id = notifier.queue_digest(store, config, T0 + 60)
    assert digest_id is not None
    text = _digest_text(store, digest_id)
    assert "Story old" in text and "Story new" in text
    assert "1 match concerns an article too old for an immediate alert; listed below." in text


def test_age_counts_from_first_seen_when_the_feed_gives_no_date(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_max_age="2d")
    record_match(store, article="stale", entry="putin", found_at=T0 - 3 * 86400, undated=True)
    record_match(store, article="fresh", entry="rosneft", found_at=RECENT, undated=True)
    assert notifier.queue_alerts(store, config, T0) == 1
    (alert,) = _outbox(store, "alert")
    assert "Story fresh" in _parsed(alert.data)["Subject"]


# --- message ids ------------------------------------------------------------------------------


def test_message_ids_carry_128_random_bits(store: StateStore, tmp_path: Path) -> None:
    _articles(store, "rosneft", 1)
    _articles(store, "lukoil", 1)
    notifier.queue_alerts(store, _config(tmp_path), T0)
    for message in _outbox(store, "alert"):
        pattern = r"<alert\.\d{8}T\d{6}Z-([0-9a-f]+)\.1@example\.org>"
        found = re.fullmatch(pattern, message.message_id)
        assert found is not None and len(found.group(1)) >= 32


def test_a_message_id_already_in_the_outbox_is_refused_cleanly(store: StateStore) -> None:
    with store.transaction() as tx:
        tx.add_to_outbox("alert", "<same@example.org>", ["a@example.org"], b"one", T0)
    with (
        pytest.raises(DuplicateMessageError, match=re.escape("<same@example.org>")),
        store.transaction() as tx,
    ):
        tx.add_to_outbox("alert", "<same@example.org>", ["a@example.org"], b"two", T0)
    assert [m.data for m in _outbox(store)] == [b"one"]


def test_a_colliding_message_id_never_crashes_the_run(store: StateStore, tmp_path: Path) -> None:
    with store.transaction() as tx:
        tx.add_to_outbox("alert", "<alert.taken.1@example.org>", ["a@example.org"], b"x", T0)
    _articles(store, "rosneft", 1)
    ids = iter(["taken", "fresh"])
    queued = notifier.queue_alerts(store, _config(tmp_path), T0, new_id=lambda now: next(ids))
    assert queued == 1  # the first render collided: rolled back, rendered again
    assert [m.message_id for m in _outbox(store, "alert")] == [
        "<alert.taken.1@example.org>",
        "<alert.fresh.1@example.org>",
    ]
    assert _unalerted(store) == []


# --- bounded reads ------------------------------------------------------------------------------


def test_a_digest_reads_a_bounded_window_of_a_long_backlog(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_severity="none", max_bytes=6000)
    window = notifier.digest_read_limit(6000)
    total = window + 150
    for n in range(total):
        record_match(store, article=f"a{n:04d}", entry=f"e{n % 7}", severity="low", found_at=RECENT)
    read = notifier.read_digest_input(store, config, T0)
    assert read is not None
    assert (len(read.pending), read.unread) == (window, 150)
    digest_id = notifier.queue_digest(store, config, T0)
    assert digest_id is not None
    with store.snapshot() as tx:
        listed, _ = tx.digest_counts(digest_id)
        assert tx.pending_match_count() == total - listed
    parts = [_text(_parsed(m.data)) for m in _outbox(store, "digest")]
    left = total - listed
    assert f"{left} more matches did not fit in this digest" in parts[-1]


def test_a_flood_of_one_entry_reads_only_what_one_mail_lists(
    store: StateStore, tmp_path: Path
) -> None:
    config = _config(tmp_path, alert_max_articles=5)
    _articles(store, "rosneft", 400)
    plan = notifier.read_alert_plan(store, config, ["high"], T0)
    (batch,) = plan.batches
    assert (len(batch.matches), batch.held) == (5, 395)


# --- the whole path: a feed flood through `watcher run --once`, mailed over SMTP -------------


WATCHLIST = """\
list: flood
entries:
  - {id: rosneft, name: Rosneft, severity: high}
  - {id: lukoil, name: Lukoil, severity: high}
  - {id: novatek, name: Novatek, severity: high}
  - {id: sovcomflot, name: Sovcomflot, severity: high}
"""


def _flood_feed() -> bytes:
    counts = {"Rosneft": 30, "Lukoil": 10, "Novatek": 5, "Sovcomflot": 5}
    items = [
        {
            "guid": f"{name.lower()}-{n}",
            "link": f"https://news.test/{name.lower()}/{n}",
            "title": f"{name} story number {n}",
            "description": f"Officials said {name} would be affected.",
        }
        for name, count in counts.items()
        for n in range(count)
    ]
    return rss(*items)


async def test_run_once_on_a_flooding_feed_mails_a_bounded_number(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "flood.yaml").write_text(WATCHLIST)
    with FeedServer() as feeds, SmtpTestServer(tmp_path) as smtp:
        rss_type = {"Content-Type": "application/rss+xml"}
        feeds.route("/flood.xml", body=_flood_feed(), headers=rss_type)
        server = smtp.smtp_config()
        config = tmp_path / "config.yaml"
        config.write_text(
            textwrap.dedent(
                f"""\
                state_dir: {tmp_path / "state"}
                watchlists: [{tmp_path / "lists"}]
                feeds:
                  - url: {feeds.url("/flood.xml")}
                    backfill: true
                polling:
                  allow_private_networks: true
                digest:
                  alert_max_per_run: 2
                  alert_max_articles: 5
                  max_bytes: 1MiB
                email:
                  from: "sanctions-watch <watch@example.org>"
                  to: [analyst@example.org]
                smtp:
                  host: 127.0.0.1
                  port: {server.port}
                  username: {server.username}
                  password_file: {server.password_file}
                  ca_file: {server.ca_file}
                """
            )
        )
        assert load_config(config).digest.alert_max_per_run == 2
        result = await run_once(config)
        assert (result.sent, result.pending, result.exit_code) == (3, 0, 0)
        received = smtp.wait_for_messages(3)
        kinds = sorted(r.message["X-Sanctions-Watch-Kind"] for r in received)
        assert kinds == ["alert", "alert", "digest"]
        (digest,) = [r.message for r in received if r.message["X-Sanctions-Watch-Kind"] == "digest"]
        text = _text(digest)
        assert "50 new matches in 50 articles" in text
        # Lukoil and Novatek went out (5 articles each); the caps held back Lukoil's other 5,
        # Rosneft's 30 and Sovcomflot's 5
        assert "40 matches were held back from immediate alerts by the alert caps" in text
        again = await run_once(config)
        assert (again.sent, again.pending) == (0, 0)
        assert len(smtp.messages) == 3


def test_the_example_config_documents_the_alert_defaults(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "deploy" / "config.example.yaml"
    section = re.search(r"^digest:\n(?:[ #].*\n|\n)*", example.read_text(), re.M)
    assert section is not None and "alert_max_per_hour:" in section.group(0)
    path = tmp_path / "config.yaml"
    path.write_text(section.group(0))
    assert load_config(path).digest == DigestConfig()  # what it says is what you get


def test_a_lowered_hourly_cap_holds_back_without_a_conflict(
    store: StateStore, tmp_path: Path
) -> None:
    _articles(store, "a", 1)
    _articles(store, "b", 1)
    _articles(store, "c", 1)
    assert notifier.queue_alerts(store, _config(tmp_path), T0) == 3
    _articles(store, "d", 1, at=T0)
    # reloaded with a cap below what the last hour already sent: nothing more goes out,
    # and the new match is held back for the digest (not retried as a conflict)
    assert notifier.queue_alerts(store, _config(tmp_path, alert_max_per_hour=2), T0 + 60) == 0
    assert _unalerted(store) == []


# --- crashes: held-back alerts reach the digest exactly once --------------------------------


async def test_killed_after_queueing_capped_alerts_nothing_is_lost_or_sent_twice(
    tmp_path: Path,
) -> None:
    with SmtpTestServer(tmp_path) as server:
        config = make_config(
            tmp_path,
            email=make_config(tmp_path).email.model_copy(update={"delivery": "smtp"}),
            smtp=server.smtp_config(),
            digest=DigestConfig(timezone="UTC", alert_max_per_run=1),
        )
        script = textwrap.dedent(
            f"""
            import os, signal, sys
            from pathlib import Path
            from notifier_samples import record_match
            from watcher.notify import notifier
            from watcher.config.schema import Config
            from watcher.state.sqlite import Store
            config = Config.model_validate_json(sys.argv[2])
            store = Store(Path(sys.argv[1]))
            for entry in ("rosneft", "lukoil", "novatek"):
                record_match(store, article=entry, entry=entry, found_at={RECENT})
            assert notifier.queue_alerts(store, config, {T0}) == 1
            os.kill(os.getpid(), signal.SIGKILL)  # before any mail is sent
            """
        )
        tests = str(Path(__file__).resolve().parent)
        child = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "state"), config.model_dump_json()],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([tests, *sys.path])},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.returncode == -signal.SIGKILL, child.stderr

        store = Store(tmp_path / "state")
        try:
            assert notifier.queue_alerts(store, config, T0 + 60) == 0  # held back: no late alerts
            assert notifier.queue_digest(store, config, T0 + 120) is not None
            result = await notifier.drain_outbox(store, config, T0 + 180)
            assert (result.sent, result.pending) == (2, 0)
            assert notifier.queue_digest(store, config, T0 + 240) is None
        finally:
            store.close()
        received = server.wait_for_messages(2)
        kinds = sorted(r.message["X-Sanctions-Watch-Kind"] for r in received)
        assert kinds == ["alert", "digest"]
        (digest,) = [r.message for r in received if r.message["X-Sanctions-Watch-Kind"] == "digest"]
        text = _text(digest)
        assert "3 new matches in 3 articles" in text
        assert "2 matches were held back from immediate alerts" in text
        assert len(server.messages) == 2
