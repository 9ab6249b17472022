"""`lists:` on several instances sharing one state (issue 10): each host keeps the list files
in its own state_dir, the validators, changes and version in force are shared. Real parts: a
loopback HTTP server serving list versions with ETags, real list files, one database opened
by two stores (SQLite file, and PostgreSQL through the `backend` fixture)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Backend
from feedserver import FeedServer, Route
from import_helpers import OFAC_DIR
from test_lists import store_article

from watcher.config.schema import Config
from watcher.config.settings import load_config, load_watchlist_file
from watcher.ingest.fetch import make_client
from watcher.lists.rescreen import CLAIM, rescreen, rescreen_pending
from watcher.lists.update import ListUpdateResult, list_fetch_limits, output_path, update_due
from watcher.matching import scan
from watcher.matching.index import compile_watchlists
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store

ROWS = (OFAC_DIR / "sdn.csv").read_bytes().split(b"\r\n")
PUTIN, LAVROV = ROWS[0], ROWS[1]  # ofac-35096, ofac-35233
V3 = b"\r\n".join(ROWS)  # every entry
V2 = V3.replace(LAVROV + b"\r\n", b"")  # + Putin
V1 = V2.replace(PUTIN + b"\r\n", b"")  # neither
DAY = 86400.0
PUTIN_NEWS = "Vladimir Putin met oil executives in Moscow on Tuesday."


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@dataclass
class Instance:
    """One `watcher run` host: its own config and state_dir, a store on the shared state."""

    config: Config
    state_dir: Path
    store: StateStore

    @property
    def list_file(self) -> Path:
        return output_path(self.config.lists[0], self.state_dir)

    def entry_ids(self) -> set[str]:
        return {e.id for e in load_watchlist_file(self.list_file).entries}

    async def tick(self, now: float, *, force: bool = False) -> list[ListUpdateResult]:
        """What the daemon's lists job does on every tick, on every instance."""
        client = make_client(list_fetch_limits(self.config))
        try:
            return await update_due(
                self.config, self.store, self.state_dir, client, now, force=force
            )
        finally:
            await client.aclose()

    def screens(self, text: str) -> set[str]:
        """The entry ids this host's list file matches in `text`."""
        watchlist = load_watchlist_file(self.list_file)
        compiled = compile_watchlists([watchlist], threshold=self.config.matching.threshold)
        return {m.entry_id for m in scan(text, compiled).matches}


def instance(tmp_path: Path, name: str, url: str, store: StateStore) -> Instance:
    state_dir = tmp_path / name
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"state_dir: {state_dir}\n"
        "polling: {allow_private_networks: true, timeout: 10s}\n"
        f"lists: [{{name: ofac, source: ofac, urls: [{url}], every: 1d}}]\n",
        encoding="utf-8",
    )
    return Instance(load_config(path), state_dir, store)


def only(results: list[ListUpdateResult]) -> ListUpdateResult:
    (result,) = results
    return result


def change_rows(store: StateStore) -> list[tuple[int, int, int]]:
    with store.snapshot() as tx:
        return [(c.added, c.removed, c.changed) for c in tx.pending_list_changes()]


