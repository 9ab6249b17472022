"""`watcher run` end to end: a real subprocess, real signals, a real HTTP feed server, a real
SMTP server (aiosmtpd, STARTTLS + AUTH) and a real sd_notify datagram socket in tmp_path.

Nothing here sleeps for a fixed time: every wait is for a condition (a notify message, a log
line, a mail, an exit) with a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from feedserver import FeedServer, Route, rss
from smtpserver import SmtpTestServer, of_kind, plain_text

from watcher.errors import EX_DATAERR
from watcher.state.sqlite import DB_FILE

pytestmark = pytest.mark.slow

STARTUP = 30.0  # seconds: interpreter start, config, watchlist compile
DEADLINE = 15.0

WATCHLIST = """\
list: e2e
entries:
  - id: rosneft
    name: Rosneft
    severity: high
  - id: lukoil
    name: Lukoil
    severity: high
  - id: lavrov
    name: Sergei Lavrov
    type: person
    aliases: [Sergey Lavrov]
    severity: medium
"""

WATCHLIST_FIXED = (
    WATCHLIST
    + """\
  - id: gunvor
    name: Gunvor
    severity: high
"""
)

# The fourth entry (line 14, column 5) lacks its required name.
WATCHLIST_BROKEN = (
    WATCHLIST
    + """\
  - id: gunvor
    severity: high
