"""Failover benchmark: two `watcher run` instances on one PostgreSQL; how long until the
pending digest is sent when the leader dies while sending it.

    .venv/bin/python bench/bench_failover.py [--lease 10] [--matches 50] [--runs 1]

What it does, per scenario, on a fresh database of a throwaway cluster (tests/pgcluster.py:
initdb + pg_ctl on 127.0.0.1):
1. serves one feed with ``--matches`` matching articles (tests/feedserver.py) and starts
   instance A; once it leads and has recorded the matches, starts instance B;
2. holds the local SMTP server's replies to MAIL FROM (a slow mail server), sends A
   SIGUSR1: A queues the digest and starts sending it, its claim on the message held;
3. the leader goes: ``kill -9`` (host loss: nothing is given back, B waits for A's claim to
   run out, then its next drain sends the digest) or ``SIGTERM`` (a clean stop: A finishes
   its in-flight send within its grace period, then gives its leases back); the server
   answers again from that moment;
4. prints the seconds from then until the digest arrived, and until B took the lead.

Expected: kill -9 within about 1.4 leases (A's claim on the digest runs out one lease after
its last heartbeat, or a heartbeat later; B, leading from the first, drains then and once
more a heartbeat later); SIGTERM about at once. Measured (2 CPUs, shared): lease 5 s: 7.6 s;
10 s: 14.2 s; 30 s: 40.9 s; SIGTERM 0.01 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pgcluster  # noqa: E402
import psycopg  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from feedserver import FeedServer, rss  # noqa: E402
from smtpserver import free_port  # noqa: E402

STARTUP = 60.0


class SlowSmtp:
    """aiosmtpd on 127.0.0.1 whose reply to MAIL FROM waits while `hold` is set."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hold = threading.Event()
        self.holding = threading.Event()  # a session is waiting on `hold`
        self.digests: list[float] = []  # when each digest part arrived
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        while self.hold.is_set():
            self.holding.set()
            await asyncio.sleep(0.01)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if b"X-Sanctions-Watch-Kind: digest" in envelope.content:
            self.digests.append(time.time())
        return "250 2.0.0 Ok"

    def __enter__(self) -> SlowSmtp:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.clear()
        self._controller.stop()


def wait(condition: Any, what: str, deadline: float = STARTUP) -> None:
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            raise SystemExit(f"timed out after {deadline}s waiting for {what}")
        time.sleep(0.02)


def write_config(
    tmp: Path, name: str, db: pgcluster.Database, *, feed: str, smtp: int, lease: float
) -> Path:
    password = tmp / "db-password"
    password.write_text(pgcluster.PASSWORD + "\n")
    (tmp / "lists").mkdir(exist_ok=True)
    (tmp / "lists" / "bench.yaml").write_text(
        "list: bench\nentries:\n  - id: rosneft\n    name: Rosneft\n    severity: medium\n"
    )
    config = tmp / f"{name}.yaml"
    config.write_text(
        f"state_dir: {tmp / name}\nwatchlists: [{tmp / 'lists'}]\n"
        f"feeds:\n  - url: {feed}\n    interval: 1h\n    backfill: true\n"
        "polling:\n  jitter: 0s\n  allow_private_networks: true\n"
        'digest:\n  schedule: "0 0 1 1 *"\n  alert_severity: none\n'
        'email:\n  from: "watch <watch@example.org>"\n  to: [analyst@example.org]\n'
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp}\n  security: none\n  timeout: 300s\n"
        f"database:\n  url: {db.url}\n  password_file: {password}\n  lease: {lease:g}s\n"
    )
    return config


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
        env["PYTHONPATH"] = str(ROOT)
        with log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "watcher", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def scenario(
    cluster: pgcluster.PgCluster, how: str, lease: float, matches: int
) -> tuple[float, float]:
    """(seconds until the digest arrived, seconds until B led) after the leader went."""
    db = cluster.new_database()
    items = [
        {"guid": f"b{n}", "link": f"https://n.test/{n}", "title": f"Rosneft story {n}"}
        for n in range(matches)
    ]
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        FeedServer() as feeds,
        SlowSmtp() as smtp,
    ):
        tmp = Path(tmp_name)
        feed = feeds.route("/f.xml", rss(*items), headers={"Content-Type": "application/rss+xml"})
        options: dict[str, Any] = {"feed": feed, "smtp": smtp.port, "lease": lease}
        a = Daemon(write_config(tmp, "a", db, **options), tmp / "a.log")
        b: Daemon | None = None
        try:
            wait(lambda: "leader=True" in a.text() and "event=started" in a.text(), "A leads")

            def pending() -> int:
                with psycopg.connect(db.conninfo()) as conn:
                    row = conn.execute("SELECT count(*) FROM matches WHERE digest_id IS NULL")
                    return int(row.fetchone()[0])  # type: ignore[index]

            wait(lambda: pending() == matches, f"{matches} pending matches")
            b = Daemon(write_config(tmp, "b", db, **options), tmp / "b.log")
            wait(lambda: "event=started" in b.text(), "B started")
            smtp.hold.set()
            a.proc.send_signal(signal.SIGUSR1)
            wait(smtp.holding.is_set, "A sending the digest")
            went = time.time()
            if how == "kill -9":
                a.proc.kill()
            else:
                a.proc.send_signal(signal.SIGTERM)
            smtp.hold.clear()
            wait(lambda: bool(smtp.digests), "the digest", deadline=10 * lease + 60)
            sent = smtp.digests[0] - went
            wait(lambda: "result=acquired" in b.text(), "B leading", deadline=10 * lease)
            led = _logged_at(b.text(), "result=acquired") - went
            return sent, led
        finally:
            a.stop()
            if b is not None:
                b.stop()


def _logged_at(log: str, marker: str) -> float:
    line = next(line for line in log.splitlines() if marker in line)
    stamp = time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    return time.mktime(stamp) + int(line[20:23]) / 1000  # the log's local time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lease", type=float, default=10.0, help="database.lease, seconds")
    parser.add_argument("--matches", type=int, default=50, help="pending matches")
    parser.add_argument("--runs", type=int, default=1, help="runs of each scenario")
    args = parser.parse_args()
    if pgcluster.find_bin_dir() is None:
        raise SystemExit(f"skipped: {pgcluster.ABSENT}")
    cluster = pgcluster.PgCluster.start()
    try:
        print(f"lease {args.lease:g}s, {args.matches} pending matches, two instances")
        for how in ("kill -9", "SIGTERM"):
            for run in range(args.runs):
                sent, led = scenario(cluster, how, args.lease, args.matches)
                print(
                    f"{how:<8} run {run + 1}: digest sent {sent:6.2f} s after the leader "
                    f"went; the other instance led after {led:6.2f} s"
                )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
