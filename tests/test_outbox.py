"""The outbox: backoff, leases, same bytes on every retry, outages and partial refusals.

Real SQLite files and a real PostgreSQL cluster (each test runs on both backends), a real
aiosmtpd server; the clock is the `now` argument.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from notifier_samples import sample_matches, settings
from smtpserver import PASSWORD, SmtpTestServer

from watcher.notify.mailer import DirectoryMailer, Mailer, SmtpMailer, read_password
from watcher.notify.outbox import BACKOFF_MAX, backoff, drain
from watcher.notify.render import render_alert
from watcher.state.interface import StateStore
from watcher.state.transaction import Transaction

T0 = 1_761_202_800.0  # 2025-10-23 07:00 UTC
SENDER = "watch@example.org"


@pytest.fixture(name="store")
def store_fixture(state: StateStore) -> StateStore:
    """The contract suite's store: every test here runs on SQLite and on PostgreSQL."""
    return state


def _queue(
    store: StateStore, count: int = 1, recipients: tuple[str, ...] = ("a@example.org",)
) -> list[str]:
    ids = []
    with store.transaction() as tx:
        for n in range(count):
            message = render_alert(sample_matches()[:1], settings(), f"alert-{n}")
            queue(tx, message, recipients)
            ids.append(str(message["Message-ID"]))
    return ids


def queue(tx: Transaction, message: EmailMessage, recipients: tuple[str, ...]) -> int:
    """Queue an alert as the notifier does: its SMTP-policy bytes, due at once."""
    data = message.as_bytes(policy=SMTP)
    return tx.add_to_outbox("alert", str(message["Message-ID"]), recipients, data, T0)


def _smtp(server: SmtpTestServer) -> Mailer:
    config = server.smtp_config()
    return SmtpMailer(config, read_password(config))


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in range(1, 6)] == [60.0, 120.0, 240.0, 480.0, 960.0]
    assert backoff(30) == BACKOFF_MAX == 3600.0
    assert backoff(10**9) == BACKOFF_MAX  # the exponent is bounded: no giant integers
    assert backoff(0) == 60.0


def test_enqueue_stores_the_exact_wire_bytes(store: StateStore) -> None:
    [message_id] = _queue(store)
    with store.transaction() as tx:
        [stored] = tx.outbox_messages()
    assert stored.message_id == message_id
    assert stored.recipients == ("a@example.org",)
    assert stored.data.startswith(b"Subject: ") and b"\r\n\r\n" in stored.data
    assert stored.sent_at is None and stored.attempts == 0 and stored.next_attempt == T0


async def test_directory_drain_sends_each_message_once(store: StateStore, tmp_path: Path) -> None:
    _queue(store, 3)
    outdir = tmp_path / "mail"
    result = await drain(store, lambda: DirectoryMailer(outdir), SENDER, T0, 30.0)
    assert (result.sent, result.failed, result.pending) == (3, 0, 0)
    assert len(list(outdir.glob("*.eml"))) == 3
    again = await drain(store, lambda: DirectoryMailer(outdir), SENDER, T0 + 3600, 30.0)
    assert (again.sent, again.failed, again.pending) == (0, 0, 0)
    with store.transaction() as tx:
        assert all(m.sent_at == T0 and m.attempts == 1 for m in tx.outbox_messages())


async def test_outage_then_recovery_delivers_once_with_the_same_message_id(
    store: StateStore, tmp_path: Path
) -> None:
    server = SmtpTestServer(tmp_path)  # configured, but down
    [message_id] = _queue(store)
    with store.transaction() as tx:
        [queued] = tx.outbox_messages()

    first = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
    assert (first.sent, first.failed, first.pending) == (0, 1, 1)
    assert "Connect call failed" in first.errors[0]
    with store.transaction() as tx:
        [failed] = tx.outbox_messages()
    assert failed.attempts == 1 and failed.next_attempt == T0 + 60
    assert failed.last_error is not None and "127.0.0.1" in failed.last_error

    # before the backoff expires nothing is tried, even once the server is back
    server.start()
    try:
        early = await drain(store, lambda: _smtp(server), SENDER, T0 + 30, 5.0)
        assert (early.sent, early.failed, early.pending) == (0, 0, 1)
        assert server.messages == []

        second = await drain(store, lambda: _smtp(server), SENDER, T0 + 61, 5.0)
        assert (second.sent, second.failed, second.pending) == (1, 0, 0)
        [received] = server.wait_for_messages(1)
        assert received.message["Message-ID"] == message_id
        assert received.data.replace(b"\r\n", b"\n") == queued.data.replace(b"\r\n", b"\n")

        third = await drain(store, lambda: _smtp(server), SENDER, T0 + 7200, 5.0)
        assert (third.sent, third.pending) == (0, 0)
        assert len(server.messages) == 1
    finally:
        server.stop()


async def test_failures_back_off_exponentially(store: StateStore, tmp_path: Path) -> None:
    server = SmtpTestServer(tmp_path)  # never started
    _queue(store)
    now = T0
    waits = []
    for _ in range(4):
        await drain(store, lambda: _smtp(server), SENDER, now, 5.0)
        with store.transaction() as tx:
            [message] = tx.outbox_messages()
        waits.append(message.next_attempt - now)
        now = message.next_attempt
    assert waits == [60.0, 120.0, 240.0, 480.0]