async def test_a_updates_b_catches_up_records_nothing_and_back_screening_runs_once(
    tmp_path: Path, server: FeedServer, backend: Backend
) -> None:
    url = server.route("/sdn.csv", V1, etag='"v1"')
    a = instance(tmp_path, "host-a", url, backend.open())
    b = instance(tmp_path, "host-b", url, backend.open())
    assert only(await a.tick(0.0)).status == "updated"
    # B was started with A: its first tick is not due (A checked), yet it gets the list
    first_b = only(await b.tick(300.0))
    assert (first_b.status, first_b.swapped, first_b.diff) == ("updated", True, None)
    assert len(server.requests_for("/sdn.csv")) == 1  # from the database, no download
    assert b.list_file.read_bytes() == a.list_file.read_bytes()
    store_article(a.store, "before", PUTIN_NEWS, 500.0)

    server.route("/sdn.csv", V2, etag='"v2"')
    a_update = only(await a.tick(DAY))
    assert a_update.diff is not None and [e.id for e in a_update.diff.added] == ["ofac-35096"]
    assert a_update.rescreen
    assert "ofac-35096" not in b.entry_ids()  # B has not ticked yet
    # B's next check is due: before issue 10 it sent A's ETag, got 304 and kept v1 forever
    b_check = only(await b.tick(2 * DAY))
    assert (b_check.status, b_check.swapped, b_check.diff) == ("updated", True, None)
    assert "if-none-match" not in server.requests_for("/sdn.csv")[-1].headers
    assert "ofac-35096" in b.entry_ids()
    assert b.screens(PUTIN_NEWS) == {"ofac-35096"}
    # from now on B's sources are the version in force: a 304 is trusted
    assert only(await b.tick(3 * DAY)).status == "not-modified"
    assert server.requests_for("/sdn.csv")[-1].headers["if-none-match"] == '"v2"'
    assert b.entry_ids() == a.entry_ids()
    assert change_rows(a.store) == [(9, 0, 0), (1, 0, 0)]  # the v2 change once

    # back-screening: B first, then A; the match exists once
    assert rescreen_pending(b.store, b.config, b.state_dir, 3 * DAY) == 1
    assert rescreen_pending(a.store, a.config, a.state_dir, 3 * DAY) == 0
    assert backend.rows("SELECT article_id, entry_id, origin FROM matches") == [
        ("before", "ofac-35096", "rescreen")
    ]
    # the digest lists the change once, whichever instance builds it
    with a.store.snapshot() as tx:
        ids = [c.id for c in tx.pending_list_changes()]
    with a.store.transaction() as tx:
        assert tx.mark_list_changes_digested(ids, "digest-a") == 2
    with b.store.transaction() as tx:
        assert tx.mark_list_changes_digested(ids, "digest-b") == 0
        assert tx.pending_list_changes() == []

    # a fresh instance (empty state_dir) joining later: the version in force, no download
    requests = len(server.requests_for("/sdn.csv"))
    c = instance(tmp_path, "host-c", url, backend.open())
    assert only(await c.tick(3 * DAY + 300)).swapped
    assert c.entry_ids() == a.entry_ids() and "ofac-35096" in c.entry_ids()
    assert len(server.requests_for("/sdn.csv")) == requests
    assert await c.tick(3 * DAY + 600) == []  # in step: nothing to do, nothing fetched
    assert len(server.requests_for("/sdn.csv")) == requests


async def test_b_behind_when_the_server_moved_on_diffs_from_the_version_in_force(
    tmp_path: Path, server: FeedServer
) -> None:
    """B still has v1 when A recorded v2 and A is gone; the server now has v3: B's change is
    v2 -> v3 (Lavrov), not v1 -> v3 (Putin again: listed twice in digests)."""
    url = server.route("/sdn.csv", V1, etag='"v1"')
    a = instance(tmp_path, "host-a", url, Store(tmp_path / "db"))
    b = instance(tmp_path, "host-b", url, Store(tmp_path / "db"))
    await a.tick(0.0)
    await b.tick(300.0)
    server.route("/sdn.csv", V2, etag='"v2"')
    await a.tick(DAY)
    server.route("/sdn.csv", V3, etag='"v3"')
    b_update = only(await b.tick(2 * DAY))
    assert b_update.diff is not None and b_update.swapped
    assert [e.id for e in b_update.diff.added] == ["ofac-35233"]
    assert b_update.rescreen
    assert change_rows(b.store) == [(9, 0, 0), (1, 0, 0), (1, 0, 0)]
    assert "ofac-35233" in b.entry_ids() and "ofac-35096" in b.entry_ids()
    assert only(await a.tick(2 * DAY + 300)).swapped  # A catches up from the database
    assert a.entry_ids() == b.entry_ids()
    a.store.close()
    b.store.close()


