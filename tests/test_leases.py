"""Instances sharing one database: feed, role and outbox leases, heartbeats, take-over.

Contract tests of `watcher.state.transaction.Transaction` (they use only the `store` fixture
and `StateStore.another_connection`, so they run on any backend). Two connections on one database
are two instances; the clock is the `now` argument.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from watcher.ingest.feedstate import FeedUpdate
from watcher.notify.mailer import DirectoryMailer
from watcher.notify.outbox import drain
from watcher.state.interface import StateStore
from watcher.state.leases import LEADER, InstanceInfo, new_instance, process_owner

T0 = 1_761_202_800.0
LEASE = 30.0
A, B = "host-a:100:aaaa", "host-b:200:bbbb"


@pytest.fixture(name="store")
def store_fixture(state: StateStore) -> StateStore:
    """The contract suite's store: every test here runs on SQLite and on PostgreSQL."""
    return state


def _feeds(store: StateStore, count: int) -> list[int]:
    """`count` configured feeds, all due at T0; their ids."""
    with store.transaction() as tx:
        tx.sync_feeds([(f"http://127.0.0.1/{n}.xml", f"feed {n}") for n in range(count)], T0)
        return [feed.id for feed in tx.feeds()]


def _queue(store: StateStore, count: int) -> list[int]:
    """`count` outbox messages, due at T0; their ids."""
    with store.transaction() as tx:
        for n in range(count):
            tx.add_to_outbox("alert", f"<m{n}@test>", ["a@example.org"], b"Subject: x\r\n\r\n", T0)
        return [message.id for message in tx.outbox_messages()]


def _register(store: StateStore, *owners: str, now: float = T0) -> None:
    with store.transaction() as tx:
        for owner in owners:
            host, pid, _ = owner.split(":")
            tx.register_instance(InstanceInfo(owner, host, int(pid), "0.1.0"), now, now + LEASE)


def _in_parallel(store: StateStore, work: Callable[[StateStore, str], None]) -> None:
    """Run `work(connection, owner)` as instance A and B at once, each on its own connection."""
    start, failures = threading.Barrier(2, timeout=30), []

    def run(owner: str) -> None:
        connection = store.another_connection()
        try:
            start.wait()
            work(connection, owner)
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(owner,)) for owner in (A, B)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    if failures:
        raise failures[0]


# --- concurrency: never the same feed or message twice --------------------------------------


def test_two_instances_polling_at_once_poll_every_feed_exactly_once(store: StateStore) -> None:
    feed_ids = _feeds(store, 120)
    polled: list[tuple[str, int]] = []
    rounds: list[dict[str, int]] = []  # per round: how many feeds each instance claimed
    step = threading.Barrier(2, timeout=30)

    def poll_in_rounds(connection: StateStore, owner: str) -> None:
        try:
            poll_each_round(connection, owner)
        except BaseException:
            step.abort()  # the other instance stops waiting at once
            raise

    def poll_each_round(connection: StateStore, owner: str) -> None:
        # in each round both claim before either polls: each sees the other's claims held
        for round_ in range(len(feed_ids)):
            with connection.transaction() as tx:
                claimed = tx.claim_due_feeds(owner, T0, T0 + LEASE, 5)
            if step.wait() == 0:
                rounds.append({})
            step.wait()
            rounds[round_][owner] = len(claimed)
            for feed in claimed:
                assert feed.lease_owner == owner and feed.lease_until == T0 + LEASE
                polled.append((owner, feed.id))
            with connection.transaction() as tx:  # the polls' final writes
                for feed in claimed:
                    tx.update_feed(feed.id, FeedUpdate(next_poll=T0 + 3600))
                    assert tx.release_feed(feed.id, owner)
            step.wait()
            if not any(rounds[round_].values()):
                return

    _in_parallel(store, poll_in_rounds)
    assert sorted(feed_id for _, feed_id in polled) == feed_ids  # each once, none left out
    assert {owner for owner, _ in polled} == {A, B}  # both did their share
    with store.snapshot() as tx:
        assert all(f.lease_owner is None and f.lease_until is None for f in tx.feeds())


