"""The labelled dev corpus in ../shared/eval/dev: `watcher match --json` must meet the targets
(precision >= 0.99, recall >= 0.97, every mention category >= 0.9, no trap reported beyond
what precision allows)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import requires_shared, shared_dir

pytestmark = [requires_shared, pytest.mark.shared, pytest.mark.slow]


def test_dev_corpus_meets_the_targets(tmp_path: Path) -> None:
    dev = shared_dir() / "eval" / "dev"
    command = ["match", "--watchlists", str(dev / "watchlists"), "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "watcher", *command, str(dev / "articles.xml")],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    predicted = {}
    for line in run.stdout.splitlines():
        doc = json.loads(line)
        predicted[doc["id"]] = {m["entry"] for m in doc["matches"]}
    truth = json.loads((dev / "truth.json").read_text("utf-8"))
    assert set(predicted) == set(truth)
    tp = fp = fn = 0
    seen: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for guid, labels in truth.items():
        want, got = set(labels["entries"]), predicted[guid]
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        for mention in labels["mentions"]:
            seen[mention["category"]] += 1
            hit[mention["category"]] += mention["entry"] in got
    assert tp / (tp + fp) >= 0.99
    assert tp / (tp + fn) >= 0.97
    for category in seen:
        assert hit[category] / seen[category] >= 0.9, category