"""
)

ROSNEFT_ITEM = {
    "guid": "e2e-1",
    "link": "https://news.test/1",
    "title": "US sanctions Rosneft and Lukoil",
    "description": "Treasury blocked Russia's two largest oil producers on Wednesday.",
}
LAVROV_ITEM = {
    "guid": "e2e-2",
    "link": "https://news.test/2",
    "title": "Lavrov and Rubio speak by phone",
    "description": "Foreign Minister Sergei Lavrov called the conversation constructive.",
}
TENNIS_ITEM = {
    "guid": "e2e-3",
    "link": "https://news.test/3",
    "title": "Djokovic into Shanghai semi-final",
    "description": "Novak Djokovic beat Zizou Bergs in humid conditions.",
}


# --- harness ----------------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> object:
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {deadline}s waiting for {what}")


class NotifySocket:
    """The datagram socket systemd would own; collects every sd_notify message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[dict[str, str]] = []
        self._cursor = 0

    def _receive(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                lines = data.decode().split("\n")
                self.messages.append(dict(line.split("=", 1) for line in lines if "=" in line))
        except (TimeoutError, BlockingIOError):
            return

    def expect(self, key: str, value: str = "1", deadline: float = DEADLINE) -> dict[str, str]:
        """The next message (after the last one expected) carrying ``key=value``."""
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            self._receive()
            while self._cursor < len(self.messages):
                message = self.messages[self._cursor]
                self._cursor += 1
                if message.get(key) == value:
                    return message
        raise AssertionError(f"no {key}={value} within {deadline}s; got {self.messages}")

    def between(self, first: dict[str, str] | None, last: dict[str, str]) -> list[dict[str, str]]:
        """The messages received after ``first`` (None: from the start) and before ``last``,
        both messages `expect` returned (the same text may arrive twice: found by identity)."""
        positions = {id(m): n for n, m in enumerate(self.messages)}
        start = 0 if first is None else positions[id(first)] + 1
        return self.messages[start : positions[id(last)]]

    def statuses(self) -> list[str]:
        self._receive()
        return [m["STATUS"] for m in self.messages if "STATUS" in m]

    def close(self) -> None:
        self.sock.close()


class DaemonProcess:
    """`python -m watcher run` in a subprocess; stderr goes to a file we can read any time."""

    def __init__(self, args: list[str], log: Path, env: Mapping[str, str]) -> None:
        self.log_path = log
        with log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "watcher", "--log-level", "debug", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=dict(env),
                cwd=log.parent,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, deadline: float = DEADLINE) -> None:
        wait_until(lambda: text in self.log(), f"{text!r} in the daemon's log", deadline)

    def send(self, sig: signal.Signals) -> None:
        os.kill(self.proc.pid, sig)

    def wait_exit(self, deadline: float = DEADLINE) -> int:
        try:
            return self.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {deadline}s:\n{self.log()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Setup:
    """One test's world: feeds, SMTP, notify socket, config, and the daemons it started."""

    def __init__(self, tmp_path: Path, feeds: FeedServer, smtp: SmtpTestServer) -> None:
        self.tmp = tmp_path
        self.feeds = feeds
        self.smtp = smtp
        self.notify = NotifySocket(tmp_path / "notify.sock")
        self.watchlist = tmp_path / "lists" / "e2e.yaml"
        self.watchlist.parent.mkdir()
        self.watchlist.write_text(WATCHLIST)
        self.config = tmp_path / "config.yaml"
        self.daemons: list[DaemonProcess] = []
        self.feed_paths = ["/news.xml"]
        self.unrouted: list[Callable[[str, Mapping[str, str]], Route]] = []

    def write_config(
        self, *, alert_severity: str = "high", extra_feeds: tuple[str, ...] = ()
    ) -> None:
        smtp = self.smtp.smtp_config()
        feeds = "".join(
            f"  - url: {self.feeds.url(path)}\n    interval: 1s\n    backfill: true\n"
            for path in [*self.feed_paths, *extra_feeds]
        )
        self.config.write_text(
            f"""\
state_dir: {self.tmp / "state"}
watchlists: [{self.watchlist.parent}]
feeds:
{feeds}polling:
  jitter: 0s
  timeout: 10s
  allow_private_networks: true
digest:
  alert_severity: {alert_severity}
  alert_window: 0s  # each test article alerts at once, even for an entry alerted before
email:
  from: "sanctions-watch <watch@example.org>"
  to: [analyst@example.org]
smtp:
  host: 127.0.0.1
  port: {smtp.port}
  security: starttls
  username: {smtp.username}
  password_file: {smtp.password_file}
  ca_file: {smtp.ca_file}
  timeout: 10s
"""
        )

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
        env.pop("JOURNAL_STREAM", None)
        env["NOTIFY_SOCKET"] = str(self.notify.path)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        env.update(extra)
        return env

    def start(self, *args: str, **env: str) -> DaemonProcess:
        log = self.tmp / f"daemon-{len(self.daemons)}.log"
        daemon = DaemonProcess(["run", "--config", str(self.config), *args], log, self.env(**env))
        self.daemons.append(daemon)
        return daemon

    def run_once(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watcher", "run", "--once", "--config", str(self.config)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=STARTUP,
            check=False,
        )

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.kill()
        self.notify.close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    unrouted: list[Callable[[str, Mapping[str, str]], Route]] = []

    def fallback(path: str, headers: Mapping[str, str]) -> Route:
        # paths without a route go to the test's own handler (a feed that stalls on demand)
        return unrouted[0](path, headers) if unrouted else Route(status=404)

    with FeedServer(handler=fallback) as feeds, SmtpTestServer(tmp_path) as smtp:
        feeds.route(
            "/news.xml",
            rss(ROSNEFT_ITEM, LAVROV_ITEM, TENNIS_ITEM),
            headers={"Content-Type": "application/rss+xml"},
        )
        world = Setup(tmp_path, feeds, smtp)
        world.unrouted = unrouted
        world.write_config()
        try:
            yield world
        finally:
            world.close()


# --- tests ------------------------------------------------------------------------------------


def test_ready_alert_digest_on_sigusr1_watchdog_and_clean_sigterm(setup: Setup) -> None:
    daemon = setup.start(WATCHDOG_USEC="400000")
    ready = setup.notify.expect("READY", deadline=STARTUP)
    assert "feeds:" in ready.get("STATUS", "")
    # while compiling, systemd's start timeout is extended and STATUS= says what is going on
    starting = setup.notify.between(None, ready)
    assert any(
        int(m.get("EXTEND_TIMEOUT_USEC", 0)) >= 10_000_000 and m["STATUS"].startswith("starting: ")
        for m in starting
    ), starting
    setup.notify.expect("WATCHDOG")  # pinged from the event loop at half of WATCHDOG_USEC

    # the high-severity article is mailed at once as an alert (backfill: on the first poll)
    (alert_mail,) = setup.smtp.wait_for_messages(1, deadline=DEADLINE)
    alert = alert_mail.message
    assert alert["X-Sanctions-Watch-Kind"] == "alert"
    assert "Rosneft" in alert["Subject"] and "Lukoil" in plain_text(alert)

    daemon.send(signal.SIGUSR1)  # digest now
    messages = setup.smtp.wait_for_messages(2, deadline=DEADLINE)
    (digest,) = of_kind(messages, "digest")
    text = plain_text(digest)
    for expected in ("Rosneft", "Lukoil", "Sergei Lavrov", "Lavrov and Rubio speak by phone"):
        assert expected in text
    assert "Djokovic" not in text

    wait_until(lambda: any("mail: 0 pending" in s for s in setup.notify.statuses()), "status")
    started = time.monotonic()
    daemon.send(signal.SIGTERM)
    setup.notify.expect("STOPPING")
    assert daemon.wait_exit() == 0
    assert time.monotonic() - started < 10
    assert "event=stopped" in daemon.log()
    assert len(setup.smtp.messages) == 2  # nothing sent twice


def test_broken_edit_keeps_old_watchlist_fixed_edit_takes_effect(setup: Setup) -> None:
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    setup.smtp.wait_for_messages(1)  # the Rosneft/Lukoil alert

    setup.watchlist.write_text(WATCHLIST_BROKEN)
    daemon.send(signal.SIGHUP)
    reloading = setup.notify.expect("RELOADING")
    # systemd (Type=notify-reload) wants CLOCK_MONOTONIC in µs with RELOADING=1
    now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert 0 <= now_usec - int(reloading["MONOTONIC_USEC"]) < 60_000_000
    setup.notify.expect("READY")
    # every problem, with the file:line:col of the entry that lacks its name
    daemon.wait_log(f"{setup.watchlist}:14:5: entries[3].name")
    assert "kept=previous-configuration" in daemon.log()

    # the previous watchlist is still in force: a new Lukoil article still alerts
    lukoil = {**TENNIS_ITEM, "guid": "e2e-4", "link": "https://news.test/4"}
    lukoil["title"] = "Lukoil to sell foreign assets"
    gunvor = {**TENNIS_ITEM, "guid": "e2e-5", "link": "https://news.test/5"}
    gunvor["title"] = "Gunvor bids for foreign assets"
    setup.feeds.route("/news.xml", rss(ROSNEFT_ITEM, LAVROV_ITEM, TENNIS_ITEM, lukoil))
    setup.smtp.wait_for_messages(2)

    setup.watchlist.write_text(WATCHLIST_FIXED)
    daemon.send(signal.SIGHUP)
    reloading = setup.notify.expect("RELOADING")
    ready = setup.notify.expect("READY")
    during = setup.notify.between(reloading, ready)
    # the steps (reading, compiling, saving) go by too fast here to be sure to see each one
    assert any("EXTEND_TIMEOUT_USEC" in m and m["STATUS"].startswith("reloading: ") for m in during)
    daemon.wait_log("event=reload result=ok")
    setup.feeds.route("/news.xml", rss(ROSNEFT_ITEM, LAVROV_ITEM, TENNIS_ITEM, lukoil, gunvor))
    messages = setup.smtp.wait_for_messages(3)
    assert any("Gunvor" in m.message["Subject"] for m in messages)

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_file_edit_reloads_without_a_signal_and_watcher_reload_signals(setup: Setup) -> None:
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)

    # an editor's save: write a temp file, rename it over the watchlist
    temp = setup.watchlist.with_name(".e2e.yaml.tmp")
    temp.write_text(WATCHLIST_FIXED)
    temp.replace(setup.watchlist)
    setup.notify.expect("RELOADING")
    setup.notify.expect("READY")
    daemon.wait_log("reason=file-change")
    daemon.wait_log("event=reload result=ok")

    reload = subprocess.run(
        [sys.executable, "-m", "watcher", "reload", "--config", str(setup.config)],
        env=setup.env(),
        capture_output=True,
        text=True,
        timeout=STARTUP,
        check=False,
    )
    assert reload.returncode == 0, reload.stderr
    assert f"PID {daemon.pid}" in reload.stdout
    setup.notify.expect("RELOADING")
    setup.notify.expect("READY")
    daemon.wait_log("reason=SIGHUP")

    daemon.send(signal.SIGINT)
    assert daemon.wait_exit() == 0


