"""`lists:` in the running daemon, end to end: a real `watcher run` subprocess polling a feed
while its official list is updated from a loopback HTTP server, the new list hot-reloaded,
stored news back-screened, and the next digest showing "List changes" and "Newly listed,
already in the news" once, also across a SIGKILL in the middle of an update.

The harness (feed and SMTP servers, notify socket, daemon subprocess) is test_daemon_e2e's.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from feedserver import FeedServer, rss
from import_helpers import OFAC_DIR
from smtpserver import SmtpTestServer, of_kind, plain_text
from test_daemon_e2e import DEADLINE, ROSNEFT_ITEM, STARTUP, DaemonProcess, Setup, wait_until

from watcher.state.sqlite import Store

pytestmark = pytest.mark.slow

SDN = (OFAC_DIR / "sdn.csv").read_bytes()
SDN_WITHOUT_PUTIN = SDN.replace(SDN.split(b"\r\n")[0] + b"\r\n", b"")
PUTIN_ITEM = {
    "guid": "lists-1",
    "link": "https://news.test/putin-1",
    "title": "Kremlin talks on oil exports",
    "description": "Vladimir Putin met oil executives in Moscow on Tuesday.",
}
LATER_ITEM = {
    "guid": "lists-2",
    "link": "https://news.test/putin-2",
    "title": "New decree on grain exports",
    "description": "Vladimir Putin signed a decree on grain exports.",
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Setup]:
    with FeedServer() as feeds, SmtpTestServer(tmp_path) as smtp:
        feeds.route(
            "/news.xml",
            rss(ROSNEFT_ITEM, PUTIN_ITEM),
            headers={"Content-Type": "application/rss+xml"},
        )
        feeds.route("/sdn.csv", SDN_WITHOUT_PUTIN, etag='"v1"')
        setup = Setup(tmp_path, feeds, smtp)
        setup.write_config()
        lists = (
            "lists:\n"
            f"  - {{name: ofac, source: ofac, urls: [{feeds.url('/sdn.csv')}], every: 1s,"
            " severity: high}\n"
            "retention: {rescreen: 30d}\n"
        )
        setup.config.write_text(setup.config.read_text() + lists)
        try:
            yield setup
        finally:
            setup.close()


def _start_and_take_baseline(world: Setup) -> DaemonProcess:
    daemon = world.start()
    world.notify.expect("READY", deadline=STARTUP)
    daemon.wait_log("event=list-update list=ofac result=updated entries=10")
    (alert,) = of_kind(world.smtp.wait_for_messages(1), "alert")  # Rosneft, hand-made list
    assert "Putin" not in plain_text(alert)  # not listed yet
    return daemon


def test_list_update_while_polling_reaches_the_next_digest(world: Setup) -> None:
    daemon = _start_and_take_baseline(world)

    world.feeds.route("/sdn.csv", SDN, etag='"v2"')
    daemon.wait_log("result=updated entries=11 added=1 removed=0 changed=0")
    daemon.wait_log("reason=list-update")
    daemon.wait_log("rescreened=1")
    # the back-screened hit is high severity (the list's severity): an alert too
    messages = world.smtp.wait_for_messages(2)
    assert "Putin" in str(of_kind(messages, "alert")[-1]["Subject"])

    # the running daemon screens new articles against the reloaded list
    world.feeds.route("/news.xml", rss(ROSNEFT_ITEM, PUTIN_ITEM, LATER_ITEM))
    world.smtp.wait_for_messages(3)

    daemon.send(signal.SIGUSR1)
    (digest,) = of_kind(world.smtp.wait_for_messages(4), "digest")
    text = plain_text(digest)
    newly = text.index("== NEWLY LISTED, ALREADY IN THE NEWS ==")
    changes = text.index("== LIST CHANGES ==")
    assert text.count(PUTIN_ITEM["link"]) == 1
    assert newly < text.index(PUTIN_ITEM["link"]) < text.index("== HIGH SEVERITY")
    assert text.index("== HIGH SEVERITY") < text.index(LATER_ITEM["link"]) < changes
    assert "-- ofac, updated " in text and "first import, 10 entries" in text
    assert "1 added, 0 removed, 0 changed (11 entries)" in text
    assert "+ Vladimir Vladimirovich Putin [ofac-35096, person; RUSSIA-EO14024]" in text

    daemon.send(signal.SIGUSR1)
    daemon.wait_log("queued=nothing-pending")
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert len(world.smtp.messages) == 4


def _recorded_changes(world: Setup) -> int:
    store = Store(world.tmp / "state")  # a second connection, as `watcher status` opens
    try:
        with store.snapshot() as tx:
            return len(tx.pending_list_changes())
    finally:
        store.close()


@pytest.mark.parametrize("moment", ["downloading", "recorded"])
def test_sigkill_in_the_middle_of_an_update_loses_and_repeats_nothing(
    world: Setup, moment: str
) -> None:
    daemon = _start_and_take_baseline(world)
    if moment == "downloading":
        # the new release drips in slowly (a byte every 10 ms): the daemon is killed while
        # it downloads it; requests recorded after `before` were answered from the new route
        world.feeds.route("/sdn.csv", SDN, etag='"v2"', drip=0.01)
        before = len(world.feeds.requests_for("/sdn.csv"))
        wait_until(
            lambda: any(
                r.headers.get("if-none-match") == '"v1"'
                for r in world.feeds.requests_for("/sdn.csv")[before:]
            ),
            "the update's request",
        )
    else:
        # killed as soon as the change is recorded: around the swap, the reload and the
        # back-screening that follow it
        world.feeds.route("/sdn.csv", SDN, etag='"v2"')
        wait_until(lambda: _recorded_changes(world) == 2, "the change recorded")
    daemon.send(signal.SIGKILL)
    daemon.wait_exit()
    world.feeds.route("/sdn.csv", SDN, etag='"v2"')

    again = world.start()
    world.notify.expect("READY", deadline=STARTUP)

    def putin_alert() -> list[EmailMessage]:
        alerts = of_kind(list(world.smtp.messages), "alert")
        return [a for a in alerts if "Putin" in str(a["Subject"])]

    wait_until(putin_alert, "the back-screened alert", deadline=DEADLINE * 2)
    again.send(signal.SIGUSR1)
    wait_until(lambda: of_kind(list(world.smtp.messages), "digest"), "the digest")
    again.send(signal.SIGUSR1)
    again.wait_log("queued=nothing-pending")
    digests = of_kind(list(world.smtp.messages), "digest")
    text = "".join(plain_text(d) for d in digests)
    assert text.count("1 added, 0 removed, 0 changed (11 entries)") == 1
    assert text.count("first import, 10 entries") == 1
    assert text.count(PUTIN_ITEM["link"]) == 1
    assert len(putin_alert()) == 1
    again.send(signal.SIGTERM)
    assert again.wait_exit() == 0
