"""The instance wiring (issue 10), in process: registration, heartbeat, presumed death, the
leader, the drain's fresh clock, and the one-shot commands beside a live instance.

The state is real (SQLite file, and the throwaway PostgreSQL cluster where instances on
other hosts matter); time is injected. Two processes of `watcher run`, killed at random, are
tests/test_ha_chaos.py.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest
from feedserver import FeedServer, rss
from notifier_samples import make_config
from pgcluster import PASSWORD, Database
from test_state_failures import run_cli

from watcher.commands.status import format_instances
from watcher.config.settings import load_config
from watcher.ingest.poll import sync_feeds
from watcher.notify import notifier
from watcher.notify.outbox import BATCH
from watcher.service.instance import Instance
from watcher.state.interface import StateStore
from watcher.state.leases import LEADER, InstanceInfo
from watcher.state.postgresql import WRITE_LOCK, PostgresStore
from watcher.state.sqlite import Store

T0 = 1_761_202_800.0
LEASE = 30.0
OTHER = InstanceInfo("db-2:4242:feedbeef", "db-2", 4242, "0.1.0")  # an instance on another host


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return Store(tmp_path / "state")


def _feed_ids(store: StateStore, count: int, now: float = T0) -> list[int]:
    with store.transaction() as tx:
        tx.sync_feeds([(f"http://127.0.0.1/{n}.xml", f"feed {n}") for n in range(count)], now)
        return [feed.id for feed in tx.feeds()]


def _holder_of(store: StateStore, feed_id: int) -> str | None:
    with store.snapshot() as tx:
        (row,) = [f for f in tx.feeds() if f.id == feed_id]
        return row.lease_owner


def test_a_late_heartbeat_gives_the_work_back_and_registers_afresh(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    (feed,) = _feed_ids(store, 1)
    instance = Instance(store, LEASE)
    instance.register(T0)
    first = instance.id
    assert instance.leader
    with store.transaction() as tx:
        tx.claim_due_feeds(first, T0, T0 + LEASE, 10)

    assert instance.beat(T0 + 10)  # in time: renewed
    assert _holder_of(store, feed) == first
    caplog.set_level(logging.INFO)
    assert not instance.beat(T0 + 10 + LEASE + 1)  # a stall longer than the lease
    assert instance.id != first  # registered afresh, under a new id
    assert _holder_of(store, feed) is None  # what it held is given back
    with store.snapshot() as tx:
        ids = [i.id for i in tx.instances(T0 + 10 + LEASE + 1)]
        assert tx.role_holder(LEADER, T0 + 10 + LEASE + 1) == instance.id
    assert ids == [instance.id]
    assert sum("result=presumed-dead" in r.getMessage() for r in caplog.records) == 1


def test_a_new_leader_is_told_once_whichever_way_it_took_the_lead(store: StateStore) -> None:
    taken: list[str] = []
    with store.transaction() as tx:
        tx.register_instance(OTHER, T0, T0 + LEASE)
        assert tx.claim_role(LEADER, OTHER.id, T0, T0 + LEASE)
    instance = Instance(store, LEASE)
    instance.on_leader = lambda: taken.append(instance.id)
    instance.register(T0 + 20)
    assert not instance.leader and taken == []  # the other leads
    assert not instance.lead_for("digest", "SIGUSR1", T0 + 21)  # a no-op here
    assert instance.lead(T0 + LEASE + 1)  # its lease ran out: a leader-only job takes over
    assert instance.beat(T0 + LEASE + 2)
    assert taken == [instance.id]  # once: the heartbeat renewed, it did not "become" again


def test_the_single_writer_lock_holder_takes_over_a_killed_predecessor_at_once(
    store: StateStore,
) -> None:
    """SQLite: the state directory's lock proves no other instance runs; a predecessor
    killed with SIGKILL left leases that would otherwise hold its feeds for a lease."""
    (feed,) = _feed_ids(store, 1)
    with store.transaction() as tx:
        tx.register_instance(OTHER, T0, T0 + LEASE)
        tx.claim_role(LEADER, OTHER.id, T0, T0 + LEASE)
        tx.claim_due_feeds(OTHER.id, T0, T0 + LEASE, 1)
    instance = Instance(store, LEASE)
    instance.register(T0 + 1, sole=True)
    assert instance.leader
    assert _holder_of(store, feed) is None
    with store.transaction() as tx:
        assert [f.id for f in tx.claim_due_feeds(instance.id, T0 + 1, T0 + 31, 1)] == [feed]


async def test_the_drain_claims_and_records_each_batch_at_its_own_time(
    store: StateStore, tmp_path: Path
) -> None:
    """A drain of more than one batch claims the later batches at the time they start (a
    claim taken with a stale `now` would expire early, and be taken over mid-send)."""
    config = make_config(tmp_path)
    with store.transaction() as tx:
        for n in range(BATCH + 5):
            tx.add_to_outbox("alert", f"<m{n}@test>", ["a@example.org"], b"Subject: x\r\n\r\n", T0)
    ticks = itertools.count(T0, 1.0)
    result = await notifier.drain_outbox(
        store, config, T0, owner="me", lease=LEASE, clock=lambda: next(ticks)
    )
    assert result.sent == BATCH + 5
    with store.snapshot() as tx:
        sent = sorted(m.sent_at or 0.0 for m in tx.outbox_messages())
    assert len(set(sent)) == BATCH + 5  # every message recorded at its own time
    assert sent[-1] > T0 + BATCH  # the second batch after the first one's sends


# --- one-shot commands beside instances on other hosts (PostgreSQL) ---------------------------


def _pg_config(tmp_path: Path, database: Database, feeds: str = "") -> Path:
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "t.yaml").write_text(
        "list: t\nentries:\n  - id: rosneft\n    name: Rosneft\n    severity: high\n"
    )
    password = tmp_path / "db-password"
    password.write_text(PASSWORD + "\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nwatchlists: [{tmp_path / 'lists'}]\n"
        f"feeds:\n{feeds or '  []'}\n"
        "polling:\n  jitter: 0s\n  timeout: 5s\n  allow_private_networks: true\n"
        "email:\n  to: [a@example.org]\n  delivery: directory\n"
        f"  directory: {tmp_path / 'outbox'}\n"
        f"database:\n  url: {database.url}\n  password_file: {password}\n  lease: 30s\n"
    )
    return config


def _pg_store(database: Database) -> PostgresStore:
    return PostgresStore(database.conninfo(), database.url)


def test_digest_send_refuses_naming_the_instance_that_leads(
    tmp_path: Path, pg_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _pg_config(tmp_path, pg_database)
    store = _pg_store(pg_database)
    now = time.time()
    try:
        with store.transaction() as tx:
            tx.register_instance(OTHER, now, now + 300)
            assert tx.claim_role(LEADER, OTHER.id, now, now + 300)
        code, _, err = run_cli(capsys, "digest", "--send", "--config", str(config))
        assert code == 1
        assert f"{OTHER.id} (PID 4242 on db-2) leads the digest" in err
        assert "SIGUSR1" in err
        with store.snapshot() as tx:  # it left nothing behind: no instance, no digest
            assert [i.id for i in tx.instances(time.time())] == [OTHER.id]
            assert tx.last_queued_at("digest") is None

        with store.transaction() as tx:
            tx.retire_instance(OTHER.id)  # the leader stopped: now it may
        code, out, _ = run_cli(capsys, "digest", "--send", "--config", str(config))
        assert code == 0 and "outbox: sent 0" in out
    finally:
        store.close()


def test_poll_once_leaves_a_feed_another_instance_is_polling_to_it(
    tmp_path: Path, pg_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        for path in ("/held.xml", "/free.xml"):
            server.route(path, rss({"guid": path, "link": f"https://n.test{path}", "title": "x"}))
        feeds = "".join(f"  - url: {server.url(p)}\n" for p in ("/held.xml", "/free.xml"))
        config = _pg_config(tmp_path, pg_database, feeds)
        store = _pg_store(pg_database)
        try:
            now = time.time()
            sync_feeds(store, load_config(config), now)  # as an instance at its start
            with store.transaction() as tx:
                tx.register_instance(OTHER, now, now + 300)
                (held,) = [f.id for f in tx.feeds() if f.url.endswith("/held.xml")]
                (claimed,) = tx.claim_due_feeds(OTHER.id, now, now + 300, 1)
                assert claimed.id == held  # the oldest first: listed first, synced first
            code, out, _ = run_cli(capsys, "poll", "--once", "--config", str(config))
            assert code == 0, out
            assert len(server.requests_for("/free.xml")) == 1
            assert server.requests_for("/held.xml") == []  # the other instance polls it

            code, out, _ = run_cli(capsys, "status", "--config", str(config))
            assert "instances: 1 (1 alive)" in out
            assert "ALIVE     db-2 PID 4242" in out and "1 feed(s) held" in out
        finally:
            store.close()


def test_status_shows_the_leader_and_a_dead_instance(store: StateStore) -> None:
    instance = Instance(store, LEASE)
    instance.register(T0)
    with store.transaction() as tx:
        tx.register_instance(OTHER, T0 - 100, T0 - 70)  # its lease ran out 70 s ago
    with store.snapshot() as tx:
        text = format_instances(tx.instances(T0 + 5), T0 + 5)
    lines = text.splitlines()
    assert lines[0] == "instances: 2 (1 alive)"
    assert lines[1].startswith(f"  ALIVE     {instance.info.host} PID {instance.info.pid}, leader")
    assert "last heartbeat 5s ago" in lines[2]
    assert lines[3].startswith("  DEAD      db-2 PID 4242 (")
    assert "last heartbeat 105s ago" in lines[4]


def test_two_instances_starting_at_once_on_a_new_database_both_open_it(
    pg_database: Database,
) -> None:
    """Both see a new database and wait for the write lock to create the schema; the second
    must then find the schema the first created (not create it again and fail)."""
    holder = psycopg.connect(pg_database.conninfo(), autocommit=True)
    holder.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
    opened: list[PostgresStore] = []
    failures: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(_pg_store(pg_database))
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    give_up = time.monotonic() + 30
    while holder.execute(waiting).fetchone() != (2,):  # both wait behind the lock
        assert time.monotonic() < give_up, "the two opens never waited for the lock"
        time.sleep(0.01)
    holder.execute("COMMIT")
    for thread in threads:
        thread.join(timeout=30)
    holder.close()
    for store in opened:
        store.close()
    assert not failures, failures
    assert len(opened) == 2
