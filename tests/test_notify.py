"""Orchestration: alerts, digests, marking, and no loss or duplication across crashes.

Crashes are real: a child process does part of the work and is SIGKILLed; the test then opens
a new Store on the same SQLite file, as a restarted daemon would.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Backend
from notifier_samples import make_config, record_match
from smtpserver import SmtpTestServer

from watcher.config.schema import Config, DigestConfig, EmailConfig
from watcher.ingest.poll import FeedHealth
from watcher.notify import notifier
from watcher.notify.notice import FeedProblem, PendingMatch
from watcher.notify.render import TemplateError
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store

T0 = 1_761_202_800.0  # 2025-10-23 07:00 UTC
TESTS = Path(__file__).resolve().parent


@pytest.fixture(name="store")
def store_fixture(state: StateStore) -> StateStore:
    """The contract suite's store: the tests taking it run on SQLite and on PostgreSQL."""
    return state


def _smtp_config(tmp_path: Path, server: SmtpTestServer, **digest: object) -> Config:
    email = EmailConfig(
        **{"from": "sanctions-watch <watch@example.org>"},
        to=("analyst@example.org",),
        delivery="smtp",
    )
    return make_config(
        tmp_path,
        email=email,
        smtp=server.smtp_config(),
        digest=DigestConfig(timezone="UTC", **digest),  # type: ignore[arg-type]
    )


def _three_matches(store: StateStore) -> None:
    record_match(store, article="a1", entry="rosneft", severity="high")
    record_match(store, article="a1", entry="lukoil", severity="medium")
    record_match(store, article="a2", entry="putin", severity="high", feed="Other Wire")


