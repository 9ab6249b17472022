"""Official lists benchmark (`lists:`): one command, prints figures.

    .venv/bin/python bench/bench_lists.py [--articles 20000] [--new 100]

1. A full OFAC update as the daemon runs it: the 2021-07 SDN release is the list in force,
   then the newest full set (2024-05 sdn.csv, 2026-06 alt.csv, 2025-12 cons_prim/cons_alt)
   is downloaded from a loopback HTTP server, checked, imported, diffed against the list in
   force, swapped in, and compiled (what the reload does). Time per step and peak memory
   (the process's peak RSS; Python allocations too with --tracemalloc, which slows it).
2. Back-screening: `--articles` stored articles (news-like text, 1 in 50 naming one of the
   new entries) screened against `--new` newly listed entries of the OFAC list: time,
   articles per CPU-second, matches, peak RSS (it reads in bounded batches). It runs first,
   so its RSS is not hidden under the update's peak.

Skips (exit 0, saying why) when ../shared is absent.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from feedserver import FeedServer  # noqa: E402

from watcher.config.indexcache import compile_lists  # noqa: E402
from watcher.config.settings import load_config, load_watchlist_file  # noqa: E402
from watcher.config.watchlist import Severity  # noqa: E402
from watcher.importers.ofac_xml import import_ofac_any  # noqa: E402
from watcher.importers.writer import render, write_atomically  # noqa: E402
from watcher.ingest.feedstate import ItemRecord  # noqa: E402
from watcher.ingest.fetch import make_client  # noqa: E402
from watcher.lists.diff import diff_entries  # noqa: E402
from watcher.lists.rescreen import rescreen_pending  # noqa: E402
from watcher.lists.update import list_fetch_limits, output_path, update_due  # noqa: E402
from watcher.state.sqlite import Store  # noqa: E402

WORDS = (
    "the",
    "government",
    "said",
    "on",
    "Tuesday",
    "that",
    "talks",
    "on",
    "oil",
    "exports",
    "and",
    "grain",
    "prices",
    "would",
    "resume",
    "next",
    "week",
    "after",
    "officials",
    "met",
    "in",
    "the",
    "capital",
    "while",
    "markets",
    "fell",
    "and",
    "analysts",
    "expected",
    "further",
    "sanctions",
    "on",
    "banks",
    "shipping",
    "insurers",
    "and",
    "traders",
    "across",
    "the",
    "region",
)


def data(*parts: str) -> Path:
    return SHARED.joinpath("data", *parts)


NEW_SET = [
    data("ofac_sdn_2024-05-03", "sdn.csv"),
    data("ofac_sdn_2026-06_alt_add", "alt.csv"),
    data("ofac_consolidated_nonsdn_2025-12", "cons_prim.csv"),
    data("ofac_consolidated_nonsdn_2025-12", "cons_alt.csv"),
]
OLD_SET = [data("ofac_sdn_2021-07_consistent", "sdn.csv"), *NEW_SET[1:]]


def mb(size: float) -> str:
    return f"{size / 2**20:.0f} MB"


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0  # Linux: KiB


def write_config(tmp: Path, server: FeedServer) -> Path:
    urls = ", ".join(server.url(f"/{i}/{p.name}") for i, p in enumerate(NEW_SET))
    config = tmp / "config.yaml"
    config.write_text(
        f"state_dir: {tmp / 'state'}\n"
        "polling: {allow_private_networks: true}\n"
        f"lists:\n  - {{name: ofac, source: ofac, urls: [{urls}], every: 1d}}\n",
        encoding="utf-8",
    )
    return config


def serve(server: FeedServer, files: list[Path], tag: str) -> None:
    for index, path in enumerate(files):
        server.route(f"/{index}/{NEW_SET[index].name}", path.read_bytes(), etag=f'"{tag}{index}"')


async def run_update(config_path: Path) -> tuple[float, int]:
    config = load_config(config_path)
    assert config.state_dir is not None
    store = Store(config.state_dir)
    client = make_client(list_fetch_limits(config))
    started = time.perf_counter()
    try:
        (result,) = await update_due(
            config, store, config.state_dir, client, time.time(), force=True
        )
    finally:
        await client.aclose()
        store.close()
    assert result.status == "updated", result.error
    return time.perf_counter() - started, len(result.diff.added) if result.diff else 0


def bench_update(tmp: Path, server: FeedServer, trace: bool) -> None:
    config_path = write_config(tmp, server)
    serve(server, OLD_SET, "old")
    asyncio.run(run_update(config_path))  # the list in force: 2021-07
    serve(server, NEW_SET, "new")
    rss_before = peak_rss()
    if trace:
        tracemalloc.start()
    cpu = time.process_time()
    update_s, added = asyncio.run(run_update(config_path))
    config = load_config(config_path)
    assert config.state_dir is not None
    out = output_path(config.lists[0], config.state_dir)
    started = time.perf_counter()
    compiled = compile_lists([out], (), 90, None)
    compile_s = time.perf_counter() - started
    cpu = time.process_time() - cpu
    size = sum(p.stat().st_size for p in NEW_SET)
    print(f"full OFAC update ({len(NEW_SET)} files, {mb(size)} from loopback):")
    print(f"  download + check + import + diff + swap: {update_s:.2f} s ({added} entries added)")
    print(
        f"  compile the new list (reload):           {compile_s:.2f} s ({compiled.entries} entries)"
    )
    print(f"  total: {update_s + compile_s:.2f} s wall, {cpu:.2f} s CPU")
    print(f"  peak RSS: {mb(peak_rss())} (peak before the update: {mb(rss_before)})")
    if trace:
        print(f"  tracemalloc peak (Python allocations): {mb(tracemalloc.get_traced_memory()[1])}")
        tracemalloc.stop()


def bench_rescreen(tmp: Path, articles: int, new: int, trace: bool) -> None:
    state = tmp / "rescreen-state"
    lists_dir = state / "lists"
    lists_dir.mkdir(parents=True)
    imported = import_ofac_any(NEW_SET, "ofac", Severity.MEDIUM)
    write_atomically(lists_dir / "ofac.yaml", render(imported, "ofac", Severity.MEDIUM))
    del imported
    config_path = tmp / "rescreen.yaml"
    config_path.write_text(
        f"state_dir: {state}\nlists:\n  - {{name: ofac, source: ofac,"
        " urls: [http://127.0.0.1:1/sdn.csv]}\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    entries = load_watchlist_file(lists_dir / "ofac.yaml").entries
    rng = random.Random(11)
    chosen = rng.sample([e for e in entries if e.type.value == "person"], new)
    diff = diff_entries("ofac", [e for e in entries if e not in chosen], entries)
    assert len(diff.added) == new
    store = Store(state)
    now = time.time()
    with store.transaction() as tx:
        tx.sync_feeds([("http://127.0.0.1:1/feed", "feed")], now)
        feed_id = tx.feeds()[0].id
    for start in range(0, articles, 1000):
        records, texts = [], []
        for n in range(start, min(articles, start + 1000)):
            words = rng.choices(WORDS, k=250)
            if n % 50 == 0:
                words.insert(rng.randrange(250), chosen[n // 50 % new].name)
            text = " ".join(words)
            records.append(ItemRecord(f"k{n}", f"a{n:06d}", f"https://n.test/{n}", "t", now, "h"))
            texts.append((f"a{n:06d}", text))
        with store.transaction() as tx:
            tx.record_items(feed_id, records, now)
            tx.keep_article_texts(texts, now)
    with store.transaction() as tx:
        tx.add_list_change("ofac", "bench", (new, 0, 0), diff.to_json(), now, rescreen=True)
    rss_before = peak_rss()
    if trace:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    found = rescreen_pending(store, config, state, now)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    stored = sum(p.stat().st_size for p in state.glob("state.sqlite3*"))
    print(f"back-screening {articles} stored articles against {new} new entries:")
    print(
        f"  {elapsed:.2f} s wall, {cpu:.2f} s CPU ({articles / cpu:,.0f} articles per CPU-second),"
        f" {found} matches (expected >= {articles // 50})"
    )
    print(f"  peak RSS {mb(peak_rss())} (before: {mb(rss_before)}); state database {mb(stored)}")
    if trace:
        print(f"  tracemalloc peak (Python allocations): {mb(tracemalloc.get_traced_memory()[1])}")
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slower)"
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} (the shared data) is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as server:
        bench_rescreen(Path(tmp), args.articles, args.new, args.tracemalloc)  # first: own RSS
        bench_update(Path(tmp), server, args.tracemalloc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
