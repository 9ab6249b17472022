"""How long loading a full-OFAC-sized watchlist takes (budget: well under 1 s of the 2 s start).

    .venv/bin/python bench/bench_load.py [--entries 15000] [--repeat 5]

Generates a synthetic watchlist shaped like the importer's OFAC SDN output (15,000 entries,
~34,000 names, programs, notes, a few weak aliases) in a temporary directory, then times
`load_watchlist_file` (parse + validate + build `Entry` values) and its parts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from watcher.config.settings import WatchlistFile, load_watchlist_file
from watcher.config.yamlfile import load_yaml

_SYLLABLES = [
    "ro",
    "sne",
    "ft",
    "lu",
    "koil",
    "gaz",
    "prom",
    "ba",
    "nk",
    "vt",
    "sov",
    "com",
    "flot",
    "trans",
    "ne",
    "ko",
    "va",
    "tek",
    "ser",
    "gei",
    "iv",
    "an",
    "ov",
    "ich",
]
_TYPES = ["organization", "person", "vessel", "other"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _phrase(rng: random.Random, words: int) -> str:
    return " ".join(_word(rng) for _ in range(words))


def synthetic_watchlist(entries: int, seed: int = 1) -> tuple[str, int]:
    """YAML text of a watchlist with `entries` entries, and its number of names."""
    rng = random.Random(seed)
    lines = [
        "list: ofac-sdn",
        "description: OFAC SDN list (synthetic)",
        "defaults:",
        "  severity: high",
        "entries:",
    ]
    names = 0
    for index in range(entries):
        aliases = [_phrase(rng, 2) for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))]
        names += 1 + len(aliases)
        lines += [
            f"  - id: '{10000 + index}'",
            f"    name: {_phrase(rng, rng.randint(1, 3))}",
            f"    type: {rng.choice(_TYPES)}",
        ]
        if aliases:
            lines.append("    aliases:")
            lines += [f"      - {alias}" for alias in aliases]
        if index % 5 == 0:
            lines.append(f"    weak_aliases: [{_word(rng)}]")
        lines += [
            "    programs: [RUSSIA-EO14024, UKRAINE-EO13662]",
            "    notes: 'DOB 12 Jan 1960; POB Moscow, Russia; nationality Russia; Passport 123'",
        ]
    return "\n".join(lines) + "\n", names


def _time(function: Callable[[], object], repeat: int) -> str:
    """Median wall and CPU time over `repeat` runs (CPU time is steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return (
        f"{statistics.median(wall) * 1000:5.0f} ms wall, "
        f"{statistics.median(cpu) * 1000:5.0f} ms CPU (best {min(wall) * 1000:.0f} ms wall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text, names = synthetic_watchlist(args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ofac-sdn.yaml"
        path.write_text(text, encoding="utf-8")
        document = load_yaml(path)
        parse = _time(lambda: load_yaml(path), args.repeat)
        validate = _time(lambda: WatchlistFile.model_validate(document.data), args.repeat)
        total = _time(lambda: load_watchlist_file(path), args.repeat)
        loaded = load_watchlist_file(path)
    print(f"watchlist: {len(loaded.entries)} entries, {names} names, {len(text) / 2**20:.1f} MiB")
    print(f"median of {args.repeat} runs:")
    print(f"  parse (libyaml events -> data): {parse}")
    print(f"  validate (pydantic):            {validate}")
    print(f"  load_watchlist_file total:      {total}")


if __name__ == "__main__":
    main()