async def test_claimed_messages_are_leased_away_from_a_concurrent_drainer(
    store: StateStore,
) -> None:
    _queue(store, 2)
    with store.transaction() as tx:
        first = tx.claim_due_messages(T0, T0 + 600, 10)
    with store.transaction() as tx:
        second = tx.claim_due_messages(T0 + 1, T0 + 600, 10)
    assert len(first) == 2 and second == []
    # a drainer that died mid-send: once the lease runs out, the message is due again
    with store.transaction() as tx:
        assert len(tx.claim_due_messages(T0 + 601, T0 + 1200, 10)) == 2


async def test_auth_failure_keeps_every_message_for_later(
    store: StateStore, tmp_path: Path
) -> None:
    _queue(store, 3)
    with SmtpTestServer(tmp_path) as server:
        server.accept_password = "rotated"
        result = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
        assert (result.sent, result.failed, result.pending) == (0, 3, 3)
        assert "535" in result.errors[0]
        server.accept_password = PASSWORD  # the operator fixes it
        later = await drain(store, lambda: _smtp(server), SENDER, T0 + 61, 5.0)
        assert (later.sent, later.failed, later.pending) == (3, 0, 0)
        assert len(server.wait_for_messages(3)) == 3


async def test_refused_recipient_is_noted_and_the_message_counts_as_sent(
    store: StateStore, tmp_path: Path
) -> None:
    _queue(store, recipients=("a@example.org", "gone@example.org"))
    with SmtpTestServer(tmp_path, refuse=frozenset({"gone@example.org"})) as server:
        result = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
        assert (result.sent, result.pending) == (1, 0)
        with store.transaction() as tx:
            [message] = tx.outbox_messages()
        assert message.last_error is not None
        assert "gone@example.org: 550 5.1.1" in message.last_error
        [received] = server.wait_for_messages(1)
        assert received.rcpt_tos == ("a@example.org",)


async def test_all_recipients_refused_is_retried_later_not_dropped(
    store: StateStore, tmp_path: Path
) -> None:
    _queue(store, recipients=("gone@example.org",))
    with SmtpTestServer(tmp_path, refuse=frozenset({"gone@example.org"})) as server:
        result = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
        assert (result.sent, result.failed, result.pending) == (0, 1, 1)
        assert "refused every recipient" in result.errors[0]


def test_stored_bytes_are_smtp_clean(store: StateStore) -> None:
    message = render_alert(sample_matches()[2:3], settings(), "x")  # Cyrillic title
    with store.transaction() as tx:
        queue(tx, message, ("a@example.org",))
        [stored] = tx.outbox_messages()
    assert stored.data == message.as_bytes(policy=SMTP)
    assert stored.data.isascii()  # no 8BITMIME / SMTPUTF8 needed from the relay


async def test_pruning_forgets_only_old_sent_messages(store: StateStore, tmp_path: Path) -> None:
    _queue(store, 2)
    outdir = tmp_path / "mail"
    with store.transaction() as tx:
        first, _second = tx.claim_due_messages(T0, T0, 5)  # lease until T0: due again at once
        tx.mark_sent(first.id, T0)
    with store.transaction() as tx:
        assert tx.prune_sent_messages(T0 - 1) == 0  # sent at T0: not older
        assert tx.prune_sent_messages(T0 + 1) == 1
        [left] = tx.outbox_messages()
    assert left.sent_at is None  # unsent messages are never pruned
    result = await drain(store, lambda: DirectoryMailer(outdir), SENDER, T0 + 10, 30.0)
    assert result.sent == 1


async def test_one_drain_sends_more_than_one_batch(store: StateStore, tmp_path: Path) -> None:
    _queue(store, 120)  # BATCH is 50: three claims in one pass
    outdir = tmp_path / "mail"
    result = await drain(store, lambda: DirectoryMailer(outdir), SENDER, T0, 30.0)
    assert (result.sent, result.failed, result.pending) == (120, 0, 0)
    assert len(list(outdir.glob("*.eml"))) == 120


async def test_a_session_failure_stops_the_pass(store: StateStore, tmp_path: Path) -> None:
    _queue(store, 120)
    server = SmtpTestServer(tmp_path)  # down
    result = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
    # the first batch is marked failed; the others are not tried but wait as long
    assert (result.sent, result.failed, result.pending) == (0, 50, 120)
    assert len(result.errors) == 1
    with store.transaction() as tx:
        messages = tx.outbox_messages()
    assert {m.next_attempt for m in messages} == {T0 + 60}
    assert sorted({m.attempts for m in messages}) == [0, 1]
    again = await drain(store, lambda: _smtp(server), SENDER, T0 + 1, 5.0)
    assert (again.sent, again.failed) == (0, 0)  # nothing hammers the dead server


async def test_a_dropped_connection_names_only_the_message_in_flight(
    store: StateStore, tmp_path: Path
) -> None:
    ids = _queue(store, 3)
    with SmtpTestServer(tmp_path, drop_after=1) as server:
        result = await drain(store, lambda: _smtp(server), SENDER, T0, 5.0)
    assert (result.sent, result.failed) == (1, 2)
    with store.transaction() as tx:
        errors = {m.message_id: m.last_error or "" for m in tx.outbox_messages()}
    assert ids[1] in errors[ids[1]]  # the one being sent when the connection dropped
    assert errors[ids[2]].startswith("not tried")
    assert ids[1] not in errors[ids[2]] and ids[2] not in errors[ids[2]]
