"""The database is the daemon's one poll clock: the state's queries (`due_feeds`,
`next_due_poll`), the loop's pure rules (`polls_to_start`, `sleep_seconds`), and the poll
loop itself in-process on a real SQLite state, polling a real HTTP server on 127.0.0.1.

The loop's handler gets a `Controls` of the tests' own (the seam the controller fills in
`watcher run`); nothing here sleeps to wait: every wait is for a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer, Route, rss

from watcher.config.snapshot import load
from watcher.ingest.feedstate import FeedRow, FeedUpdate
from watcher.ingest.poll import sync_feeds
from watcher.progress import Heartbeat
from watcher.service.handlers.context import Context, Current, Work
from watcher.service.handlers.mail import Mail
from watcher.service.handlers.polling import PollLoop, polls_to_start, sleep_seconds
from watcher.service.handlers.reload import Reloader
from watcher.service.instance import Instance
from watcher.service.jobs import JobSpec
from watcher.service.sdnotify import Notifier
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store

NOW = 1_700_000_000.0
DEADLINE = 15.0
HOUR = 3600.0

# --- the state's queries -------------------------------------------------------------------


@pytest.fixture
def store(state: StateStore) -> StateStore:
    """The contract suite's store: the tests taking it run on SQLite and on PostgreSQL."""
    return state


def _feeds(store: StateStore, **next_polls: float) -> None:
    """Feeds named by keyword (``a=NOW``) with those next poll times."""
    with store.transaction() as tx:
        tx.sync_feeds([(f"https://{name}.example/rss", name) for name in next_polls], NOW)
        for name, at in next_polls.items():
            row = tx.feed(f"https://{name}.example/rss")
            assert row is not None
            tx.update_feed(row.id, FeedUpdate(next_poll=at))


def _names(rows: list[FeedRow]) -> list[str]:
    return [row.name for row in rows]


@pytest.mark.parametrize(
    ("now", "limit", "due", "next_after"),
    [
        (NOW, 10, ["late", "now"], NOW + 60),  # most overdue first; `now` itself is due
        (NOW - 100, 10, ["late"], NOW),
        (NOW, 1, ["late"], NOW + 60),  # at most `limit`
        (NOW + HOUR, 10, ["late", "now", "soon"], None),  # nothing scheduled after it
    ],
)
def test_due_feeds_and_the_next_due_poll(
    store: StateStore, now: float, limit: int, due: list[str], next_after: float | None
) -> None:
    _feeds(store, late=NOW - 300, now=NOW, soon=NOW + 60)
    with store.snapshot() as tx:
        assert _names(tx.due_feeds(now, limit)) == due
        assert tx.next_due_poll(now) == next_after


def test_disabled_and_removed_feeds_are_never_due(store: StateStore) -> None:
    _feeds(store, gone=NOW - 10, removed=NOW - 5, kept=NOW, later=NOW + 30)
    with store.transaction() as tx:
        gone = tx.feed("https://gone.example/rss")
        assert gone is not None
        tx.update_feed(gone.id, FeedUpdate(disabled_at=NOW - 20, next_poll=NOW + 10))
        keep = ["kept", "later"]
        tx.sync_feeds([(f"https://{n}.example/rss", n) for n in keep], NOW)  # `removed`: inactive
    with store.snapshot() as tx:
        assert _names(tx.due_feeds(NOW + HOUR, 10)) == ["kept", "later"]
        assert tx.next_due_poll(NOW) == NOW + 30  # not the disabled feed's NOW + 10


# --- the loop's pure rules -----------------------------------------------------------------


def _row(url: str) -> FeedRow:
    return FeedRow(
        id=1,
        url=url,
        current_url=url,
        name="",
        etag=None,
        last_modified=None,
        next_poll=NOW,
        failures=0,
        failing_since=None,
        last_error=None,
        last_status=None,
        last_poll=None,
        last_success=None,
        last_new_item=None,
        disabled_at=None,
        disabled_reason=None,
        initialized=True,
        active=True,
    )


@pytest.mark.parametrize(
    ("due", "inflight", "configured", "started"),
    [
        (["a", "b"], [], ["a", "b"], ["a", "b"]),
        (["a", "b"], ["a"], ["a", "b"], ["b"]),  # never twice at once
        (["a", "b"], [], ["b"], ["b"]),  # another instance's feed is not ours to poll
        ([], ["a"], ["a"], []),
    ],
)
def test_polls_to_start(
    due: list[str], inflight: list[str], configured: list[str], started: list[str]
) -> None:
    rows = [_row(url) for url in due]
    assert [r.url for r in polls_to_start(rows, set(inflight), set(configured))] == started


