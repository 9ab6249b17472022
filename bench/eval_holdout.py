"""Held-out matching corpus: the full per-category table for `watcher match`.

    .venv/bin/python bench/eval_holdout.py              # tests/fixtures/holdout
    .venv/bin/python bench/eval_holdout.py DIR          # any corpus in the same format

Runs `watcher match --watchlists DIR/watchlists --json DIR/articles.xml` in a subprocess and
prints recall per mention category, the traps wrongly reported per trap category, every missed
mention and fired trap with its exact form, and precision/recall over (article, entry) pairs.
Our bars for a held-out set (checked by tests/test_holdout.py): precision >= 0.97,
recall >= 0.95, every category >= 0.85.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from holdout_scoring import HOLDOUT, load_truth, predictions, run_matcher, score, table


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else HOLDOUT
    started = time.perf_counter()
    output = run_matcher(corpus)
    elapsed = time.perf_counter() - started
    truth = load_truth(corpus)
    print(f"{corpus}: {len(truth)} articles, watcher match took {elapsed:.2f} s wall")
    print(table(score(truth, predictions(output))))


if __name__ == "__main__":
    main()
