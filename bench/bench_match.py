"""Matcher benchmark: compile time, throughput and index memory as the name list grows.

    .venv/bin/python bench/bench_match.py            # needs ../shared (OFAC list, real feeds)
    .venv/bin/python bench/bench_match.py --quick    # fewer repetitions

Targets (one core): compile the full OFAC SDN list in < 2 s; >= 2,000 articles/s on ~1 KB
real news items at 1k, 10k and all names, the per-article cost flat as the list grows;
compiled index < 250 MB. CPU times (process_time) are printed beside wall times because
the machine may be shared.
"""

from __future__ import annotations

import argparse
import csv
import gc
import glob
import time
import tracemalloc
from pathlib import Path

from watcher.config.watchlist import Entry, EntryType, Watchlist
from watcher.ingest.parse import parse_document
from watcher.matching import compile_watchlists, lexicon, match
from watcher.matching.normalize import stems, word

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OFAC_FILES = [
    SHARED / "data/ofac_sdn_2024-05-03/sdn.csv",
    SHARED / "data/ofac_sdn_2026-06_alt_add/alt.csv",
]


def ofac_watchlist() -> Watchlist:
    """The OFAC SDN list through `watcher import ofac`'s importer (a minimal reader if the
    importer is unavailable)."""
    try:
        from watcher.importers.ofac import import_ofac
    except ImportError:
        return _minimal_ofac()
    entries = import_ofac(OFAC_FILES, "ofac").entries
    return Watchlist("ofac", "OFAC SDN", str(OFAC_FILES[0]), entries)


def _minimal_ofac() -> Watchlist:
    aliases: dict[str, list[str]] = {}
    with OFAC_FILES[1].open(encoding="latin-1") as alt:
        for row in csv.reader(alt):
            if len(row) >= 4:
                aliases.setdefault(row[0], []).append(_person_order(row[3]))
    entries = []
    with OFAC_FILES[0].open(encoding="latin-1") as sdn:
        for row in csv.reader(sdn):
            if len(row) < 4:
                continue
            kind = {"individual": EntryType.PERSON, "vessel": EntryType.VESSEL}.get(
                row[2].strip(), EntryType.ORGANIZATION
            )
            name = _person_order(row[1]) if kind == EntryType.PERSON else row[1]
            entries.append(
                Entry("ofac", f"ofac-{row[0]}", name, kind, tuple(aliases.get(row[0], ())))
            )
    return Watchlist("ofac", "OFAC SDN", str(OFAC_FILES[0]), tuple(entries))


def _person_order(name: str) -> str:
    surname, _, given = name.partition(", ")
    return f"{given} {surname}" if given else name


def subset(watchlist: Watchlist, names: int) -> Watchlist:
    """The first entries of `watchlist` holding about `names` names."""
    kept, count = [], 0
    for entry in watchlist.entries:
        if count >= names:
            break
        kept.append(entry)
        count += len(entry.names)
    return Watchlist(watchlist.name, "", "", tuple(kept))


def news_texts() -> list[str]:
    texts = []
    for path in sorted(glob.glob(str(SHARED / "feeds/real/*.xml"))):
        parsed = parse_document(Path(path).read_bytes(), {}, path)
        texts.extend(item.article.full_text for item in parsed.items)
    return [t for t in texts if t.strip()]


def timed(function, *args):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def throughput(compiled, texts: list[str], rounds: int) -> tuple[float, float, float, int]:  # type: ignore[no-untyped-def]
    """(cold items/s, warm items/s by CPU, warm MB/s, matches in one pass)."""

    def one_pass() -> int:
        return sum(len(match(text, compiled)) for text in texts)

    found, _, cold_cpu = timed(one_pass)
    best = float("inf")
    for _ in range(rounds):
        _, _, cpu = timed(one_pass)
        best = min(best, cpu)
    size = sum(len(t.encode()) for t in texts) / 1e6
    return len(texts) / cold_cpu, len(texts) / best, size / best, found


def index_memory(watchlists: list[Watchlist]) -> float:
    """Peak traced allocation (MB) while compiling and holding the index."""
    gc.collect()
    tracemalloc.start()
    compiled = compile_watchlists(watchlists)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del compiled
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one timed round instead of three")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent: the benchmark reads the OFAC list and real feeds")

    from watcher.config.settings import load_watchlists

    _, lex_wall, _ = timed(lambda: (lexicon.common_english_words(), lexicon.known_words()))
    print(f"word lists (once per process): {lex_wall:.2f} s")

    texts = news_texts()
    avg = sum(len(t.encode()) for t in texts) / len(texts)
    print(f"corpus: {len(texts)} real news items from shared/feeds/real, {avg:.0f} bytes average")

    examples = sorted((ROOT / "watchlists").glob("*.y*ml"))
    dev = SHARED / "eval/dev/watchlists"
    for label, paths in (("example lists (watchlists/)", examples), ("dev lists", [dev])):
        lists, load_wall, _ = timed(load_watchlists, paths)
        compiled, compile_wall, _ = timed(compile_watchlists, lists)
        cold, warm, mbs, found = throughput(compiled, texts, rounds)
        print(
            f"{label}: {sum(len(e.names) for w in lists for e in w.entries)} names, "
            f"load {load_wall * 1000:.0f} ms + compile {compile_wall * 1000:.0f} ms; "
            f"{cold:,.0f} items/s cold, {warm:,.0f} items/s warm, {mbs:.2f} MB/s, {found} matches"
        )

    ofac, import_wall, _ = timed(ofac_watchlist)
    total = sum(len(e.names) for e in ofac.entries)
    print(f"OFAC: {len(ofac.entries)} entries, {total} names (import {import_wall:.2f} s)")
    columns = ("names", "compile wall", "compile cpu", "patterns", "items/s cold")
    columns += ("items/s warm", "MB/s", "us/item", "matches")
    print(" ".join(f"{c:>12}" for c in columns))
    for size in (1_000, 10_000, total):
        lists = [subset(ofac, size)]
        word.cache_clear()  # every compile starts cold
        stems.cache_clear()
        compiled, wall, cpu = timed(compile_watchlists, lists)
        cold, warm, mbs, found = throughput(compiled, texts, rounds)
        names = sum(len(e.names) for e in lists[0].entries)
        print(
            f"{names:>12} {wall:>11.2f}s {cpu:>11.2f}s {len(compiled.patterns):>12} "
            f"{cold:>12,.0f} {warm:>12,.0f} {mbs:>12.2f} {1e6 / warm:>12.0f} {found:>12}"
        )
    print(f"index memory, all OFAC names: {index_memory([ofac]):.0f} MB peak")


if __name__ == "__main__":
    main()