@pytest.mark.parametrize(
    ("next_poll", "resume_at", "tick", "seconds"),
    [
        (NOW + 2, 0.0, 5.0, 2.0),  # until the next feed is due
        (NOW + 60, 0.0, 5.0, 5.0),  # capped: a feed another instance adds is seen
        (None, 0.0, 5.0, 5.0),  # nothing scheduled
        (NOW - 3, 0.0, 5.0, 0.0),  # overdue: at once
        (NOW - 3, NOW + 2, 5.0, 2.0),  # paused after the state failed
        (NOW + 1, NOW + 60, 5.0, 5.0),  # a pause is capped too
        (NOW + 60, 0.0, HOUR, 60.0),
    ],
)
def test_sleep_seconds(
    next_poll: float | None, resume_at: float, tick: float, seconds: float
) -> None:
    assert sleep_seconds(NOW, next_poll, resume_at=resume_at, tick=tick) == seconds


# --- the poll loop, in-process -------------------------------------------------------------


class TestControls:
    """The controller's side of the seam, minimal: jobs are plain tasks, errors recorded."""

    __test__ = False

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[Exception] = []

    def spawn(self, work: Work, reason: str) -> None:
        self.tasks.add(asyncio.get_running_loop().create_task(work(reason)))

    def run_job(
        self, event: str, work: Coroutine[Any, Any, None], *, feed: str | None = None
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._recorded(work))
        self.tasks.add(task)
        return task

    async def _recorded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception as exc:
            self.errors.append(exc)

    def reschedule(self, specs: tuple[JobSpec, ...]) -> None:
        pass

    def heartbeat(self, label: str) -> Heartbeat:
        return Heartbeat(Notifier({}), label)

    def reloading(self) -> None:
        pass

    def reloaded(self) -> None:
        pass

    def status_changed(self) -> None:
        pass

    def failed(self, event: str, exc: Exception) -> None:
        self.errors.append(exc)


class World:
    """A config file with feeds on a local server, the state, and a poll loop over them."""

    def __init__(self, tmp: Path, server: FeedServer) -> None:
        self.tmp = tmp
        self.server = server
        self.config = tmp / "config.yaml"
        lists = tmp / "lists"
        lists.mkdir()
        (lists / "t.yaml").write_text(
            "list: t\nentries:\n  - id: rosneft\n    name: Rosneft\n    severity: high\n"
        )
        self.store = Store(tmp / "state")
        self.workers = ThreadPoolExecutor(2)

    def write_config(self, feeds: Mapping[str, str], *, concurrency: int = 16) -> None:
        """``feeds``: path -> interval."""
        listed = "".join(
            f"  - url: {self.server.url(path)}\n    interval: {every}\n"
            for path, every in feeds.items()
        )
        self.config.write_text(
            f"state_dir: {self.tmp / 'state'}\n"
            f"watchlists: [{self.tmp / 'lists'}]\n"
            f"feeds:\n{listed}"
            "polling:\n  jitter: 0s\n  timeout: 10s\n  allow_private_networks: true\n"
            f"  concurrency: {concurrency}\n  per_host: {concurrency}\n"
            "digest:\n  alert_severity: none\n"
        )

    def requests(self, path: str) -> int:
        return len(self.server.requests_for(path))

    def close(self) -> None:
        self.store.close()
        self.workers.shutdown(wait=False, cancel_futures=True)


class Running:
    """One poll loop (one daemon's life): start it, then `stop` it."""

    def __init__(self, world: World, tick: float, *, lease: float = 30.0) -> None:
        loaded = load(world.config)
        sync_feeds(world.store, loaded.config, time.time())
        self.stopping = asyncio.Event()
        self.controls = TestControls()
        self.current = Current(loaded)
        self.instance = Instance(world.store, lease)
        self.instance.register(time.time())
        ctx = Context(
            world.store,
            self.current,
            world.workers,
            world.workers,
            self.controls,
            self.stopping,
            self.instance,
        )
        self.loop = PollLoop(ctx, Mail(ctx), tick=tick)
        self.reloader = Reloader(ctx, world.config, self.loop.wake)
        self.task = asyncio.get_running_loop().create_task(self.loop.run("test"))

    def idle(self) -> bool:
        """Every poll started so far is over (the loop sleeps until the next is due)."""
        return bool(self.controls.tasks) and all(t.done() for t in self.controls.tasks)

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.wait_for(self.task, DEADLINE)
        if self.controls.tasks:
            await asyncio.wait(self.controls.tasks, timeout=DEADLINE)
        await self.current.aclose()
        assert self.controls.errors == []


