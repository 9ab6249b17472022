"""Polling benchmark: 1,000 feeds served from 127.0.0.1, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_poll.py [--feeds 1000] [--items 20] [--profile CYCLE]
                                         [--backend both|sqlite|postgresql] [--repeat 3]

Cycles (each polls every feed once, matching against the example watchlists in watchlists/):
  first     every feed is new: 20 items each recorded (first run: matches stored, not alerted)
  304       every feed answers 304 Not Modified to its stored ETag
  new-items every feed has 20 new items (new ETag)
  big       one feed of 5,000 items alone (how long one big feed can hold the event loop)
Prints wall time, CPU time of this process, peak RSS and the worst event-loop stall
(how late a 10 ms ticker task ran). Targets on a 2-core machine: 304 cycle < 5 s, new-items
cycle < 30 s, peak memory < 200 MB.

The server runs in a separate process (so its CPU is not counted here). All feeds share one
host, so ``per_host`` is raised to ``concurrency`` to stand in for 1,000 distinct hosts.

The same cycles run on a SQLite file and on a throwaway PostgreSQL cluster on 127.0.0.1
(tests/pgcluster.py: initdb + pg_ctl, fsync off as in the tests; the server's CPU is not
counted in "cpu", its time is in "wall"), each cycle on both before the next one, so a change
in the machine's load weighs on both alike; the 304 cycle, a second or two, runs ``--repeat``
times on each in turn and its median counts. It prints both and the ratio of wall times
(target: PostgreSQL within 1.5x of SQLite). Without the PostgreSQL binaries it says so and
runs SQLite alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import multiprocessing
import multiprocessing.synchronize
import resource
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from feedserver import FeedServer, Route  # noqa: E402

from watcher.config.schema import Config, FeedConfig, PollingConfig  # noqa: E402
from watcher.config.settings import load_watchlists  # noqa: E402
from watcher.ingest.poll import poll_due, sync_feeds  # noqa: E402
from watcher.matching import CompiledWatchlists, compile_watchlists  # noqa: E402
from watcher.state.interface import StateStore  # noqa: E402
from watcher.state.sqlite import Store  # noqa: E402

BIG_ITEMS = 5000  # the "big" cycle: one feed this large, to see how long it holds the loop
SENTENCES = [
    "Oil prices rose on Tuesday as traders weighed new supply risks in the Middle East.",
    "The central bank kept its key rate unchanged, citing persistent inflation pressures.",
    "Shares of Rosneft fell after Washington announced fresh sanctions on the company.",
    "Lukoil said it would sell its international assets following the designation.",
    "Foreign minister Sergei Lavrov met his counterpart to discuss the grain corridor.",
    "Analysts expect European gas storage to remain above seasonal averages this winter.",
    "Роснефть и Лукойл попали под новые санкции США, сообщает агентство.",
    "The tanker was seen loading crude at the port of Primorsk last week.",
    "Novak Djokovic won his match in straight sets on Sunday evening.",
    "Gazprom Neft reported lower quarterly earnings amid the price cap.",
    "European lawmakers debated the 19th sanctions package late into the night.",
    "A spokesman for the Kremlin declined to comment on the reports.",
]


def item_xml(feed: int, generation: int, index: int) -> str:
    seed = feed * 31 + generation * 7 + index
    text = " ".join(SENTENCES[(seed + k) % len(SENTENCES)] for k in range(4))
    guid = f"feed{feed}-gen{generation}-item{index}"
    return (
        f"<item><guid>{guid}</guid><link>https://news.example/{guid}?utm_source=rss</link>"
        f"<title>Story {index} of feed {feed}</title>"
        f"<description><![CDATA[<p>{text}</p>]]></description>"
        "<pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate></item>"
    )


@functools.lru_cache(maxsize=4096)  # the server answers fast, so the client is what we time
def feed_xml(feed: int, generation: int, items: int) -> bytes:
    body = "".join(item_xml(feed, generation, i) for i in range(items))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title>{body}</channel></rss>"
    ).encode()


def serve(
    port_out: multiprocessing.Queue[int],
    generation: multiprocessing.sharedctypes.Synchronized[int],
    items: int,
    stop: multiprocessing.synchronize.Event,
) -> None:
    def handler(path: str, headers: Mapping[str, str]) -> Route:
        feed = int(path.rsplit("/", 1)[-1].split(".", maxsplit=1)[0])
        gen = generation.value
        count = BIG_ITEMS if path.startswith("/big/") else items
        return Route(body=feed_xml(feed, gen, count), etag=f'"f{feed}-g{gen}"')

    with FeedServer(handler=handler) as server:
        port_out.put(server.port)
        stop.wait()


async def cycle(
    store: StateStore, config: Config, compiled: CompiledWatchlists, now: float
) -> dict[str, float]:
    stall = 0.0
    running = True

    async def ticker() -> None:
        nonlocal stall
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.01)
            stall = max(stall, loop.time() - before - 0.01)

    tick = asyncio.create_task(ticker())
    wall, cpu = time.perf_counter(), time.process_time()
    results = await poll_due(store, config, compiled, now=now, force=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    running = False
    await tick
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "wall": wall,
        "cpu": cpu,
        "stall": stall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "new_items": sum(r.new_items for r in results),
        "new_matches": sum(r.new_matches for r in results),
        "statuses": statuses,  # type: ignore[dict-item]
    }


Figures = dict[str, dict[str, float]]  # {cycle: {wall, cpu, ...}}
REPEATED = "304"  # the short cycle, run --repeat times (it changes nothing): the median counts


@dataclass(frozen=True)
class Bench:
    """What every backend's run shares: the feeds, the compiled watchlists, the server."""

    config: Config
    big: Config
    compiled: CompiledWatchlists
    generation: Synchronized[int]
    profile: str | None
    repeat: int

    def run(self, stores: dict[str, StateStore]) -> dict[str, Figures]:
        """The four cycles, each on every store in turn before the next cycle (so a change
        in the machine's load between cycles weighs on both backends alike), each printed
        as it ends."""
        now = time.time()
        figures_of: dict[str, Figures] = {backend: {} for backend in stores}
        for name, gen, cycle_config in (
            ("first", 0, self.config),
            (REPEATED, 0, self.config),
            ("new-items", 1, self.config),
            ("big", 2, self.big),
        ):
            self.generation.value = gen
            runs: dict[str, list[dict[str, float]]] = {backend: [] for backend in stores}
            for _ in range(self.repeat if name == REPEATED else 1):
                for backend, store in stores.items():
                    sync_feeds(store, cycle_config, now)
                    runs[backend].append(self.one_cycle(backend, name, store, cycle_config, now))
            for backend, figures in runs.items():
                figures_of[backend][name] = sorted(figures, key=lambda f: f["wall"])[
                    len(figures) // 2
                ]
            now += 3600
        return figures_of

    def one_cycle(
        self, backend: str, name: str, store: StateStore, cycle_config: Config, now: float
    ) -> dict[str, float]:
        profiler = None
        if self.profile == name:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        figures = asyncio.run(cycle(store, cycle_config, self.compiled, now))
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        print(
            f"{backend:>10} {name:>9}: wall {figures['wall']:6.2f} s  "
            f"cpu {figures['cpu']:6.2f} s  "
            f"worst loop stall {figures['stall'] * 1000:6.1f} ms  "
            f"peak rss {figures['rss_mb']:6.1f} MB  new items {figures['new_items']:.0f}  "
            f"new matches {figures['new_matches']:.0f}  {figures['statuses']}"
        )
        return figures

    def on(self, backends: Sequence[str]) -> dict[str, Figures]:
        """The cycles on a SQLite file and/or a throwaway PostgreSQL cluster (skipped, the
        reason printed, without the PostgreSQL binaries)."""
        import pgcluster

        from watcher.state.postgresql import PostgresStore

        with contextlib.ExitStack() as cleanup:
            stores: dict[str, StateStore] = {}
            if "sqlite" in backends:
                state = cleanup.enter_context(tempfile.TemporaryDirectory())
                stores["sqlite"] = Store(Path(state))
                cleanup.callback(stores["sqlite"].close)
            if "postgresql" in backends and pgcluster.find_bin_dir() is None:
                print(f"postgresql: skipped: {pgcluster.ABSENT}")
            elif "postgresql" in backends:
                cluster = pgcluster.PgCluster.start()
                cleanup.callback(cluster.stop)
                database = cluster.new_database()
                stores["postgresql"] = PostgresStore(database.conninfo(), database.url)
                cleanup.callback(stores["postgresql"].close)
            return self.run(stores)