def _parsed(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def pending(store: StateStore) -> list[PendingMatch]:
    with store.transaction() as tx:
        return tx.pending_matches()


def _outbox(store: StateStore, kind: str | None = None):  # type: ignore[no-untyped-def]
    with store.transaction() as tx:
        return tx.outbox_messages(kind)


def test_alerts_go_out_per_article_for_severe_matches_only(
    store: StateStore, tmp_path: Path
) -> None:
    _three_matches(store)
    config = make_config(tmp_path)  # alert_severity defaults to high
    assert notifier.queue_alerts(store, config, T0) == 2  # a1 (Rosneft), a2 (Putin)
    alerts = _outbox(store, "alert")
    subjects = sorted(_parsed(m.data)["Subject"] for m in alerts)
    assert subjects == [
        "[sanctions-watch] ALERT high: Putin — Story a2",
        "[sanctions-watch] ALERT high: Rosneft — Story a1",
    ]
    assert notifier.queue_alerts(store, config, T0 + 60) == 0  # each match alerts once
    # alerted matches stay pending for the digest
    assert len(pending(store)) == 3


def test_alert_threshold_medium_groups_the_article_matches(
    store: StateStore, tmp_path: Path
) -> None:
    _three_matches(store)
    config = make_config(tmp_path, digest=DigestConfig(alert_severity="medium"))
    assert notifier.queue_alerts(store, config, T0) == 2
    a1 = [m for m in _outbox(store) if b"Story a1" in m.data]
    assert len(a1) == 1 and b"Lukoil" in a1[0].data and b"Rosneft" in a1[0].data


def test_alert_severity_none_sends_no_alerts(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    config = make_config(tmp_path, digest=DigestConfig(alert_severity="none"))
    assert notifier.queue_alerts(store, config, T0) == 0
    assert _outbox(store) == []


def test_digest_lists_everything_pending_once(store: StateStore, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert notifier.queue_digest(store, config, T0) is None  # nothing new: nothing sent
    _three_matches(store)
    notifier.queue_alerts(store, config, T0)
    digest_id = notifier.queue_digest(store, config, T0 + 10)
    assert digest_id is not None
    [digest] = _outbox(store, "digest")
    assert f"X-Sanctions-Watch-Digest-Id: {digest_id}".encode() in digest.data
    assert _parsed(digest.data)["Subject"] == "[sanctions-watch] 3 matches (2 high) — 2025-10-23"
    assert pending(store) == []
    assert notifier.queue_digest(store, config, T0 + 20) is None
    # a later match goes into the next digest only
    record_match(store, article="a3", entry="lavrov", severity="low")
    assert notifier.queue_digest(store, config, T0 + 30) is not None
    latest = _outbox(store, "digest")[-1]
    assert b"1 match " in latest.data and b"Lavrov" in latest.data and b"Putin" not in latest.data


def test_digest_flags_entries_mentioned_for_the_first_time(
    store: StateStore, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    record_match(store, article="a1", entry="rosneft")
    notifier.queue_digest(store, config, T0)
    record_match(store, article="a2", entry="rosneft")
    record_match(store, article="a2", entry="lukoil")
    notifier.queue_digest(store, config, T0 + 86400)
    first, second = (_parsed(m.data) for m in _outbox(store, "digest"))
    assert "Rosneft (1, NEW)" in first.get_body(("plain",)).get_content()
    text = second.get_body(("plain",)).get_content()
    assert "(1 for the first time, marked NEW)" in text
    assert "Lukoil (1, NEW)" in text and "Rosneft (1)" in text


def test_digest_marks_matches_that_were_alerted(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    config = make_config(tmp_path)
    notifier.queue_alerts(store, config, T0)
    notifier.queue_digest(store, config, T0)
    [digest] = _outbox(store, "digest")
    assert digest.data.count(b"already alerted") >= 2


def test_send_empty_sends_a_digest_with_nothing_new(store: StateStore, tmp_path: Path) -> None:
    config = make_config(tmp_path, digest=DigestConfig(send_empty=True))
    assert notifier.queue_digest(store, config, T0) is not None
    [digest] = _outbox(store, "digest")
    assert b"no new matches" in digest.data


def test_first_poll_matches_are_never_mailed(store: StateStore, tmp_path: Path) -> None:
    record_match(store, article="old", entry="rosneft", notify=False)
    config = make_config(tmp_path)
    assert notifier.queue_alerts(store, config, T0) == 0
    assert notifier.queue_digest(store, config, T0) is None


def test_failed_rendering_rolls_everything_back(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "digest.txt.j2").write_text("{{ summary.total ")
    base = make_config(tmp_path)
    email = base.email.model_copy(update={"templates": broken})
    config = base.model_copy(update={"email": email})
    with pytest.raises(TemplateError):
        notifier.queue_digest(store, config, T0)
    assert len(pending(store)) == 3  # still pending: nothing lost
    assert _outbox(store) == []


def test_preview_neither_queues_nor_marks(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    parts = notifier.preview_digest(store, make_config(tmp_path), T0)
    assert len(parts) == 1 and len(parts[0].match_ids) == 3
    assert len(pending(store)) == 3 and _outbox(store) == []


def test_oversized_digest_is_split_and_overflow_stays_pending(
    store: StateStore, tmp_path: Path
) -> None:
    for n in range(120):
        record_match(store, article=f"a{n:03d}", entry=f"entity-{n:03d}", severity="medium")
    config = make_config(tmp_path, digest=DigestConfig(max_bytes=8_000))
    digest_id = notifier.queue_digest(store, config, T0)
    digests = _outbox(store, "digest")
    assert len(digests) == 10  # the part cap
    assert all(len(d.data) <= 8_000 for d in digests)
    left = pending(store)
    assert 0 < len(left) < 120  # the rest waits for the next digest, nothing dropped
    assert b"more matches did not fit" in digests[-1].data
    assert notifier.queue_digest(store, config, T0 + 86400) not in (None, digest_id)


def test_feed_health_lists_only_problem_feeds() -> None:
    day = 86400.0
    health = [
        FeedHealth("https://ok.example/rss", "OK", "ok", T0, None, T0, T0),
        FeedHealth("https://s.example/rss", "Slow", "stale", T0 - 9 * day, None, T0, T0 - 9 * day),
        FeedHealth("https://f.example/rss", "", "failing", T0 - 3600, "HTTP 503", T0 - day, T0),
        FeedHealth("https://g.example/rss", "Gone", "disabled", T0, "410 Gone", None, None),
    ]
    problems = notifier.feed_problems(health, T0)
    assert [(p.name, p.state) for p in problems] == [
        ("Slow", "stale"),
        ("", "failing"),
        ("Gone", "disabled"),
    ]
    assert problems[0].detail == "no new item for 9 days"
    assert problems[1].detail == "HTTP 503"
    assert problems[2].detail == "410 Gone"
    assert notifier.feed_problems([problems[0]], T0) == [problems[0]]  # already converted


def test_digest_includes_feed_health(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    problem = FeedProblem("Broken Feed", "https://broken.example/rss", "failing", "HTTP 503")
    notifier.queue_digest(store, make_config(tmp_path), T0, feed_health=[problem])
    [digest] = _outbox(store, "digest")
    assert b"FEED HEALTH (1)" in digest.data and b"Broken Feed: FAILING" in digest.data


async def test_alert_and_digest_reach_a_real_smtp_server(store: StateStore, tmp_path: Path) -> None:
    _three_matches(store)
    with SmtpTestServer(tmp_path) as server:
        config = _smtp_config(tmp_path, server)
        notifier.queue_alerts(store, config, T0)
        notifier.queue_digest(store, config, T0)
        assert notifier.pending_count(store) == 3
        result = await notifier.drain_outbox(store, config, T0)
        assert (result.sent, result.failed, result.pending) == (3, 0, 0)
        received = server.wait_for_messages(3)
        kinds = sorted(r.message["X-Sanctions-Watch-Kind"] for r in received)
        assert kinds == ["alert", "alert", "digest"]
        assert notifier.pending_count(store) == 0


def _child(state_dir: Path, config_json: str, body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a fresh interpreter with `store` and `config` set up, as a daemon would."""
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        from pathlib import Path
        from watcher.notify import notifier
        from watcher.config.schema import Config
        from watcher.state.sqlite import Store
        from notifier_samples import record_match
        config = Config.model_validate_json(sys.argv[2])
        store = Store(Path(sys.argv[1]))
        """
    ) + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    return subprocess.run(
        [sys.executable, "-c", script, str(state_dir), config_json],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_crash_between_queueing_and_sending_loses_nothing(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path) as server:
        config = _smtp_config(tmp_path, server)
        state = tmp_path / "state"
        child = _child(
            state,
            config.model_dump_json(by_alias=True),
            """
            record_match(store, article="a1", entry="rosneft")
            record_match(store, article="a2", entry="lukoil", severity="medium")
            assert notifier.queue_alerts(store, config, 1761202800.0) == 1
            assert notifier.queue_digest(store, config, 1761202800.0) is not None
            os.kill(os.getpid(), signal.SIGKILL)  # dies before any drain
            """,
        )
        assert child.returncode == -9, child.stderr
        assert server.messages == []

        restarted = Store(state)
        try:
            assert notifier.pending_count(restarted) == 2
            result = await notifier.drain_outbox(restarted, config, T0 + 5)
            assert (result.sent, result.pending) == (2, 0)
            assert len(server.wait_for_messages(2)) == 2
        finally:
            restarted.close()

        # exactly once across another restart: nothing is sent again
        again = Store(state)
        try:
            result = await notifier.drain_outbox(again, config, T0 + 86400)
            assert (result.sent, result.failed, result.pending) == (0, 0, 0)
            assert notifier.queue_digest(again, config, T0 + 86400) is None
        finally:
            again.close()
        assert len(server.messages) == 2


async def test_crash_during_sending_resends_only_the_message_in_flight(tmp_path: Path) -> None:
    """The documented window: killed after the server's 250 and before the commit that
    records it, that one message goes out a second time (same Message-ID, so clients and
    archives can deduplicate); every other message goes out exactly once."""
    with SmtpTestServer(tmp_path) as server:
        config = _smtp_config(tmp_path, server)
        state = tmp_path / "state"
        child = _child(
            state,
            config.model_dump_json(by_alias=True),
            """
            from watcher.state.transaction import Transaction
            for n in range(3):
                record_match(store, article=f"a{n}", entry=f"entity-{n}")
            assert notifier.queue_alerts(store, config, 1761202800.0) == 3
            sent = []
            real = Transaction.mark_sent
            def record_then_die(tx, outbox_id, at, note=None):
                if sent:  # the second message: accepted by the server, never recorded
                    os.kill(os.getpid(), signal.SIGKILL)
                real(tx, outbox_id, at, note)
                sent.append(outbox_id)
            Transaction.mark_sent = record_then_die
            asyncio.run(notifier.drain_outbox(store, config, 1761202800.0))
            """,
        )
        assert child.returncode == -9, child.stderr
        first_round = server.wait_for_messages(2)
        assert len(first_round) == 2

        restarted = Store(state)
        try:
            # the in-flight message is leased; once the lease lapses it is retried
            result = await notifier.drain_outbox(restarted, config, T0 + 24 * 3600)
            assert (result.sent, result.pending) == (2, 0)
        finally:
            restarted.close()
        received = server.wait_for_messages(4)
        ids = [r.message["Message-ID"] for r in received]
        assert len(set(ids)) == 3  # three distinct alerts...
        assert ids.count(ids[1]) == 2  # ...and only the in-flight one twice


# --- off the event loop: read, render in a worker thread, check-and-set commit -----------------


def _interfering(
    monkeypatch: pytest.MonkeyPatch, name: str, interfere: Callable[[int], None]
) -> list[int]:
    """Wrap the real render step `notifier.<name>` so that, while it renders, `interfere(n)`
    (n: the attempt) acts as a concurrent writer would: through a second connection to the
    same state file. Returns the attempts seen, for the test to check."""
    real = getattr(notifier, name)
    attempts: list[int] = []

    def rendering(*args: object) -> object:
        attempts.append(len(attempts) + 1)
        interfere(attempts[-1])
        return real(*args)

    monkeypatch.setattr(notifier, name, rendering)
    return attempts


def _digest_ids(backend: Backend) -> dict[int, str | None]:
    """Which digest listed each match, read straight from the database."""
    rows = backend.rows("SELECT id, digest_id FROM matches ORDER BY id")
    return {int(str(row[0])): None if row[1] is None else str(row[1]) for row in rows}


def _take_one_match(store: StateStore, digest_id: str) -> None:
    """Another writer (a second connection) lists the oldest pending match in a digest of
    its own."""
    other = store.another_connection()
    try:
        with other.transaction() as tx:
            first = tx.pending_matches()[0]
            assert tx.mark_digested([first.id], digest_id) == 1
    finally:
        other.close()


async def test_digest_taken_meanwhile_is_not_listed_twice(
    store: StateStore, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_matches(store)
    config = make_config(tmp_path)
    attempts = _interfering(
        monkeypatch,
        "render_digest_messages",
        lambda n: _take_one_match(store, "other") if n == 1 else None,
    )
    with ThreadPoolExecutor(1) as pool:
        digest_id = await notifier.queue_digest_async(store, config, T0, executor=pool)
    assert attempts == [1, 2]  # the first render listed the taken match: discarded
    assert digest_id is not None
    assert Counter(_digest_ids(backend).values()) == {"other": 1, digest_id: 2}
    [digest] = _outbox(store, "digest")
    assert _parsed(digest.data)["Subject"].startswith("[sanctions-watch] 2 matches")


async def test_digest_conflicting_twice_queues_nothing_and_loses_nothing(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_matches(store)
    config = make_config(tmp_path)
    attempts = _interfering(
        monkeypatch,
        "render_digest_messages",
        lambda n: _take_one_match(store, f"other-{n}"),
    )
    assert notifier.queue_digest(store, config, T0) is None
    assert attempts == [1, 2]
    assert _outbox(store) == []  # neither render was stored...
    assert len(pending(store)) == 1  # ...and the last match waits, unmarked
    monkeypatch.undo()
    assert notifier.queue_digest(store, config, T0 + 60) is not None  # the next run lists it


async def test_two_digests_at_once_list_each_match_once(
    store: StateStore, backend: Backend, tmp_path: Path
) -> None:
    _three_matches(store)
    config = make_config(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        results = await asyncio.gather(
            notifier.queue_digest_async(store, config, T0, executor=pool),
            notifier.queue_digest_async(store, config, T0, executor=pool),
        )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1  # both read the same three; the second commit found them taken
    assert set(_digest_ids(backend).values()) == {winners[0]}
    assert len(_outbox(store, "digest")) == 1


async def test_two_alert_passes_at_once_alert_each_article_once(
    store: StateStore, tmp_path: Path
) -> None:
    _three_matches(store)
    config = make_config(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        counts = await asyncio.gather(
            notifier.queue_alerts_async(store, config, T0, pool),
            notifier.queue_alerts_async(store, config, T0, pool),
        )
    assert sorted(counts) == [0, 2]
    subjects = sorted(_parsed(m.data)["Subject"] for m in _outbox(store, "alert"))
    assert subjects == [
        "[sanctions-watch] ALERT high: Putin — Story a2",
        "[sanctions-watch] ALERT high: Rosneft — Story a1",
    ]


async def test_alert_for_a_match_digested_meanwhile_is_dropped(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_match(store, article="a1", entry="rosneft")
    config = make_config(tmp_path)
    attempts = _interfering(
        monkeypatch,
        "render_alerts",
        lambda n: _take_one_match(store, "digest-1") if n == 1 else None,
    )
    with ThreadPoolExecutor(1) as pool:
        assert await notifier.queue_alerts_async(store, config, T0, pool) == 0
    assert attempts == [1]  # the retry read found nothing left to alert
    assert _outbox(store) == []  # the digest already listed it: no late alert


def _broken_templates(tmp_path: Path, name: str) -> Config:
    broken = tmp_path / "templates"
    broken.mkdir(exist_ok=True)
    (broken / name).write_text("{{ summary.total ")
    base = make_config(tmp_path)
    return base.model_copy(update={"email": base.email.model_copy(update={"templates": broken})})


async def test_render_failure_in_the_worker_loses_nothing(
    store: StateStore, tmp_path: Path
) -> None:
    _three_matches(store)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(TemplateError):
            await notifier.queue_digest_async(
                store, _broken_templates(tmp_path, "digest.txt.j2"), T0, executor=pool
            )
        with pytest.raises(TemplateError):
            await notifier.queue_alerts_async(
                store, _broken_templates(tmp_path, "alert.html.j2"), T0, pool
            )
    assert _outbox(store) == []
    left = pending(store)
    assert len(left) == 3 and all(m.alerted_at is None for m in left)


async def test_the_loop_keeps_running_while_a_digest_renders(
    store: StateStore, tmp_path: Path
) -> None:
    for n in range(200):
        record_match(store, article=f"a{n:03d}", entry=f"entity-{n % 40:02d}", severity="low")
    config = make_config(tmp_path, digest=DigestConfig(timezone="UTC", max_bytes=20_000))
    rendering = threading.Event()
    rendered = threading.Event()
    loop_turns_during_render = 0

    class Watched(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            def watched() -> object:
                rendering.set()
                try:
                    return fn(*args, **kwargs)
                finally:
                    rendered.set()

            return super().submit(watched)

    async def ticker() -> None:
        nonlocal loop_turns_during_render
        while not rendered.is_set():
            if rendering.is_set():
                loop_turns_during_render += 1
            await asyncio.sleep(0)

    with Watched(1) as pool:
        ticking = asyncio.create_task(ticker())
        digest_id = await notifier.queue_digest_async(store, config, T0, executor=pool)
        await ticking
    assert digest_id is not None and len(_outbox(store, "digest")) == 10
    assert loop_turns_during_render > 0  # other tasks ran while the digest rendered


def test_digest_charts_each_entry_s_mentions_per_day(store: StateStore, tmp_path: Path) -> None:
    """Today's matches and earlier ones (already mailed or a feed's baseline) in the chart."""
    for days_ago, count in ((20, 1), (3, 2), (0, 3)):
        for n in range(count):
            at = T0 - days_ago * 86400 - 3600
            record_match(store, article=f"d{days_ago}-{n}", entry="rosneft", found_at=at)
            record_match(store, article=f"d{days_ago}-{n}", entry="lukoil", found_at=at)
        if days_ago:
            notifier.queue_digest(store, make_config(tmp_path), T0 - days_ago * 86400)
    notifier.queue_digest(store, make_config(tmp_path), T0)
    latest = _parsed(_outbox(store, "digest")[-1].data)
    text = latest.get_body(("plain",)).get_content()
    bars = "▁" * 9 + "▃" + "▁" * 16 + "▆▁▁█"  # 20 and 3 days ago, today (Oct 23, UTC)
    line = f"{bars}  mentions per day since Sep 24: 6, today 3, busiest day 3"
    assert text.count(line) == 2  # Lukoil and Rosneft
    html = latest.get_body(("html",)).get_content()
    assert html.count('title="Oct 23: 3"') == 2 and html.count('title="Oct 3: 1"') == 2
