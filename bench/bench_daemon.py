"""Daemon benchmark: memory and event-loop stalls of a real `watcher run` under load.

    .venv/bin/python bench/bench_daemon.py [--feeds 100] [--items 20] [--seconds 60]
                                           [--interval 5] [--watchlist FILE]

What it does:
1. imports the full OFAC SDN list with `watcher import ofac` from ../shared/data (or uses
   ``--watchlist``; without either it falls back to the example watchlists/ and says so);
2. serves ``--feeds`` RSS feeds from 127.0.0.1 (a separate process, so its CPU is not
   counted), each with ``--items`` items that are all replaced every ``--interval`` seconds,
   so every poll parses and matches fresh text against the whole list;
3. starts ``python -m watcher run`` with every feed polled every ``--interval`` seconds,
   alerts on, mail delivered to a directory, ``NOTIFY_SOCKET`` bound here and
   ``WATCHDOG_USEC=200000``: the daemon pings WATCHDOG=1 from its event loop every 100 ms,
   so the longest gap between two pings, minus 100 ms, is the worst event-loop stall;
4. after ``--seconds`` of polling: SIGHUP with the lists unchanged (the compiled matcher is
   reused), then a new list dropped in + SIGHUP (the whole matcher is rebuilt in a worker
   thread while the old one serves: the memory peak), SIGUSR1 (digest), SIGTERM (times the
   clean shutdown). ``--seed-matches N`` records N pending matches in the state before the
   daemon starts, so the SIGUSR1 digest has a known backlog (a big digest: does rendering it
   stall the loop?) whatever the polls find.

Prints start-up time, polls done, peak RSS (VmHWM from /proc/PID/status), the worst loop
stall and reload/shutdown times. Target: peak RSS < 300 MB with the full OFAC list and
100 feeds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OFAC_FILES = [
    SHARED / "data/ofac_sdn_2024-05-03/sdn.csv",
    SHARED / "data/ofac_sdn_2026-06_alt_add/alt.csv",
]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from feedserver import FeedServer, Route, rss  # noqa: E402

NEUTRAL = [
    "Oil prices rose on Tuesday as traders weighed new supply risks in the Middle East.",
    "The central bank kept its key rate unchanged, citing persistent inflation pressures.",
    "Analysts expect European gas storage to remain above seasonal averages this winter.",
    "The tanker was seen loading crude at the port of Primorsk last week.",
    "Novak Djokovic won his match in straight sets on Sunday evening.",
    "City council approved the new budget after a lengthy debate on Thursday night.",
    "A disco classic about Rasputin is back in the streaming charts.",
    "Shipping rates through the Red Sea stayed high as insurers priced in new risks.",
    "Wheat futures slipped after a larger than expected harvest in Argentina.",
    "The ministry said the new rules would take effect at the start of next year.",
]
MENTIONS = [  # one item in ten carries one of these
    "Shares of Rosneft fell after Washington announced fresh sanctions on the company.",
    "Lukoil said it would sell its international assets following the designation.",
    "Foreign minister Sergei Lavrov met his counterpart to discuss the grain corridor.",
    "Роснефть и Лукойл попали под новые санкции США, сообщает агентство.",
    "Hezbollah and Hamas officials were named in the latest Treasury designations.",
]
WATCHDOG_USEC = 200_000
EXTRA_LIST = "list: bench-extra\nentries:\n  - id: gunvor\n    name: Gunvor\n"


def _item(feed: str, epoch: int, n: int) -> dict[str, str]:
    """A news-like item; every tenth one mentions a listed entity."""
    body = [NEUTRAL[(n * 7 + k + epoch) % len(NEUTRAL)] for k in range(6)]
    if (n + epoch) % 10 == 0:
        body.insert(2, MENTIONS[(n + epoch) // 10 % len(MENTIONS)])
    return {
        "guid": f"{feed}-{epoch}-{n}",
        "link": f"https://bench.test/{feed}/{epoch}/{n}",
        "title": NEUTRAL[(n + epoch) % len(NEUTRAL)],
        "description": " ".join(body),
    }


def _serve(
    feeds: int,
    items: int,
    interval: float,
    port_out: multiprocessing.Queue[int],
    stop: multiprocessing.synchronize.Event,
) -> None:
    def handler(path: str, headers: Mapping[str, str]) -> Route:
        feed = path.strip("/").split(".")[0]
        epoch = int(time.time() // interval)
        body = rss(*(_item(feed, epoch, n) for n in range(items)), title=f"Bench feed {feed}")
        return Route(body=body, headers={"Content-Type": "application/rss+xml"})

    with FeedServer(handler=handler) as server:
        port_out.put(server.port)
        stop.wait()


def _watchlist(work: Path, given: Path | None) -> tuple[Path, str]:
    """The watchlist directory the daemon reads (a copy: the bench adds a list to it)."""
    if given is not None:
        lists = work / "lists"
        if given.is_dir():
            shutil.copytree(given, lists)
        else:
            lists.mkdir()
            shutil.copy(given, lists / given.name)
        return lists, f"{given}"
    if all(p.is_file() for p in OFAC_FILES):
        out = work / "lists" / "ofac.yaml"
        out.parent.mkdir()
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "watcher",
                "--log-level",
                "warning",
                "import",
                "ofac",
                *map(str, OFAC_FILES),
                "-o",
                str(out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        took = time.monotonic() - started
        return out.parent, f"full OFAC SDN list via `watcher import ofac` ({took:.1f} s)"
    shutil.copytree(ROOT / "watchlists", work / "lists")
    return work / "lists", "example watchlists/ (../shared absent: NOT the OFAC target)"


def _config(work: Path, port: int, args: argparse.Namespace, watchlist: Path) -> Path:
    feeds, interval = args.feeds, args.interval
    feed_lines = "".join(f"  - url: http://127.0.0.1:{port}/feed{n}.xml\n" for n in range(feeds))
    config = work / "config.yaml"
    config.write_text(
        f"""\