async def test_a_download_failure_on_b_keeps_its_file_in_force(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/sdn.csv", V1, etag='"v1"')
    a = instance(tmp_path, "host-a", url, Store(tmp_path / "db"))
    b = instance(tmp_path, "host-b", url, Store(tmp_path / "db"))
    await a.tick(0.0)
    await b.tick(300.0)
    before = b.list_file.read_bytes()
    server.route("/sdn.csv", status=500, body=b"oops")
    failed = only(await b.tick(DAY))
    assert (failed.status, failed.swapped) == ("failed", False)
    assert "HTTP 500" in failed.error
    assert b.list_file.read_bytes() == before
    with a.store.snapshot() as tx:
        assert tx.list_state("ofac").failures == 1  # shared: status shows it on any host
    # A recorded v2 meanwhile; B's download fails again, yet B takes v2 from the database
    server.route("/sdn.csv", V2, etag='"v2"')
    await a.tick(DAY + 60, force=True)  # (`watcher lists update --now` on A)
    server.route("/sdn.csv", status=500, body=b"oops")
    again = only(await b.tick(3 * DAY))  # due: its download fails
    assert (again.status, again.swapped) == ("failed", True)  # failed, and reload due
    assert "ofac-35096" in b.entry_ids()
    a.store.close()
    b.store.close()


async def test_a_version_recorded_by_another_instance_meanwhile_is_not_overwritten(
    tmp_path: Path,
) -> None:
    """B's download is held while A records v2; B then gets v3 from the server: its diff
    (from v1) no longer fits, so B records nothing and fails this check; its next check
    starts from v2 and records v2 -> v3."""
    body = {"now": V1}
    hold, arrived, release = threading.Event(), threading.Event(), threading.Event()

    def handler(path: str, headers: Mapping[str, str]) -> Route:
        if hold.is_set():  # the next request (B's) waits until A is done
            hold.clear()
            arrived.set()
            release.wait(timeout=20)
        return Route(body=body["now"])

    with FeedServer(handler) as server:
        url = server.url("/sdn.csv")
        a = instance(tmp_path, "host-a", url, Store(tmp_path / "db"))
        b = instance(tmp_path, "host-b", url, Store(tmp_path / "db"))
        await a.tick(0.0)
        await b.tick(300.0)
        body["now"] = V2
        hold.set()
        b_task = asyncio.create_task(b.tick(DAY))
        assert await asyncio.to_thread(arrived.wait, 20)
        a_update = only(await a.tick(DAY + 1))
        assert a_update.diff is not None and [e.id for e in a_update.diff.added] == ["ofac-35096"]
        body["now"] = V3
        release.set()
        b_result = only(await b_task)
        assert b_result.status == "failed" and "another instance" in b_result.error
        assert "ofac-35096" not in b.entry_ids()  # its file stays as it was: v1
        assert change_rows(a.store) == [(9, 0, 0), (1, 0, 0)]
        retry = only(await b.tick(2 * DAY))
    assert retry.diff is not None and [e.id for e in retry.diff.added] == ["ofac-35233"]
    assert change_rows(a.store) == [(9, 0, 0), (1, 0, 0), (1, 0, 0)]
    a.store.close()
    b.store.close()


async def _a_took_up_a_change(tmp_path: Path, server: FeedServer) -> tuple[Instance, Instance]:
    """Two instances on one database, both at v1, an article stored, then v2 published and
    taken up by A only (B has not ticked since)."""
    url = server.route("/sdn.csv", V1, etag='"v1"')
    a = instance(tmp_path, "host-a", url, Store(tmp_path / "db"))
    b = instance(tmp_path, "host-b", url, Store(tmp_path / "db"))
    await a.tick(0.0)
    await b.tick(300.0)
    store_article(a.store, "before", PUTIN_NEWS, 500.0)
    server.route("/sdn.csv", V2, etag='"v2"')
    await a.tick(DAY)
    return a, b


async def test_back_screening_is_claimed_by_one_instance_and_a_second_run_adds_nothing(
    tmp_path: Path, server: FeedServer
) -> None:
    a, b = await _a_took_up_a_change(tmp_path, server)
    await b.tick(DAY + 300)  # in step with v2
    with a.store.transaction() as tx:
        (change,) = tx.list_changes_to_rescreen()
        # A claims the back-screening, then dies (SIGKILL) before finishing it
        assert tx.claim_rescreen(change.id, "host-a", DAY, DAY + CLAIM)
    assert rescreen_pending(b.store, b.config, b.state_dir, DAY + 600) == 0  # A's claim
    with b.store.snapshot() as tx:
        assert [c.id for c in tx.list_changes_to_rescreen()] == [change.id]  # still to do
    later = DAY + CLAIM + 1
    assert rescreen_pending(b.store, b.config, b.state_dir, later) == 1  # A's ran out
    with a.store.transaction() as tx:
        assert tx.list_changes_to_rescreen() == []
        assert not tx.claim_rescreen(change.id, "host-a", later, later + CLAIM)  # done
    # a second run over the same articles (a claim that ran out while its holder was still
    # at it) stores nothing twice: matches are unique per (article, list, entry)
    watchlist = load_watchlist_file(a.list_file)
    compiled = compile_watchlists([watchlist], threshold=a.config.matching.threshold)
    assert rescreen(a.store, compiled, 0.0, later) == 0
    with a.store.snapshot() as tx:
        pending = tx.pending_matches()
    assert [(m.article_id, m.entry_id) for m in pending] == [("before", "ofac-35096")]
    a.store.close()
    b.store.close()


async def test_an_instance_whose_list_is_behind_leaves_back_screening_to_others(
    tmp_path: Path, server: FeedServer
) -> None:
    a, b = await _a_took_up_a_change(tmp_path, server)
    # B has not ticked: its file lacks the new entry; back-screening there would find
    # nothing and mark the change done
    assert rescreen_pending(b.store, b.config, b.state_dir, DAY + 60) == 0
    with b.store.snapshot() as tx:
        assert len(tx.list_changes_to_rescreen()) == 1
    assert rescreen_pending(a.store, a.config, a.state_dir, DAY + 60) == 1
    a.store.close()
    b.store.close()
