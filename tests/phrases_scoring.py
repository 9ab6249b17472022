"""The phrase corpus: hand-written news passages labelled against the imported OFAC + UN lists.

`bench/official/phrases.yaml` holds short passages (a feed item's summary or headline) in the
languages of issue 9's hidden corpus, each with the entries it mentions (``expect``) or, for a
trap, none, and a category: how the name is written, or the kind of trap. It is a second,
independent check of how the matcher generalises beyond the real-feed corpus it was developed
against (`official_scoring`). This module loads it, writes it as one RSS feed (an item's
``tags`` as ``<category>`` elements), runs `watcher match --json` once over it with the lists
`watcher import` writes from ``../shared/data``, and scores the output with the shared scorer's
rules (`holdout_scoring.score`): precision and recall over (passage, entry) pairs, false alerts
per 1,000 passages, by language and by category.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from holdout_scoring import Truth, entry_id
from official_scoring import REPO, Figures, figures, import_lists, run

PHRASES = REPO / "bench" / "official" / "phrases.yaml"
FEED_NAME = "phrases.xml"


@dataclass(frozen=True)
class Phrase:
    """One passage, what it mentions (``expect``; empty for a trap) and its category."""

    id: str
    lang: str
    category: str
    expect: tuple[str, ...]
    text: str
    tags: tuple[str, ...] = ()
    trap: str = ""  # the entry a matcher is likely to report wrongly, when one is

    @property
    def is_trap(self) -> bool:
        return not self.expect


def load_phrases(path: Path = PHRASES) -> list[Phrase]:
    raw: list[Mapping[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Phrase(
            str(item["id"]),
            str(item["lang"]),
            str(item["cat"]),
            tuple(str(e) for e in item["expect"]),
            str(item["text"]),
            tuple(str(t) for t in item.get("tags", [])),
            str(item.get("trap", "")),
        )
        for item in raw
    ]


def phrases_feed(phrases: Sequence[Phrase]) -> str:
    """The passages as an RSS 2.0 feed: one item each, guid and title = the passage id, the
    passage as the description, its tags as categories."""
    items = []
    for p in phrases:
        tags = "".join(f"<category>{escape(t)}</category>" for t in p.tags)
        items.append(
            f'<item><guid isPermaLink="false">{escape(p.id)}</guid><title>{escape(p.id)}</title>'
            f"<description>{escape(p.text)}</description>{tags}</item>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>phrase corpus</title><link>http://localhost/</link>"
        f"<description>hand-written passages</description>\n{''.join(items)}</channel></rss>\n"
    )


def phrases_truth(phrases: Iterable[Phrase]) -> Truth:
    """Truth in the shared scorer's format; a mention's or trap's category is the passage's."""
    truth: dict[str, dict[str, Any]] = {}
    for p in phrases:
        form = p.text[:60]
        traps = [{"entry": p.trap, "category": p.category, "form": form}] if p.is_trap else []
        truth[p.id] = {
            "entries": sorted(set(p.expect)),
            "mentions": [{"entry": e, "category": p.category, "form": form} for e in p.expect],
            "traps": traps,
        }
    return truth


@dataclass(frozen=True)
class PhrasesRun:
    """What one `watcher match --json` over the corpus reported."""

    found: dict[str, set[str]]  # passage id -> entries reported (``also`` listings included)
    words: dict[tuple[str, str], str]  # (passage id, entry) -> the words it matched
    names: dict[str, str]  # entry id -> its listed name, for every entry of both lists
    import_seconds: tuple[float, float]
    match_seconds: float


def parse_output(output: str) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    found: dict[str, set[str]] = {}
    words: dict[tuple[str, str], str] = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        document = json.loads(line)
        item = str(document["id"])
        entries = found.setdefault(item, set())
        for match in document.get("matches", []):
            for listing in [match, *match.get("also", [])]:
                entry = entry_id(listing)
                entries.add(entry)
                words.setdefault((item, entry), str(match.get("text", "")))
    return found, words


def listed_names(lists: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(lists.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        names.update({str(e["id"]): str(e["name"]) for e in data["entries"]})
    return names


def run_phrases(watcher: Sequence[str], phrases: Sequence[Phrase]) -> PhrasesRun:
    """Import the lists as issue 9 is judged and match the passages in one `watcher match`."""
    with tempfile.TemporaryDirectory(prefix="bench-phrases-") as tmp:
        work = Path(tmp)
        lists = work / "lists"
        lists.mkdir()
        imports = import_lists(watcher, lists)
        feed = work / FEED_NAME
        feed.write_text(phrases_feed(phrases), encoding="utf-8")
        output, seconds = run([*watcher, "match", "--watchlists", str(lists), "--json", str(feed)])
        found, words = parse_output(output)
        return PhrasesRun(found, words, listed_names(lists), imports, seconds)


def figures_by(
    phrases: Sequence[Phrase], found: Mapping[str, set[str]], key: str
) -> dict[str, Figures]:
    """`figures` per value of a passage attribute (``lang`` or ``category``)."""
    groups: dict[str, list[Phrase]] = {}
    for p in phrases:
        groups.setdefault(str(getattr(p, key)), []).append(p)
    return {name: figures(phrases_truth(group), found) for name, group in sorted(groups.items())}