def test_second_daemon_on_the_same_state_dir_is_refused(setup: Setup) -> None:
    first = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    second = setup.start()
    assert second.wait_exit(deadline=STARTUP) == 1
    assert "already running" in second.log()
    assert f"PID {first.pid}" in second.log()
    once = setup.run_once()  # cron's --once is refused too while the service runs
    assert once.returncode == 1
    assert f"PID {first.pid}" in once.stderr
    first.send(signal.SIGTERM)
    assert first.wait_exit() == 0


def test_kill_9_during_a_poll_then_restart_loses_nothing_and_duplicates_nothing(
    setup: Setup,
) -> None:
    stalled = threading.Event()
    release = threading.Event()
    slow_item = {
        "guid": "slow-1",
        "link": "https://news.test/slow-1",
        "title": "Lukoil halts Iraq output",
        "description": "The company stopped production at West Qurna-2.",
    }
    slow_body = rss(slow_item)

    def slow_feed(path: str, headers: Mapping[str, str]) -> Route:
        if path != "/slow.xml":
            return Route(status=404)
        stalled.set()
        release.wait(timeout=DEADLINE * 3)
        return Route(body=slow_body, headers={"Content-Type": "application/rss+xml"})

    setup.unrouted.append(slow_feed)
    setup.write_config(extra_feeds=("/slow.xml",))

    first = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    setup.smtp.wait_for_messages(1)  # /news.xml's alert went out
    # ... and was recorded as sent: the kill must land in the slow poll, not in the known
    # window (a message the server accepted but not yet recorded goes again, same Message-ID)
    first.wait_log("event=sent")
    wait_until(stalled.is_set, "the slow feed's request")
    first.proc.kill()  # SIGKILL mid-poll: nothing of the slow poll was committed
    first.proc.wait()
    release.set()

    second = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    messages = setup.smtp.wait_for_messages(2)  # the slow feed's alert, after the restart
    second.send(signal.SIGUSR1)
    messages = setup.smtp.wait_for_messages(3)
    second.send(signal.SIGTERM)
    assert second.wait_exit() == 0

    messages = list(setup.smtp.messages)
    assert len(messages) == 3, [m.message["Subject"] for m in messages]
    assert len({m.message["Message-ID"] for m in messages}) == 3
    alerts = of_kind(messages, "alert")
    assert sorted(a["Subject"].split("— ")[-1] for a in alerts) == [
        "Lukoil halts Iraq output",
        "US sanctions Rosneft and Lukoil",
    ]
    (digest,) = of_kind(messages, "digest")
    text = plain_text(digest)
    for expected in ("Lukoil halts Iraq output", "US sanctions Rosneft and Lukoil", "Lavrov"):
        assert text.count(expected) >= 1


