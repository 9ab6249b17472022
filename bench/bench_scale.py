"""Scale benchmark: the full OFAC list against real news items. One command, prints figures.

    .venv/bin/python bench/bench_scale.py [--repeat N] [--sizes 1000,10000,all]

1. imports every real list in ../shared/data (timings per source set),
2. loads + compiles the full OFAC import (~15k entries, ~49k names; target < 2 s),
3. matches real feed items (../shared/feeds/real/*.xml via `watcher.parse.parse_document`, repeated
   to >= 2,000 items) against lists of 1k, 10k and all names on one core
   (target >= 2,000 articles/s at every size: per-article cost must not grow with the list;
   rates use process CPU time, so a busy machine does not skew them; wall rate shown too),
4. measures the compiled index's memory: tracemalloc peak and RSS growth (target < 250 MB).

Skips (exit 0, saying why) when ../shared is absent.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from watcher.importers.common import ImportResult  # noqa: E402
from watcher.importers.ofac import import_ofac  # noqa: E402
from watcher.importers.opensanctions import import_opensanctions  # noqa: E402
from watcher.importers.un import import_un  # noqa: E402
from watcher.importers.writer import render, write_atomically  # noqa: E402
from watcher.watchlist import Severity, Watchlist  # noqa: E402

Importer = Callable[[Sequence[Path], str, Severity], ImportResult]
TARGET_COMPILE_S = 2.0
TARGET_ARTICLES_PER_S = 2000
TARGET_MEMORY_MB = 250


def data(*parts: str) -> Path:
    return SHARED.joinpath("data", *parts)


def full_ofac_files() -> list[Path]:
    return [
        data("ofac_sdn_2024-05-03", "sdn.csv"),
        data("ofac_sdn_2026-06_alt_add", "alt.csv"),
        data("ofac_consolidated_nonsdn_2025-12", "cons_prim.csv"),
        data("ofac_consolidated_nonsdn_2025-12", "cons_alt.csv"),
    ]


def import_sets() -> list[tuple[str, Importer, list[Path]]]:
    return [
        ("OFAC SDN 2024-05-03", import_ofac, [data("ofac_sdn_2024-05-03", "sdn.csv")]),
        (
            "OFAC SDN 2021-07 (sdn+alt+add+comments)",
            import_ofac,
            sorted(data("ofac_sdn_2021-07_consistent").glob("*.csv")),
        ),
        (
            "OFAC non-SDN 2025-12 (cons_*)",
            import_ofac,
            sorted(data("ofac_consolidated_nonsdn_2025-12").glob("cons_*.csv")),
        ),
        ("OFAC full: SDN 2024 + alt 2026-06 + non-SDN", import_ofac, full_ofac_files()),
        (
            "UN consolidated 2026-02",
            import_un,
            [data("un_consolidated_2026-02", "UN_consolidated.xml")],
        ),
        (
            "OpenSanctions FtM sample",
            import_opensanctions,
            [data("opensanctions_samples", "entities.ftm.json")],
        ),
    ]


def bench_imports(out_dir: Path) -> Path:
    print("== import (import + render + atomic write) ==")
    outputs = []
    for index, (label, importer, files) in enumerate(import_sets()):
        output = out_dir / f"set{index}.yaml"
        outputs.append(output)
        run = timed(lambda: _import_and_write(importer, files, output))  # noqa: B023
        result, text = run.value
        names = sum(1 + len(e.aliases) for e in result.entries)
        weak = sum(len(e.weak_aliases) for e in result.entries)
        print(
            f"  {label:46s} {len(result.entries):6d} entries {names:6d} names {weak:5d} weak"
            f"  {len(text) / 1e6:5.2f} MB  {run.show()}"
        )
        for note in result.notes:
            print(f"      note: {note}")
    full = next(i for i, (_, _, files) in enumerate(import_sets()) if files == full_ofac_files())
    return outputs[full]


def _import_and_write(importer: Importer, files: list[Path], output: Path) -> tuple[Any, str]:
    result = importer(files, "ofac", Severity.MEDIUM)
    text = render(result, "ofac", Severity.MEDIUM)
    write_atomically(output, text)
    return result, text


def articles(minimum: int) -> list[str]:
    from watcher.parse import parse_document

    texts: list[str] = []
    for path in sorted(SHARED.joinpath("feeds", "real").glob("*.xml")):
        try:
            parsed = parse_document(path.read_bytes(), {}, f"file://{path.name}")
            items = [item.article for item in parsed.items]
        except Exception as exc:  # a broken sample feed is not what we measure here
            print(f"  (skipping {path.name}: {exc})")
            continue
        texts += [a.full_text for a in items if a.full_text.strip()]
    if not texts:
        return []
    return texts * -(-minimum // len(texts))


def subset(watchlist: Watchlist, names: int | None) -> Watchlist:
    """Entries drawn at random (fixed seed) until they hold `names` names; None = all."""
    if names is None:
        return watchlist
    pool = list(watchlist.entries)
    random.Random(0).shuffle(pool)
    chosen, count = [], 0
    for entry in pool:
        if count >= names:
            break
        chosen.append(entry)
        count += len(entry.names)
    return replace(watchlist, entries=tuple(sorted(chosen, key=lambda e: e.id)))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Timed(NamedTuple):
    value: Any
    cpu: float  # process CPU seconds: what the code costs, however busy the machine is
    wall: float

    def show(self) -> str:
        return f"{self.cpu:.2f} s CPU (wall {self.wall:.2f})"


def timed(work: Callable[[], Any]) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return Timed(value, time.process_time() - cpu, time.perf_counter() - wall)


def bench_load_compile(path: Path) -> Watchlist:
    from watcher.matching import compile_watchlists
    from watcher.settings import load_watchlist_file

    print("== load + compile (full OFAC list) ==")
    loaded = timed(lambda: load_watchlist_file(path))
    watchlist: Watchlist = loaded.value
    names = sum(len(e.names) for e in watchlist.entries)
    gc.collect()
    rss_before = rss_mb()
    compiled = timed(lambda: compile_watchlists([watchlist]))
    rss_after = rss_mb()
    total = loaded.cpu + compiled.cpu
    verdict = "ok" if total < TARGET_COMPILE_S else "OVER TARGET"
    print(f"  entries {len(watchlist.entries)}, names {names}")
    print(
        f"  load {loaded.show()} + compile {compiled.show()} = {total:.2f} s CPU"
        f"  (target < {TARGET_COMPILE_S} s: {verdict})"
    )
    again = timed(lambda: compile_watchlists([watchlist]))
    print(f"  second compile in the same process: {again.show()}")
    bench_index_cache(watchlist, compiled.value, loaded)
    print(
        f"  RSS growth while compiling: {rss_after - rss_before:.0f} MB"
        f" (process RSS {rss_after:.0f} MB)"
    )
    del compiled
    gc.collect()
    tracemalloc.start()
    kept = compile_watchlists([watchlist])
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    verdict = "ok" if peak / 1e6 < TARGET_MEMORY_MB else "OVER TARGET"
    print(
        f"  tracemalloc: compiled index holds {current / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB"
        f" while compiling (target < {TARGET_MEMORY_MB} MB: {verdict})"
    )
    del kept
    return watchlist


def bench_index_cache(watchlist: Watchlist, compiled: object, loaded: Timed) -> None:
    """Warm start: load the watchlist, check the saved index is current, unpickle it."""
    from watcher import matching

    if not all(hasattr(matching, n) for n in ("save_index", "load_index", "watchlists_signature")):
        print("  (no index cache API in watcher.matching: warm start not measured)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-index-") as state_dir:
        path = Path(state_dir) / "index.pickle"
        saved = timed(lambda: matching.save_index(compiled, path))
        signed = timed(lambda: matching.watchlists_signature([watchlist]))
        cached = timed(lambda: matching.load_index(path, signed.value))
        total = loaded.cpu + signed.cpu + cached.cpu
        verdict = "ok" if total < TARGET_COMPILE_S else "OVER TARGET"
        state = "hit" if cached.value is not None else "MISS (stale or unreadable)"
        print(
            f"  index cache ({path.stat().st_size / 1e6:.0f} MB, save {saved.show()}):"
            f" warm start = load {loaded.cpu:.2f} + signature {signed.cpu:.2f}"
            f" + unpickle {cached.show()} = {total:.2f} s CPU, {state}"
            f" (target < {TARGET_COMPILE_S} s: {verdict})"
        )


def bench_matching(watchlist: Watchlist, texts: list[str], sizes: list[int | None]) -> None:
    from watcher.matching import compile_watchlists, match

    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    mean_kb = megabytes * 1000 / len(texts)
    print(
        f"== matching: {len(texts)} feed items, {megabytes:.2f} MB,"
        f" mean {mean_kb:.2f} KB, one core =="
    )
    for size in sizes:
        part = subset(watchlist, size)
        names = sum(len(e.names) for e in part.entries)
        compiled = compile_watchlists([part])
        for text in texts[:50]:  # warm-up
            match(text, compiled)
        hits = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            hits += len(match(text, compiled))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rate = len(texts) / cpu  # CPU time: other processes on the machine do not count
        verdict = "ok" if rate >= TARGET_ARTICLES_PER_S else "UNDER TARGET"
        print(
            f"  {names:6d} names ({len(part.entries):5d} entries): {rate:8.0f} articles/s"
            f"  {megabytes / cpu:6.2f} MB/s  {cpu * 1e6 / len(texts):7.0f} us/article CPU"
            f" (wall {len(texts) / wall:.0f}/s)  {hits} matches"
            f"  (target >= {TARGET_ARTICLES_PER_S}/s: {verdict})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-articles", type=int, default=2000)
    parser.add_argument("--sizes", default="1000,10000,all")
    args = parser.parse_args()
    if not SHARED.joinpath("data").is_dir():
        print(f"skipped: {SHARED} (the real corpora) is absent")
        return 0
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temp:
        out_dir = Path(temp)
        path = bench_imports(out_dir)
        try:
            watchlist = bench_load_compile(path)
        except ImportError as exc:
            print(f"matcher not available yet ({exc}); import figures only")
            return 0
        texts = articles(args.min_articles)
        if not texts:
            print("skipped matching: no feed items in ../shared/feeds/real")
            return 0
        bench_matching(watchlist, texts, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