state_dir: {work / "state"}
watchlists: [{watchlist}]
feeds:
{feed_lines}polling:
  interval: {interval}s
  jitter: 1s
  concurrency: 16
  per_host: 16
  allow_private_networks: true
digest:
  alert_severity: {args.alert_severity}
email:
  to: [bench@example.org]
  delivery: directory
  directory: {work / "outbox"}
"""
    )
    return config


class Notify:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = path
        self.watchdogs: list[float] = []
        self.last_status = ""

    def _receive(self, timeout: float) -> dict[str, str] | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536).decode()
        except TimeoutError:
            return None
        fields = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
        if "WATCHDOG" in fields:
            self.watchdogs.append(time.monotonic())
        if "STATUS" in fields:
            self.last_status = fields["STATUS"]
        return fields

    def until(self, key: str, deadline: float) -> float:
        """Receive (recording watchdog pings) until ``key=1`` arrives; its arrival time."""
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            fields = self._receive(give_up - time.monotonic())
            if fields is not None and fields.get(key) == "1":
                return time.monotonic()
        raise SystemExit(f"no {key}=1 from the daemon within {deadline} s")

    def drain_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._receive(end - time.monotonic())

    def worst_stall(self) -> float:
        """Seconds: the longest gap between pings so far, minus the ping period; then reset."""
        gaps = [b - a for a, b in zip(self.watchdogs, self.watchdogs[1:], strict=False)]
        self.watchdogs = self.watchdogs[-1:]
        return max(0.0, max(gaps, default=0.0) - WATCHDOG_USEC / 2 / 1e6)


def _pending_matches(state_dir: Path) -> int:
    db = sqlite3.connect(f"file:{state_dir / 'state.sqlite3'}?mode=ro", uri=True)
    try:
        sql = "SELECT count(*) FROM matches WHERE notify = 1 AND digest_id IS NULL"
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def _wait_for_log(path: Path, text: str, deadline: float, notify: Notify) -> float:
    """When `text` shows up in the log; notify messages are read (and pings timed) meanwhile,
    or the pings queued in the socket would look like a stalled loop."""
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        log = path.read_text(errors="replace")
        if text in log:
            return time.monotonic()
        if "result=error" in log:
            raise SystemExit(f"the daemon failed:\n{log[-3000:]}")
        notify.drain_for(0.05)
    raise SystemExit(f"{text!r} not in the daemon's log within {deadline} s")


def _proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _mb(value: str) -> float:
    return int(value.split(maxsplit=1)[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--watchlist", type=Path, default=None)
    parser.add_argument(
        "--alert-severity",
        default="high",
        choices=["none", "low", "medium", "high"],
        help="digest.alert_severity (the bench texts name sanctioned firms: high floods alerts)",
    )
    parser.add_argument(
        "--seed-matches",
        type=int,
        default=0,
        help="pending matches recorded before the start, for the SIGUSR1 digest to list",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (log, state)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    if args.keep:
        print(f"work dir:            {work}")
    try:
        watchlist, described = _watchlist(work, args.watchlist)
        ports: multiprocessing.Queue[int] = multiprocessing.Queue()
        stop = multiprocessing.Event()
        server = multiprocessing.Process(
            target=_serve, args=(args.feeds, args.items, args.interval, ports, stop)
        )
        server.start()
        try:
            config = _config(work, ports.get(timeout=30), args, watchlist)
            _run(work, config, described, args)
        finally:
            stop.set()
            server.join(timeout=10)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _seed(state_dir: Path, count: int) -> None:
    """`count` pending matches, found now (so no catch-up digest takes them at start-up)."""
    from notifier_samples import record_match

    from watcher.state.sqlite import Store

    store = Store(state_dir)
    try:
        for n in range(count):
            severity = "high" if n % 20 == 0 else ("medium" if n % 2 else "low")
            title = f"«Роснефть» news {n}" if n % 3 == 0 else f"Rosneft update number {n}"
            record_match(
                store,
                article=f"seed{n:05d}",
                entry=f"entity-{n % 400:03d}",
                severity=severity,
                title=title,
                found_at=time.time(),
            )
    finally:
        store.close()


def _run(work: Path, config: Path, described: str, args: argparse.Namespace) -> None:
    _seed(work / "state", args.seed_matches)
    notify = Notify(work / "notify.sock")
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "WATCHDOG_PID")}
    env.update(
        NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC=str(WATCHDOG_USEC), PYTHONFAULTHANDLER="1"
    )
    log = (work / "daemon.log").open("wb")
    figures: dict[str, Any] = {"started": time.monotonic()}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        stderr=log,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    try:
        status = _measure(daemon, notify, work, args.seconds, figures)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
    _report(
        work, described, args=args, figures=figures, status=status, last_status=notify.last_status
    )


def _measure(
    daemon: subprocess.Popen[bytes],
    notify: Notify,
    work: Path,
    seconds: float,
    figures: dict[str, Any],
) -> dict[str, str]:
    """Drive the daemon through its phases; fill ``figures``; its /proc status at the end."""
    figures["ready"] = notify.until("READY", deadline=300) - figures["started"]
    figures["rss_ready"] = _mb(_proc_status(daemon.pid)["VmRSS"])
    notify.watchdogs.clear()
    end = time.monotonic() + seconds
    series = []
    while time.monotonic() < end:
        notify.drain_for(min(10.0, end - time.monotonic()))
        series.append(_mb(_proc_status(daemon.pid)["VmRSS"]))
    figures["rss_series"] = series
    figures["stall_polling"] = notify.worst_stall()
    figures["hwm_polling"] = _mb(_proc_status(daemon.pid)["VmHWM"])
    _digest(daemon, notify, work, figures)  # while polling goes on, as a scheduled one runs
    figures["reload"], figures["stall_reload"] = _reload(daemon, notify)
    # a real watchlist change: the whole matcher is rebuilt while the old one still serves
    (work / "lists" / "bench-extra.yaml").write_text(EXTRA_LIST)
    figures["rebuild"], figures["stall_rebuild"] = _reload(daemon, notify)
    figures["hwm_rebuild"] = _mb(_proc_status(daemon.pid)["VmHWM"])
    figures["rss_rebuild"] = _mb(_proc_status(daemon.pid)["VmRSS"])
    # in-flight polls still hold the old matcher: it is freed when they end (on the loop)
    notify.drain_for(3)
    figures["stall_after_rebuild"] = notify.worst_stall()
    status = _proc_status(daemon.pid)
    stop_start = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        figures["code"] = _wait_reading(daemon, notify, 60)
    except subprocess.TimeoutExpired:
        daemon.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack to the log
        daemon.wait(timeout=10)
        figures["code"] = -1
    figures["stop"] = time.monotonic() - stop_start
    return status


def _digest(
    daemon: subprocess.Popen[bytes], notify: Notify, work: Path, figures: dict[str, Any]
) -> None:
    """SIGUSR1: seconds to queue the digest and the worst loop stall from the signal to 1 s
    after it, and for comparison the worst stall in a window as long just before it."""
    figures["pending"] = _pending_matches(work / "state")
    notify.worst_stall()
    digest_start = time.monotonic()
    daemon.send_signal(signal.SIGUSR1)
    logged = _wait_for_log(work / "daemon.log", "event=digest ", 300, notify)
    figures["digest"] = logged - digest_start
    notify.drain_for(1)
    window = time.monotonic() - digest_start
    figures["stall_digest"] = notify.worst_stall()
    notify.drain_for(window)
    figures["stall_quiet"] = notify.worst_stall()


def _reload(daemon: subprocess.Popen[bytes], notify: Notify) -> tuple[float, float]:
    """SIGHUP; seconds from the signal to READY, and the worst loop stall meanwhile."""
    notify.worst_stall()
    started = time.monotonic()
    daemon.send_signal(signal.SIGHUP)
    notify.until("RELOADING", deadline=60)
    took = notify.until("READY", deadline=300) - started
    return took, notify.worst_stall()


def _wait_reading(daemon: subprocess.Popen[bytes], notify: Notify, deadline: float) -> int:
    """Wait for the exit while still reading notify messages, as systemd does."""
    give_up = time.monotonic() + deadline
    while daemon.poll() is None:
        if time.monotonic() > give_up:
            raise subprocess.TimeoutExpired(daemon.args, deadline)
        notify.drain_for(0.05)
    return daemon.returncode


def _report(
    work: Path,
    described: str,
    *,
    args: argparse.Namespace,
    figures: dict[str, Any],
    status: dict[str, str],
    last_status: str,
) -> None:
    text = (work / "daemon.log").read_text(errors="replace")
    poll_lines = [line for line in text.splitlines() if "event=poll " in line]
    polls = sum(" result=ok " in line for line in poll_lines)
    failures = sum(" result=failed " in line or " result=refused " in line for line in poll_lines)
    mails = len(list((work / "outbox").glob("*.eml"))) if (work / "outbox").exists() else 0
    period = WATCHDOG_USEC / 2e3
    rss_series = " ".join(f"{v:.0f}" for v in figures["rss_series"])
    lines = [
        f"watchlist:           {described}",
        f"feeds:               {args.feeds} x {args.items} items, every {args.interval:g} s, "
        "all items new each interval (1 in 10 names a listed entity); "
        f"alert_severity {args.alert_severity}",
        f"start-up to READY:   {figures['ready']:.1f} s (RSS then {figures['rss_ready']:.0f} MB)",
        f"polling for:         {args.seconds:g} s, then reload, digest, stop: {polls} polls "
        f"with new items, {failures} failed polls, {mails} mails written",
        f"last STATUS=:        {last_status}",
        f"reload, lists same:  {figures['reload']:.2f} s SIGHUP to READY (matcher reused)",
        f"reload, list added:  {figures['rebuild']:.1f} s SIGHUP to READY (matcher rebuilt in a "
        "worker thread while the old one serves; polling goes on)",
        f"peak RSS (VmHWM):    {figures['hwm_polling']:.0f} MB after {args.seconds:g} s of "
        f"polling; {figures['hwm_rebuild']:.0f} MB after the rebuild (two compiled lists at "
        f"once), RSS {figures['rss_rebuild']:.0f} MB once the old one is freed (target < 300 MB)",
        f"at the end:          VmHWM {_mb(status['VmHWM']):.0f} MB, "
        f"RSS {_mb(status['VmRSS']):.0f} MB",
        f"RSS while polling:   {rss_series} MB (every 10 s)",
        f"worst loop stall:    polling {figures['stall_polling'] * 1000:.0f} ms, reloads "
        f"{figures['stall_reload'] * 1000:.0f} / {figures['stall_rebuild'] * 1000:.0f} ms, "
        f"3 s after the rebuild {figures['stall_after_rebuild'] * 1000:.0f} ms "
        f"(longest gap between WATCHDOG=1 pings, sent every {period:.0f} ms from the loop, "
        f"minus {period:.0f} ms)",
        f"digest (SIGUSR1):    {figures['pending']:.0f} pending matches "
        f"({args.seed_matches} seeded) queued in "
        f"{figures['digest']:.1f} s while polling; loop stall from SIGUSR1 to 1 s after it "
        f"{figures['stall_digest'] * 1000:.0f} ms (just after, as long without a digest: "
        f"{figures['stall_quiet'] * 1000:.0f} ms)",
        f"SIGTERM to exit:     {figures['stop']:.2f} s, exit code {figures['code']:.0f}",
    ]
    print("\n".join(lines))
    if figures["code"] != 0 or "Traceback" in text:
        print(text[-3000:])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