def test_two_instances_draining_at_once_never_claim_the_same_message(store: StateStore) -> None:
    message_ids = _queue(store, 150)
    claims: list[tuple[str, int, int]] = []

    def claim_until_none_due(connection: StateStore, owner: str) -> None:
        while True:
            with connection.transaction() as tx:
                due = tx.claim_due_messages(T0, T0 + LEASE, 7, owner)
            if not due:
                return
            claims.extend((owner, m.id, m.attempts) for m in due)

    _in_parallel(store, claim_until_none_due)
    assert sorted(message_id for _, message_id, _ in claims) == message_ids
    assert {attempts for _, _, attempts in claims} == {1}


# --- the rules, one table each ------------------------------------------------------------

# (who holds the feed: nobody / A / B, its lease until, the claim's now) -> does B get it?
FEED_CASES = [
    pytest.param(None, None, T0, True, id="free"),
    pytest.param(A, T0 + LEASE, T0 + 10, False, id="live-lease-of-another"),
    pytest.param(A, T0 + LEASE, T0 + LEASE, True, id="lease-ran-out-just-now"),
    pytest.param(A, T0 + LEASE, T0 + 600, True, id="lease-ran-out-long-ago"),
    pytest.param(B, T0 + LEASE, T0 + 10, True, id="own-live-lease-renewed"),
    pytest.param(B, T0 + LEASE, T0 + 600, True, id="own-lease-ran-out"),
]


@pytest.mark.parametrize(("holder", "until", "now", "taken"), FEED_CASES)
def test_feed_leases(
    store: StateStore, holder: str | None, until: float | None, now: float, taken: bool
) -> None:
    [feed_id] = _feeds(store, 1)
    if holder is not None and until is not None:
        with store.transaction() as tx:
            assert [f.id for f in tx.claim_due_feeds(holder, T0, until, 10)] == [feed_id]
    with store.transaction() as tx:
        claimed = tx.claim_due_feeds(B, now, now + LEASE, 10)
        [row] = tx.feeds()
    assert [f.id for f in claimed] == ([feed_id] if taken else [])
    expected = (B, now + LEASE) if taken else (holder, until)
    assert (row.lease_owner, row.lease_until) == expected


@pytest.mark.parametrize(
    ("changes", "active"),
    [
        pytest.param(FeedUpdate(next_poll=T0 + 1), True, id="not-due-yet"),
        pytest.param(
            FeedUpdate(disabled_at=T0 - 1, disabled_reason="410 Gone"), True, id="disabled"
        ),
        pytest.param(FeedUpdate(), False, id="removed-from-the-config"),
    ],
)
def test_only_active_enabled_due_feeds_are_claimed(
    store: StateStore, changes: FeedUpdate, active: bool
) -> None:
    [feed_id] = _feeds(store, 1)
    with store.transaction() as tx:
        tx.update_feed(feed_id, changes)
        if not active:
            tx.sync_feeds([], T0)
        assert tx.claim_due_feeds(A, T0, T0 + LEASE, 10) == []


def test_feeds_are_claimed_most_overdue_first_up_to_the_limit(store: StateStore) -> None:
    first, second, third = _feeds(store, 3)
    with store.transaction() as tx:
        tx.update_feed(first, FeedUpdate(next_poll=T0 - 10))
        tx.update_feed(second, FeedUpdate(next_poll=T0 - 20))
        assert [f.id for f in tx.claim_due_feeds(A, T0, T0 + LEASE, 2)] == [second, first]
        assert [f.id for f in tx.claim_due_feeds(B, T0, T0 + LEASE, 2)] == [third]


