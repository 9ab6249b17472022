"""Scoring `watcher match --json` output against a labelled corpus's ``truth.json``.

The same rules as the shared corpus scorer (written again here: the project never imports from
``../shared``). Per article, the entries reported are compared with the labelled ``entries``:
precision and recall over (article, entry) pairs. Each labelled mention counts as found when its
entry is reported for the article; each trap as fired when its entry is reported although the
article does not mention it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOLDOUT = Path(__file__).resolve().parent / "fixtures" / "holdout"
# guid -> {"entries": [...], "mentions": [{entry, category, form}], "traps": [...]}
Truth = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Label:
    article: str
    entry: str
    category: str
    form: str


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int
    mentions_seen: Counter[str] = field(default_factory=Counter)
    mentions_found: Counter[str] = field(default_factory=Counter)
    traps_seen: Counter[str] = field(default_factory=Counter)
    traps_fired: Counter[str] = field(default_factory=Counter)
    missed: tuple[Label, ...] = ()
    fired: tuple[Label, ...] = ()
    unexpected: tuple[tuple[str, str], ...] = ()  # (article, entry) reported, not labelled

    @property
    def precision(self) -> float:
        reported = self.true_positives + self.false_positives
        return self.true_positives / reported if reported else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    def mention_recall(self, category: str) -> float:
        return self.mentions_found[category] / self.mentions_seen[category]

    def trap_silence(self, category: str) -> float:
        """Share of the category's traps that were not reported."""
        return 1 - self.traps_fired[category] / self.traps_seen[category]


def entry_id(match: Mapping[str, object]) -> str:
    for key in ("entry", "entry_id", "id"):
        if key in match:
            return str(match[key]).split("/")[-1].split(":")[-1]
    raise ValueError(f"a match has no entry id: {match}")


def predictions(json_lines: str) -> dict[str, set[str]]:
    """Entries reported per article id, from `watcher match --json` output (a match's ``also``
    listings included, as the shared scorer counts them)."""
    found: dict[str, set[str]] = {}
    for line in json_lines.splitlines():
        if line.strip():
            document = json.loads(line)
            matches = document.get("matches", [])
            also = [a for m in matches for a in m.get("also", [])]  # other listings, as reported
            found[str(document["id"])] = {entry_id(m) for m in matches + also}
    return found


def score(truth: Truth, predicted: Mapping[str, set[str]]) -> Score:
    tp = fp = fn = 0
    seen: Counter[str] = Counter()
    found: Counter[str] = Counter()
    traps_seen: Counter[str] = Counter()
    traps_fired: Counter[str] = Counter()
    missed: list[Label] = []
    fired: list[Label] = []
    unexpected: list[tuple[str, str]] = []
    for article, labels in truth.items():
        got = predicted.get(article, set())
        want = set(labels["entries"])
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        unexpected += [(article, entry) for entry in sorted(got - want)]
        for mention in _labels(article, labels["mentions"]):
            seen[mention.category] += 1
            if mention.entry in got:
                found[mention.category] += 1
            else:
                missed.append(mention)
        for trap in _labels(article, labels["traps"]):
            traps_seen[trap.category] += 1
            if trap.entry in got and trap.entry not in want:
                traps_fired[trap.category] += 1
                fired.append(trap)
    return Score(
        tp, fp, fn, seen, found, traps_seen, traps_fired, tuple(missed), tuple(fired),
        tuple(unexpected),
    )  # fmt: skip


def _labels(article: str, raw: Iterable[Mapping[str, str]]) -> list[Label]:
    return [Label(article, r["entry"], r["category"], r["form"]) for r in raw]


def run_matcher(corpus: Path = HOLDOUT) -> str:
    """`watcher match --json` over the corpus, in a subprocess, as a user would run it."""
    command = [
        sys.executable, "-m", "watcher", "match",
        "--watchlists", str(corpus / "watchlists"), "--json", str(corpus / "articles.xml"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=50, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"watcher match failed ({done.returncode}): {done.stderr}")
    return done.stdout


def load_truth(corpus: Path = HOLDOUT) -> Truth:
    data: Truth = json.loads((corpus / "truth.json").read_text(encoding="utf-8"))
    return data


def category_table(result: Score) -> list[str]:
    """Recall per mention category and traps fired per trap category, one line each."""
    lines = ["recall by mention category:"]
    for category in sorted(result.mentions_seen):
        hit, seen = result.mentions_found[category], result.mentions_seen[category]
        lines.append(f"  {category:20s} {hit:4d}/{seen:<4d} {hit / seen:.3f}")
    lines.append("traps wrongly reported:")
    for category in sorted(result.traps_seen):
        fired, seen = result.traps_fired[category], result.traps_seen[category]
        lines.append(f"  {category:20s} {fired:4d}/{seen:<4d} silent {1 - fired / seen:.3f}")
    return lines


def table(result: Score) -> str:
    """The per-category report, every missed mention and fired trap, precision and recall."""
    lines = category_table(result)
    lines += [f"missed: {label.article} {label.entry} {label.category} {label.form!r}"
              for label in result.missed]  # fmt: skip
    lines += [f"trap fired: {label.article} {label.entry} {label.category} {label.form!r}"
              for label in result.fired]  # fmt: skip
    lines.append(
        f"precision={result.precision:.3f} recall={result.recall:.3f} "
        f"tp={result.true_positives} fp={result.false_positives} fn={result.false_negatives}"
    )
    return "\n".join(lines)
