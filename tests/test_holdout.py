"""Held-out matching corpus: `watcher match --json` scored against hand labels.

`tests/fixtures/holdout/` was written independently of the matcher and of the shared dev corpus
(`source/items-*.txt`, built by `source/build.py`; labelling rules in its README). Besides the
dev set's categories it has initials, list order, inflected Cyrillic, Ukrainian, Polish,
German/French spellings, names listed in one script only, patronymics, punctuation, titles,
all-caps headlines, subsidiaries and vessels; traps for relatives, company families, other
people, common words and vessels that are not opted in. Our own bars for a held-out set:
precision >= 0.97, recall >= 0.95, every mention category found >= 0.85 and every trap category
silent >= 0.85. The full table: `.venv/bin/python bench/eval_holdout.py`.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml
from holdout_scoring import (
    HOLDOUT,
    Score,
    Truth,
    load_truth,
    predictions,
    run_matcher,
    score,
    table,
)

MIN_PRECISION = 0.97
MIN_RECALL = 0.95
MIN_CATEGORY = 0.85

TRAPS_FIRE = pytest.mark.xfail(
    strict=True,
    reason=(
        "matcher: relatives with a listed surname (Lyudmila Putina, Elizaveta Peskova, Sofia "
        "Abramovich, Vladimir Kiriyenko), near names (Bank Rossiya, Transnet) and vessel names "
        "in everyday use (Boracay island, Jaguar Land Rover, Pushpa 2) are reported"
    ),
)


@pytest.fixture(scope="module", name="result")
def result_fixture() -> Score:
    return score(load_truth(), predictions(run_matcher()))


def test_scorer_counts_pairs_mentions_and_traps() -> None:
    truth: Truth = {
        "a": {
            "entries": ["putin", "lukoil"],
            "mentions": [
                {"entry": "putin", "category": "exact", "form": "Putin"},
                {"entry": "lukoil", "category": "typo", "form": "Lukiol"},
            ],
            "traps": [{"entry": "lavrov", "category": "substring", "form": "Lavrovsky"}],
        },
        "b": {
            "entries": [],
            "mentions": [],
            "traps": [{"entry": "putin", "category": "substring", "form": "Rasputin"}],
        },
    }
    output = (
        '{"id": "a", "matches": [{"entry": "putin"}, {"entry": "lavrov"}]}\n'
        '{"id": "b", "matches": [{"entry_id": "officials/putin"}]}\n'
    )
    result = score(truth, predictions(output))
    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 2, 1)
    assert result.mention_recall("exact") == 1.0
    assert result.mention_recall("typo") == 0.0
    assert result.traps_fired == Counter({"substring": 2})
    assert result.unexpected == (("a", "lavrov"), ("b", "putin"))
    assert result.precision == pytest.approx(1 / 3)
    assert result.recall == 0.5


def test_corpus_labels_are_consistent() -> None:
    truth = load_truth()
    articles = (HOLDOUT / "articles.xml").read_text(encoding="utf-8")
    items = re.findall(r"<item>.*?</item>", articles, re.S)
    assert [re.findall(r"<guid[^>]*>(.*?)</guid>", item) for item in items] == [[g] for g in truth]
    assert 140 <= len(truth) <= 200
    listed = set()
    for path in (HOLDOUT / "watchlists").glob("*.yaml"):
        listed |= {
            entry["id"] for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
        }
    for item, (guid, labels) in zip(items, truth.items(), strict=True):
        assert set(labels["entries"]) == {m["entry"] for m in labels["mentions"]}, guid
        for label in [*labels["mentions"], *labels["traps"]]:
            assert label["entry"] in listed, (guid, label)
            assert label["form"] in item, (guid, label)
        assert not {t["entry"] for t in labels["traps"]} & set(labels["entries"]), guid


def test_every_article_is_reported() -> None:
    assert set(predictions(run_matcher())) == set(load_truth())


def test_every_mention_category_is_found(result: Score) -> None:
    low = {c: result.mention_recall(c) for c in result.mentions_seen}
    assert min(low.values()) >= MIN_CATEGORY, table(result)


def test_recall(result: Score) -> None:
    assert result.recall >= MIN_RECALL, table(result)


@TRAPS_FIRE
def test_precision(result: Score) -> None:
    assert result.precision >= MIN_PRECISION, table(result)


@TRAPS_FIRE
def test_every_trap_category_stays_silent(result: Score) -> None:
    silence = {c: result.trap_silence(c) for c in result.traps_seen}
    assert min(silence.values()) >= MIN_CATEGORY, table(result)
