"""Alert-flood benchmark: one feed of 100,000 matching items through the production path.

    .venv/bin/python bench/bench_flood.py [--items 100000] [--also 10000]

A feed of ``--items`` items, each naming one of 14 high-severity entries of the example
watchlists (watchlists/), is served from 127.0.0.1 (tests/feedserver.py) with an ETag; mail
goes to the aiosmtpd server of tests/smtpserver.py (STARTTLS + AUTH). The feed has
``backfill: true``, so every item is a new high-severity match. Each size runs in a fresh
state directory, as two real subprocesses:

  ingest   ``watcher poll --once``: fetch, parse, match and store the items (no mail)
  notify   ``watcher run --once``: the feed answers 304; alerts and the digest are queued
           from the whole backlog, and everything is sent over SMTP
  again    ``watcher run --once`` a second time: nothing new is fetched and no alert is
           mailed; the digest lists what the first one could not (a digest has at most
           10 parts of ``digest.max_bytes``)
  one-shot ``watcher run --once`` on a fresh state: all of the above in one process, as
           cron would run it on the day the flood arrives

For each it prints wall time, the child's peak RSS (``ru_maxrss`` from wait4) and the mails
the SMTP server received. ``--also N`` runs a smaller size first so the notify phase's peak
RSS can be compared: bounded reads keep it flat whatever the backlog.

Before bounded alerts, 100,000 items queued 100,002 alerts and took 1.2 GB; 20,000 alerts in
one run collided on a 32-bit Message-ID and mailed nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from feedserver import FeedServer, Route  # noqa: E402
from smtpserver import SmtpTestServer  # noqa: E402

NAMES = (
    "Rosneft",
    "Lukoil",
    "Surgutneftegas",
    "Gazprom Neft",
    "Sovcomflot",
    "Sberbank",
    "VTB Bank",
    "Gazprombank",
    "Vladimir Putin",
    "Sergey Lavrov",
    "Sergei Shoigu",
    "Igor Sechin",
    "Vagit Alekperov",
    "Andrei Belousov",
)


def flood_feed(items: int) -> bytes:
    """An RSS document of `items` items, each naming one watched entry (no pubDate: the
    items count as published when first seen, so none is too old to alert)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Flood</title>'
    ]
    for n in range(items):
        name = NAMES[n % len(NAMES)]
        parts.append(
            f"<item><guid>flood-{n}</guid><link>https://news.test/flood/{n}</link>"
            f"<title>{name} in the news, item {n}</title>"
            f"<description>Officials said {name} was affected by the measures.</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    peak_rss_mb: float
    exit_code: int
    mails: int
    log: str


def run_step(name: str, args: list[str], smtp: SmtpTestServer, env: dict[str, str]) -> Step:
    before = len(smtp.messages)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    mails = len(smtp.messages) - before
    return Step(name, seconds, usage.ru_maxrss / 1024, proc.returncode, mails, output)


def write_config(work: Path, feed_url: str, smtp: SmtpTestServer) -> Path:
    server = smtp.smtp_config()
    config = work / "config.yaml"
    config.write_text(
        f"""\
state_dir: {work / "state"}
watchlists: [{ROOT / "watchlists"}]
feeds:
  - url: {feed_url}
    backfill: true
polling:
  allow_private_networks: true
  max_bytes: 256MiB
  timeout: 600s
email:
  from: "sanctions-watch <watch@example.org>"
  to: [analyst@example.org]
smtp:
  host: 127.0.0.1
  port: {server.port}
  username: {server.username}
  password_file: {server.password_file}
  ca_file: {server.ca_file}
  timeout: 60s
"""
    )
    return config


def serve(port_out: multiprocessing.Queue[int], stop: multiprocessing.synchronize.Event) -> None:
    """The feed server, in a process of its own: the watcher children are forked from this
    benchmark, and a child's ru_maxrss starts from its parent's RSS at the fork, so the
    feeds (25 MB for 100,000 items) must not live in this process."""
    built: dict[str, bytes] = {}

    def handler(path: str, headers: Mapping[str, str]) -> Route:
        if path not in built:
            built.clear()
            built[path] = flood_feed(int(path.strip("/").split("-")[1].split(".")[0]))
        return Route(
            body=built[path],
            headers={"Content-Type": "application/rss+xml"},
            etag=f'"{path}"',
        )

    with FeedServer(handler=handler) as server:
        port_out.put(server.port)
        stop.wait()


def run_size(items: int, port: int, smtp: SmtpTestServer, tmp: Path) -> list[Step]:
    url = f"http://127.0.0.1:{port}/flood-{items}.xml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    steps = []
    for name in ("split", "whole"):
        work = tmp / f"flood-{items}-{name}"
        work.mkdir()
        config = str(write_config(work, url, smtp))
        if name == "split":
            steps += [
                run_step("ingest", ["poll", "--once", "--config", config], smtp, env),
                run_step("notify", ["run", "--once", "--config", config], smtp, env),
                run_step("again", ["run", "--once", "--config", config], smtp, env),
            ]
        else:
            steps.append(run_step("one-shot", ["run", "--once", "--config", config], smtp, env))
    return steps


EVENTS = re.compile(r"event=(alerts-queued|digest-queued|once) .*")


def report(items: int, steps: list[Step]) -> None:
    print(f"\n== {items:,} matching items in one feed ==")
    print(f"{'step':9} {'time':>9} {'peak RSS':>10} {'mails':>6} {'exit':>5}")
    for step in steps:
        print(
            f"{step.name:9} {step.seconds:8.1f}s {step.peak_rss_mb:8.0f}MB "
            f"{step.mails:6d} {step.exit_code:5d}"
        )
    for step in steps[1:2]:
        for found in EVENTS.finditer(step.log):
            print(f"  {step.name}: {found.group(0)}")
    print("(alert caps at their defaults: 10 per run, 20 per hour; a digest is at most 10 parts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--also", type=int, default=10_000, help="a smaller size first (0: none)")
    args = parser.parse_args()
    sizes = [n for n in (args.also, args.items) if n > 0]
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue[int] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(ports, stop), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        with tempfile.TemporaryDirectory() as tmp, SmtpTestServer(Path(tmp)) as smtp:
            for items in sizes:
                report(items, run_size(items, port, smtp, Path(tmp)))
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this benchmark process peaked at {own:.0f} MB: the floor of a child's figure)")
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