def test_a_feed_taken_over_is_not_released_by_its_former_holder(store: StateStore) -> None:
    [feed_id] = _feeds(store, 1)
    with store.transaction() as tx:
        tx.claim_due_feeds(A, T0, T0 + LEASE, 1)
    with store.transaction() as tx:  # A stalled past its lease: B takes the feed over
        assert [f.id for f in tx.claim_due_feeds(B, T0 + LEASE, T0 + 2 * LEASE, 1)] == [feed_id]
    with store.transaction() as tx:
        assert not tx.release_feed(feed_id, A)  # A's late final write leaves B's lease alone
        [row] = tx.feeds()
    assert row.lease_owner == B


# (who holds the role, its lease until, the claim's now) -> does B get it?
ROLE_CASES = [
    pytest.param(None, None, T0, True, id="free"),
    pytest.param(A, T0 + LEASE, T0 + 10, False, id="live-leader"),
    pytest.param(A, T0 + LEASE, T0 + LEASE, True, id="leader-lease-ran-out"),
    pytest.param(B, T0 + LEASE, T0 + 10, True, id="own-renewed"),
    pytest.param(B, T0 + LEASE, T0 + 600, True, id="own-ran-out-nobody-took-it"),
]


@pytest.mark.parametrize(("holder", "until", "now", "taken"), ROLE_CASES)
def test_role_leases(
    store: StateStore, holder: str | None, until: float | None, now: float, taken: bool
) -> None:
    if holder is not None and until is not None:
        with store.transaction() as tx:
            assert tx.claim_role(LEADER, holder, T0, until)
    with store.transaction() as tx:
        assert tx.claim_role(LEADER, B, now, now + LEASE) is taken
        assert tx.role_holder(LEADER, now) == (B if taken else holder)
        assert tx.role_holder(LEADER, now + LEASE) is None  # nobody renewed it: free again


def test_leadership_hands_over_after_expiry_and_at_once_on_release(store: StateStore) -> None:
    with store.transaction() as tx:
        assert tx.claim_role(LEADER, A, T0, T0 + LEASE)
        assert tx.claim_role(LEADER, A, T0 + 20, T0 + 20 + LEASE)  # renewed
        assert not tx.claim_role(LEADER, B, T0 + LEASE, T0 + 2 * LEASE)  # renewal counts
        assert tx.claim_role(LEADER, B, T0 + 20 + LEASE, T0 + 20 + 2 * LEASE)  # A went silent
        assert tx.role_holder(LEADER, T0 + 21 + LEASE) == B
        assert not tx.release_role(LEADER, A)  # A's late release leaves B's leadership alone
        assert tx.release_role(LEADER, B)
        assert tx.role_holder(LEADER, T0 + 21 + LEASE) is None
        assert tx.claim_role(LEADER, A, T0 + 22 + LEASE, T0 + 22 + 2 * LEASE)  # at once


# (the message's claim: owner and until; who retries and when) -> lifted (due at `now`)?
RETRY_CASES = [
    pytest.param(None, T0 + 3600, True, id="backoff-without-a-claim"),
    pytest.param(A, T0 + LEASE, True, id="own-live-claim"),
    pytest.param(B, T0 + LEASE, False, id="live-claim-of-a-live-instance"),
    pytest.param("host-c:300:cccc", T0 + LEASE, True, id="claim-of-a-dead-instance"),
    pytest.param("never-registered", T0 + LEASE, True, id="claim-of-an-unregistered-process"),
]


@pytest.mark.parametrize(("claimant", "until", "lifted"), RETRY_CASES)
def test_retry_now_lifts_only_own_and_dead_claims(
    store: StateStore, claimant: str | None, until: float, lifted: bool
) -> None:
    [message_id] = _queue(store, 1)
    _register(store, A, B)
    _register(store, "host-c:300:cccc", now=T0 - 600)  # its lease ran out long ago
    with store.transaction() as tx:
        if claimant is None:
            tx.mark_failed(message_id, "421 try later", until)
        else:
            assert len(tx.claim_due_messages(T0, until, 1, claimant)) == 1
        now = T0 + 5
        assert tx.retry_unsent_now(now, A) == int(lifted)
        [message] = tx.outbox_messages()
        assert message.next_attempt == (now if lifted else until)
        # the lifted one is due for anyone; a live claim stays with its owner
        assert len(tx.claim_due_messages(now, now + LEASE, 1, A)) == int(lifted)