def test_smtp_outage_keeps_mail_queued_and_sends_it_once_when_back(setup: Setup) -> None:
    setup.smtp.stop()  # connection refused
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    daemon.wait_log("event=drain sent=0 failed=1")
    wait_until(lambda: any("mail: 1 pending" in s for s in setup.notify.statuses()), "status")

    setup.smtp.start()
    daemon.send(signal.SIGUSR2)  # retry now (otherwise: after the backoff, >= 60 s)
    (received,) = setup.smtp.wait_for_messages(1)
    assert received.message["X-Sanctions-Watch-Kind"] == "alert"
    wait_until(lambda: any("mail: 0 pending" in s for s in setup.notify.statuses()), "status")
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert len(setup.smtp.messages) == 1


def test_once_exits_75_while_mail_is_stuck_and_0_once_delivered(setup: Setup) -> None:
    setup.smtp.stop()
    stuck = setup.run_once()
    assert stuck.returncode == 75, stuck.stderr
    assert "pending=2" in stuck.stderr  # the alert and the digest stay queued

    setup.smtp.start()
    delivered = setup.run_once()
    assert delivered.returncode == 0, delivered.stderr
    messages = setup.smtp.wait_for_messages(2)
    assert sorted(m.message["X-Sanctions-Watch-Kind"] for m in messages) == ["alert", "digest"]

    nothing = setup.run_once()  # nothing new: nothing pending, exit 0, no mail
    assert nothing.returncode == 0, nothing.stderr
    assert len(setup.smtp.messages) == 2