def compare(sqlite: Figures, pg: Figures) -> None:
    print("PostgreSQL / SQLite, wall time (target: at most 1.50x):")
    for name, figures in sqlite.items():
        ratio = pg[name]["wall"] / figures["wall"]
        print(
            f"  {name:>9}: {figures['wall']:6.2f} s vs {pg[name]['wall']:6.2f} s = {ratio:4.2f}x"
            f"  {'ok' if ratio <= 1.5 else 'OVER'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--profile", choices=["first", "304", "new-items"], help="pyinstrument one cycle"
    )
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument(
        "--repeat", type=int, default=3, help=f"runs of the {REPEATED} cycle (the median counts)"
    )
    args = parser.parse_args()

    ctx = multiprocessing.get_context("fork")
    ports: multiprocessing.Queue[int] = ctx.Queue()
    generation = ctx.Value("i", 0)
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(ports, generation, args.items, stop), daemon=True)
    server.start()
    port = ports.get(timeout=10)

    watchlists = load_watchlists(sorted((ROOT / "watchlists").glob("*.yaml")))
    feeds = tuple(
        FeedConfig(url=f"http://127.0.0.1:{port}/feed/{n}.xml") for n in range(args.feeds)
    )
    config = Config(
        feeds=feeds,
        polling=PollingConfig(
            allow_private_networks=True,
            concurrency=args.concurrency,
            per_host=min(args.concurrency, 64),
        ),
    )
    big = Config(
        feeds=(FeedConfig(url=f"http://127.0.0.1:{port}/big/{args.feeds}.xml"),),
        polling=config.polling,
    )
    bench = Bench(
        config, big, compile_watchlists(watchlists), generation, args.profile, args.repeat
    )
    print(
        f"{args.feeds} feeds x {args.items} items, concurrency {args.concurrency}, "
        f"{sum(len(w.entries) for w in watchlists)} watchlist entries"
    )
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    try:
        figures = bench.on(backends)
    finally:
        stop.set()
        server.join(timeout=5)
    if "sqlite" in figures and "postgresql" in figures:
        compare(figures["sqlite"], figures["postgresql"])


if __name__ == "__main__":
    main()