def test_a_failed_or_deferred_message_is_no_longer_claimed(store: StateStore) -> None:
    first, _second = _queue(store, 2)
    _register(store, A, B)
    with store.transaction() as tx:
        assert len(tx.claim_due_messages(T0, T0 + LEASE, 1, B)) == 1
        tx.mark_failed(first, "450 mailbox busy", T0 + 60)  # B's try failed: backoff, no claim
        tx.defer_due_messages(T0, T0 + 60)  # the server is down: the other waits as long
        assert tx.retry_unsent_now(T0 + 1, A) == 2  # B's live claim would have stayed put


def test_a_late_failure_report_leaves_the_claim_of_the_instance_that_took_over(
    store: StateStore,
) -> None:
    (message,) = _queue(store, 1)
    _register(store, A, B)
    with store.transaction() as tx:
        assert len(tx.claim_due_messages(T0, T0 + LEASE, 1, A)) == 1
    later = T0 + LEASE + 1  # A's claim ran out (a paused VM); B takes the message over
    _register(store, B, now=later)
    with store.transaction() as tx:
        assert len(tx.claim_due_messages(later, later + LEASE, 1, B)) == 1
        tx.mark_failed(message, "timeout", later + 60, A)  # A wakes and reports its try
        assert tx.claim_due_messages(later + 1, later + 1 + LEASE, 1, A) == []
        assert tx.retry_unsent_now(later + 1, A) == 0  # B's claim is still B's
        tx.mark_failed(message, "450 mailbox busy", later + 60, B)  # B's own report counts
        assert tx.retry_unsent_now(later + 1, A) == 1


# --- heartbeat, retirement, death ---------------------------------------------------------


def _hold_one_of_each(store: StateStore, owner: str) -> None:
    """`owner` takes a feed, the leadership and a message, all until T0 + LEASE."""
    with store.transaction() as tx:
        assert len(tx.claim_due_feeds(owner, T0, T0 + LEASE, 10)) == 1
        assert tx.claim_role(LEADER, owner, T0, T0 + LEASE)
        assert len(tx.claim_due_messages(T0, T0 + LEASE, 10, owner)) == 1


def _what_b_gets(store: StateStore, now: float) -> tuple[int, bool, int]:
    with store.transaction() as tx:
        return (
            len(tx.claim_due_feeds(B, now, now + LEASE, 10)),
            tx.claim_role(LEADER, B, now, now + LEASE),
            len(tx.claim_due_messages(now, now + LEASE, 10, B)),
        )


def test_heartbeat_renews_every_lease_an_instance_holds(store: StateStore) -> None:
    _feeds(store, 1)
    _queue(store, 1)
    _register(store, A, B)
    _hold_one_of_each(store, A)
    with store.transaction() as tx:
        assert tx.heartbeat(A, T0 + 20, T0 + 20 + LEASE)
    assert _what_b_gets(store, T0 + LEASE + 1) == (0, False, 0)  # without it: all three
    assert _what_b_gets(store, T0 + 20 + LEASE) == (1, True, 1)  # A went silent: B takes over


def test_heartbeat_never_shortens_a_longer_outbox_claim(store: StateStore) -> None:
    _queue(store, 1)
    _register(store, A)
    with store.transaction() as tx:
        tx.claim_due_messages(T0, T0 + 3600, 1, A)
        assert tx.heartbeat(A, T0 + 1, T0 + 1 + LEASE)
        [message] = tx.outbox_messages()
    assert message.next_attempt == T0 + 3600