def test_sigterm_lets_an_in_flight_poll_finish_and_commit(setup: Setup) -> None:
    stalled = threading.Event()
    release = threading.Event()
    slow_item = {
        "guid": "slow-2",
        "link": "https://news.test/slow-2",
        "title": "Rosneft cuts exports",
        "description": "Loadings at Primorsk fell.",
    }

    def slow_feed(path: str, headers: Mapping[str, str]) -> Route:
        if path != "/slow.xml":
            return Route(status=404)
        stalled.set()
        release.wait(timeout=DEADLINE * 3)
        return Route(body=rss(slow_item), headers={"Content-Type": "application/rss+xml"})

    setup.unrouted.append(slow_feed)
    setup.feed_paths = []  # only the slow feed
    setup.write_config(extra_feeds=("/slow.xml",))
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    wait_until(stalled.is_set, "the slow feed's request")
    daemon.send(signal.SIGTERM)
    setup.notify.expect("STOPPING")
    release.set()  # the poll in flight completes within the grace period
    assert daemon.wait_exit() == 0
    log = daemon.log()
    assert "/slow.xml result=ok items=1 new=1 new_matches=1" in log
    assert "result=cancelled" not in log

    # what that last poll found was committed: the next run mails it, once
    once = setup.run_once()
    assert once.returncode == 0, once.stderr
    messages = setup.smtp.wait_for_messages(2)
    (alert,) = of_kind(messages, "alert")
    (digest,) = of_kind(messages, "digest")
    assert "Rosneft cuts exports" in alert["Subject"]
    assert "Rosneft cuts exports" in plain_text(digest)


def test_reload_without_a_running_daemon_says_so(setup: Setup) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "reload", "--config", str(setup.config)],
        env=setup.env(),
        capture_output=True,
        text=True,
        timeout=STARTUP,
        check=False,
    )
    assert result.returncode == 1
    assert f"no watcher is running on state directory {setup.tmp / 'state'}" in result.stderr


def test_the_daemon_stops_with_65_when_its_database_is_damaged_while_running(
    setup: Setup,
) -> None:
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    setup.smtp.wait_for_messages(1, deadline=DEADLINE)  # polled and alerted: the file is in use
    db = setup.tmp / "state" / DB_FILE
    # the file damaged under the open connection; its WAL and shared-memory index with it,
    # or SQLite would go on trusting the pages it has cached
    for damaged in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if damaged.exists():
            with damaged.open("r+b") as raw:
                raw.write(b"\0garbage" * (damaged.stat().st_size // 8))

    daemon.send(signal.SIGUSR1)  # a digest reads the database now (the 1 s polls would too)

    assert daemon.wait_exit() == EX_DATAERR
    log = daemon.log()
    assert "result=state-error" in log and str(db) in log
    assert "Traceback" not in log
    assert "event=stopped" in log and "exit_code=65" in log


def _cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args, "--config", str(setup.config)],
        env=setup.env(),
        capture_output=True,
        text=True,
        timeout=STARTUP,
        check=False,
    )


def test_poll_once_and_digest_send_are_refused_while_the_daemon_runs(setup: Setup) -> None:
    daemon = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    for args, says in (
        (("poll", "--once"), "it polls the feeds itself"),
        (("digest", "--send"), "SIGUSR1"),
    ):
        refused = _cli(setup, *args)
        assert refused.returncode == 1, refused.stderr
        assert (
            f"watcher {' '.join(args)}: a watcher (PID {daemon.pid}) is running" in refused.stderr
        )
        assert says in refused.stderr and str(setup.tmp / "state") in refused.stderr
    preview = _cli(setup, "digest", "--preview")  # reads only: no lock needed
    assert preview.returncode == 0, preview.stderr
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    polled = _cli(setup, "poll", "--once")  # the daemon is gone: the lock is free
    assert polled.returncode == 0, polled.stderr


def test_a_feed_in_backoff_stays_in_backoff_across_a_restart(setup: Setup) -> None:
    setup.feeds.route("/busy.xml", b"busy", status=503, headers={"Retry-After": "3600"})
    setup.write_config(extra_feeds=("/busy.xml",))
    first = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    setup.feeds.wait_for_requests("/busy.xml", 1, timeout=DEADLINE)
    polled = len(setup.feeds.requests_for("/news.xml"))
    setup.feeds.wait_for_requests("/news.xml", polled + 1, timeout=DEADLINE)
    first.send(signal.SIGTERM)
    assert first.wait_exit() == 0

    second = setup.start()
    setup.notify.expect("READY", deadline=STARTUP)
    polled = len(setup.feeds.requests_for("/news.xml"))
    setup.feeds.wait_for_requests("/news.xml", polled + 3, timeout=DEADLINE)  # 1 s feed
    assert len(setup.feeds.requests_for("/busy.xml")) == 1  # Retry-After: 3600 still holds
    second.send(signal.SIGTERM)
    assert second.wait_exit() == 0