async def until(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> None:
    """Wait for ``condition`` (checked every 10 ms) at most ``deadline`` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while not condition():
        if loop.time() > give_up:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}")
        await asyncio.sleep(0.01)


ITEM = {"guid": "c-1", "link": "https://news.test/c-1", "title": "Rosneft exports fall"}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    with FeedServer() as server:
        for path in ("/a.xml", "/b.xml", "/added.xml", "/removed.xml"):
            server.route(path, rss(ITEM), headers={"Content-Type": "application/rss+xml"})
        made = World(tmp_path, server)
        try:
            yield made
        finally:
            made.close()


async def test_due_feeds_are_polled_and_polled_again_when_due(world: World) -> None:
    world.write_config({"/a.xml": "1s", "/b.xml": "1h"})
    running = Running(world, tick=HOUR)
    await until(lambda: world.requests("/a.xml") >= 3, "three polls of the 1 s feed")
    assert world.requests("/b.xml") == 1  # due at start, then not for an hour
    await running.stop()


async def test_a_feed_in_backoff_is_not_polled_before_its_next_poll_across_a_restart(
    world: World,
) -> None:
    world.server.route("/b.xml", b"busy", status=503, headers={"Retry-After": "3600"})
    world.write_config({"/a.xml": "1s", "/b.xml": "1s"})
    first = Running(world, tick=HOUR)
    await until(lambda: world.requests("/b.xml") == 1, "the first poll of the busy feed")
    await until(lambda: world.requests("/a.xml") >= 2, "another poll of the 1 s feed")
    await first.stop()
    with world.store.snapshot() as tx:
        busy = tx.feed(world.server.url("/b.xml"))
    assert busy is not None and busy.failures == 1 and busy.next_poll > time.time() + HOUR - 60

    again = Running(world, tick=HOUR)  # a restart: a new loop on the same state
    polled = world.requests("/a.xml")
    await until(lambda: world.requests("/a.xml") >= polled + 3, "polls after the restart")
    assert world.requests("/b.xml") == 1  # still in backoff: Retry-After holds
    await again.stop()


async def test_a_feed_added_by_reload_is_polled_at_once(world: World) -> None:
    world.write_config({"/a.xml": "1h"})
    running = Running(world, tick=HOUR)  # without a wake-up it would sleep for an hour
    await until(lambda: running.idle() and world.requests("/a.xml") == 1, "the first poll")
    world.write_config({"/a.xml": "1h", "/added.xml": "1h"})
    await running.reloader.reload("test")
    await until(lambda: world.requests("/added.xml") == 1, "the added feed's poll")
    assert world.requests("/a.xml") == 1
    await running.stop()


async def test_a_removed_feed_is_polled_no_more(world: World) -> None:
    world.write_config({"/a.xml": "1s", "/removed.xml": "1s"})
    running = Running(world, tick=HOUR)
    await until(lambda: world.requests("/removed.xml") >= 2, "polls of the doomed feed")
    world.write_config({"/a.xml": "1s"})
    await running.reloader.reload("test")
    polled = world.requests("/a.xml")
    await until(lambda: world.requests("/a.xml") >= polled + 2, "polls after the reload")
    removed = world.requests("/removed.xml")  # a poll in flight at the reload is done now
    await until(lambda: world.requests("/a.xml") >= polled + 4, "more polls")
    assert world.requests("/removed.xml") == removed
    await running.stop()


async def test_410_gone_stops_polling(world: World) -> None:
    world.server.route("/b.xml", b"", status=410)
    world.write_config({"/a.xml": "1s", "/b.xml": "1s"})
    running = Running(world, tick=HOUR)
    await until(lambda: world.requests("/a.xml") >= 3, "polls of the live feed")
    assert world.requests("/b.xml") == 1
    await running.stop()


async def test_a_poll_slower_than_its_interval_is_not_started_twice(tmp_path: Path) -> None:
    stalled, release = threading.Event(), threading.Event()

    def slow(path: str, _headers: Mapping[str, str]) -> Route:
        if path != "/slow.xml":
            return Route(status=404)
        stalled.set()
        release.wait(timeout=DEADLINE * 2)
        return Route(body=rss(ITEM), headers={"Content-Type": "application/rss+xml"})

    with FeedServer(handler=slow) as server:
        server.route("/a.xml", rss(ITEM), headers={"Content-Type": "application/rss+xml"})
        world = World(tmp_path, server)
        try:
            world.write_config({"/a.xml": "1s", "/slow.xml": "1s"})
            running = Running(world, tick=HOUR)
            await until(stalled.is_set, "the slow feed's request")
            polled = world.requests("/a.xml")
            await until(lambda: world.requests("/a.xml") >= polled + 2, "polls meanwhile")
            assert world.requests("/slow.xml") == 1  # still in flight: not again
            release.set()
            await until(lambda: world.requests("/slow.xml") == 2, "its next poll, once done")
            await running.stop()
        finally:
            release.set()
            world.close()


async def test_a_stop_while_a_poll_waits_for_its_slot_does_not_start_it(tmp_path: Path) -> None:
    stalled, release = threading.Event(), threading.Event()

    def slow(path: str, _headers: Mapping[str, str]) -> Route:
        stalled.set()
        release.wait(timeout=DEADLINE * 2)
        return Route(body=rss(ITEM), headers={"Content-Type": "application/rss+xml"})

    with FeedServer(handler=slow) as server:
        world = World(tmp_path, server)
        try:
            # one poll at a time: the second feed waits for the first one's slot
            world.write_config({"/one.xml": "1h", "/two.xml": "1h"}, concurrency=1)
            running = Running(world, tick=HOUR)
            await until(stalled.is_set, "the first feed's request")
            running.stopping.set()
            release.set()
            await running.stop()
            assert len(server.requests) == 1  # the queued poll never started
        finally:
            release.set()
            world.close()