def test_a_presumed_dead_instance_is_told_and_renews_nothing(store: StateStore) -> None:
    _feeds(store, 1)
    _queue(store, 1)
    _register(store, A, B)
    _hold_one_of_each(store, A)
    with store.transaction() as tx:
        assert not tx.heartbeat(A, T0 + LEASE, T0 + 2 * LEASE)  # too late: stop and start over
        assert not tx.heartbeat("never-registered", T0, T0 + LEASE)
    assert _what_b_gets(store, T0 + LEASE) == (1, True, 1)


def test_retiring_gives_everything_back_at_once(store: StateStore) -> None:
    _feeds(store, 1)
    _queue(store, 1)
    _register(store, A, B)
    _hold_one_of_each(store, A)
    with store.transaction() as tx:
        tx.retire_instance(A)
        assert [i.id for i in tx.instances(T0 + 1)] == [B]
        assert not tx.heartbeat(A, T0 + 1, T0 + 1 + LEASE)
    assert _what_b_gets(store, T0 + 1) == (1, True, 1)  # well before A's leases ran out


def test_instances_report_who_is_alive_and_what_each_holds(store: StateStore) -> None:
    _feeds(store, 3)
    _register(store, A, B)
    with store.transaction() as tx:
        tx.claim_due_feeds(A, T0, T0 + LEASE, 2)
        tx.claim_due_feeds(B, T0, T0 + LEASE, 2)
        tx.claim_role(LEADER, A, T0, T0 + LEASE)
        tx.claim_role("lists", A, T0, T0 + LEASE)
        assert tx.heartbeat(A, T0 + 20, T0 + 20 + LEASE)  # B goes silent
    with store.snapshot() as tx:
        a, b = tx.instances(T0 + LEASE)
    assert (a.id, a.host, a.pid, a.version) == (A, "host-a", 100, "0.1.0")
    assert (a.alive, a.roles, a.feeds_held) == (True, ("leader", "lists"), 2)
    assert (a.started_at, a.heartbeat_at, a.lease_until) == (T0, T0 + 20, T0 + 20 + LEASE)
    assert (b.id, b.alive, b.roles, b.feeds_held) == (B, False, (), 0)
    assert b.heartbeat_at == T0
    with store.transaction() as tx:
        assert tx.prune_instances(T0 + LEASE) == 0  # dead, but not for long yet
        assert tx.prune_instances(T0 + LEASE + 1) == 1
        assert [i.id for i in tx.instances(T0 + LEASE)] == [A]


def test_a_registered_instance_is_this_process_under_a_fresh_id() -> None:
    first, second = new_instance("0.1.0"), new_instance("0.1.0")
    assert first.id != second.id and first.pid == second.pid
    assert first.id.startswith(f"{first.host}:{first.pid}:")
    assert process_owner() == process_owner() != first.id


# --- the outbox drain, with an owner ------------------------------------------------------


async def test_a_drain_leaves_mail_another_live_instance_claimed(
    store: StateStore, tmp_path: Path
) -> None:
    _queue(store, 3)
    _register(store, A, B)
    with store.transaction() as tx:
        [taken] = tx.claim_due_messages(T0, T0 + LEASE, 1, A)
    outdir = tmp_path / "mail"
    result = await drain(store, lambda: DirectoryMailer(outdir), "w@example.org", T0, 5.0, owner=B)
    assert (result.sent, result.pending) == (2, 1)
    with store.snapshot() as tx:
        unsent = [m for m in tx.outbox_messages() if m.sent_at is None]
    assert [m.id for m in unsent] == [taken.id]
    later = await drain(
        store, lambda: DirectoryMailer(outdir), "w@example.org", T0 + LEASE, 5.0, owner=B
    )
    assert (later.sent, later.pending) == (1, 0)  # A died with it: B sends it after the lease
