"""The official-lists corpus: real feed items labelled against the imported OFAC + UN lists.

`bench/official/labels.json` says, for items of ``../shared/feeds/real``, which entries of the
lists `watcher import ofac|un` writes from ``../shared/data`` each item really mentions
(``mentions``) and which it must not be matched to (``traps``: namesakes, relatives, common words,
places). Every other item of those feeds mentions no listed entity. An item is keyed
``<feed file>#<id>`` (the id `watcher match --json` prints is not unique across feeds: two
Guardian and two HuffPost feeds share items).

The truth handed to the scorer has the shared scorer's format (``../shared/eval/score.py``, also
`holdout_scoring.score`): ``{key: {"entries", "mentions", "traps"}}``, so that scorer can score
this corpus too. What this module adds: keying `watcher match --json` lines by feed, false alerts
per 1,000 articles, figures per language, and the Cyrillic/Polish inflection set
(``tests/fixtures/cyrillic``), written as RSS feeds for `watcher match`.

False alert: an article with at least one reported entry that it does not mention (a wrong
entry for the article, whatever else was right in it). The rate is per 1,000 articles scored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from holdout_scoring import Score, Truth, entry_id, predictions, score

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "official" / "labels.json"
CYRILLIC = Path(__file__).resolve().parent / "fixtures" / "cyrillic"
SHARED = REPO.parent / "shared"
REAL_FEEDS = SHARED / "feeds" / "real"
DATA = SHARED / "data"
# The lists as issue 9 is judged: `watcher import ofac` of these files, `import un` of UN_FILE.
OFAC_FILES = (
    "ofac_sdn_2024-05-03/sdn.csv",
    "ofac_sdn_2026-06_alt_add/alt.csv",
    "ofac_sdn_2026-06_alt_add/add.csv",
    "ofac_consolidated_nonsdn_2025-12/cons_prim.csv",
    "ofac_consolidated_nonsdn_2025-12/cons_alt.csv",
)
UN_FILE = "un_consolidated_2026-02/UN_consolidated.xml"
OFFICIAL_SET = "cyrillic-official.xml"  # the official half of the inflection set, as a feed

# The language each real feed is written in (from ../shared/feeds/SOURCES.md and by reading).
FEED_LANGUAGES: Mapping[str, str] = {
    "antonchasnyk_liga_ru_2021.xml": "ru",
    "go11ga_mos_ru_2022.xml": "ru",
    "huginn_cdata.atom.xml": "en",
    "huginn_iso-8859-1.xml": "en",
    "ildorado_tutby_ru_2019.xml": "ru",
    "jameslawler_huffpost.xml": "en",
    "jameslawler_reuters_world_2018.xml": "en",
    "jmanuelbr_20minutos.xml": "es",
    "jmanuelbr_bbc.xml": "en",
    "jmanuelbr_cnn.xml": "en",
    "jmanuelbr_elconfidencial.xml": "es",
    "jmanuelbr_eldiario.xml": "es",
    "jmanuelbr_elmundo.xml": "es",
    "jmanuelbr_elpais.xml": "es",
    "jmanuelbr_europapress.xml": "es",
    "jmanuelbr_expansion.xml": "es",
    "jmanuelbr_huffpost.xml": "en",
    "jmanuelbr_libertaddigital.xml": "es",
    "jmanuelbr_nytimes-science.xml": "en",
    "jmanuelbr_nytimes.xml": "en",
    "jmanuelbr_theguardian.xml": "en",
    "jmanuelbr_theguardian2.xml": "en",
    "koshkarik_bbc_world_2019.xml": "en",
    "miniflux_ibash_windows1251_2018.xml": "ru",
    "miniflux_iso8859-1.xml": "de",
    "miniflux_koi8r_synthetic.xml": "ru",
    "miniflux_no_encoding_iso8859-1.xml": "fr",
    "miniflux_urdu_utf8.xml": "ur",
    "rbren_content-encoded.xml": "en",
    "rbren_craigslist.xml": "en",
    "rbren_customfields.xml": "en",
    "rbren_encoding.xml": "pt",
    "rbren_feedburner.atom.xml": "en",
    "rbren_guardian.xml": "en",
    "rbren_heise.atom.xml": "de",
    "rbren_heraldsun.xml": "en",
    "rbren_many-links.xml": "en",
    "rbren_reddit-atom.xml": "en",
    "rbren_reddit-home.xml": "en",
    "rbren_reddit.xml": "en",
    "rbren_rss-1.xml": "en",
    "rbren_uolNoticias.xml": "pt",
    "tehtehteh_liga_2020.xml": "ru",
    "tehtehteh_pravda_2020.xml": "ru",
    "tehtehteh_ukranews_2020.xml": "uk",
    "tehtehteh_unian_2020.xml": "uk",
}


@dataclass(frozen=True)
class Reported:
    """One entry `watcher match` reported for an article: its id and the words it matched."""

    entry: str
    text: str


@dataclass(frozen=True)
class Article:
    """One output line of `watcher match --json`, keyed by the feed file it came from."""

    key: str  # "<feed file>#<id>"
    feed: str
    title: str
    reported: tuple[Reported, ...]

    @property
    def entries(self) -> set[str]:
        return {r.entry for r in self.reported}


def article_key(feed: str, item_id: str) -> str:
    return f"{feed}#{item_id}"


def split_by_feed(json_lines: str, boundaries: Mapping[str, str]) -> list[Article]:
    """`watcher match --json` output over ``marker, feed, marker, feed, ...`` keyed by feed.

    `boundaries` maps the id of each marker document (an empty text file named on the command
    line just before its feed) to that feed's file name. Marker lines are dropped. A match's
    ``also`` listings count as reported, as in the shared scorer.
    """
    articles: list[Article] = []
    feed = ""
    for line in json_lines.splitlines():
        if not line.strip():
            continue
        document = json.loads(line)
        item_id = str(document["id"])
        if item_id in boundaries:
            feed = boundaries[item_id]
            continue
        if not feed:
            raise ValueError(f"an output line precedes the first feed marker: {item_id}")
        matches = document.get("matches", [])
        reported = [Reported(entry_id(m), str(m.get("text", ""))) for m in matches]
        reported += [
            Reported(entry_id(also), str(m.get("text", "")))
            for m in matches
            for also in m.get("also", [])
        ]
        articles.append(
            Article(
                article_key(feed, item_id), feed, str(document.get("title", "")), tuple(reported)
            )
        )
    return articles


def load_labels(path: Path = LABELS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def truth_for(labels: Mapping[str, Any], keys: Iterable[str]) -> Truth:
    """Truth in the shared scorer's format for every article in `keys`.

    Unlabelled articles mention nothing; articles the labels exclude (too uncertain to label)
    are left out, so nothing reported for them counts either way.
    """
    labelled: Mapping[str, Mapping[str, Any]] = labels["articles"]
    excluded = set(labels.get("excluded", {}))
    truth: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key in excluded:
            continue
        record = labelled.get(key, {})
        mentions = list(record.get("mentions", []))
        truth[key] = {
            "entries": sorted({m["entry"] for m in mentions}),
            "mentions": mentions,
            "traps": list(record.get("traps", [])),
        }
    return truth


def missing_from_output(labels: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """Labelled or excluded articles that `watcher match` printed no line for: a changed id
    rule or parser would otherwise drop their labels from the score without a word."""
    printed = set(keys)
    named = [*labels["articles"], *labels.get("excluded", {})]
    return sorted(key for key in named if key not in printed)


def predicted(articles: Iterable[Article]) -> dict[str, set[str]]:
    return {a.key: a.entries for a in articles}


def false_alerts(truth: Truth, found: Mapping[str, set[str]]) -> list[str]:
    """Articles with at least one reported entry they do not mention."""
    return [key for key, labels in truth.items() if found.get(key, set()) - set(labels["entries"])]


def per_thousand(count: int, articles: int) -> float:
    return 1000 * count / articles if articles else 0.0


@dataclass(frozen=True)
class Figures:
    """Precision, recall and false alerts of one group of articles (all, or one language)."""

    articles: int
    score: Score
    alerts: tuple[str, ...]  # keys of articles with a false alert

    @property
    def false_alerts_per_1000(self) -> float:
        return per_thousand(len(self.alerts), self.articles)

    def line(self, name: str) -> str:
        """One row of a per-language or per-category table: items, true mentions, precision,
        recall, false alerts (``-`` where nothing was there to measure)."""
        s = self.score
        mentions = s.true_positives + s.false_negatives
        reported = s.true_positives + s.false_positives
        precision = f"{s.precision:.3f}" if reported else "  -  "
        recall = f"{s.recall:.3f}" if mentions else "  -  "
        return (
            f"  {name:20s} {self.articles:5d} {mentions:4d}  P {precision}  R {recall}  "
            f"FA {len(self.alerts):3d} = {self.false_alerts_per_1000:6.1f}/1000"
        )


def figures(truth: Truth, found: Mapping[str, set[str]]) -> Figures:
    return Figures(len(truth), score(truth, found), tuple(false_alerts(truth, found)))


def figures_by_language(
    truth: Truth, found: Mapping[str, set[str]], languages: Mapping[str, str] = FEED_LANGUAGES
) -> dict[str, Figures]:
    """`figures` per language of the article's feed (``?`` for a feed of unknown language)."""
    groups: dict[str, dict[str, Any]] = {}
    for key, labels in truth.items():
        groups.setdefault(languages.get(key.split("#", 1)[0], "?"), {})[key] = labels
    return {lang: figures(group, found) for lang, group in sorted(groups.items())}


# --- the Cyrillic / Polish inflection set -------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """One hand-written item of the inflection set and what it mentions."""

    id: str
    lang: str
    text: str
    mentions: tuple[Mapping[str, str], ...]
    traps: tuple[Mapping[str, str], ...]


def load_sentences(path: Path) -> list[Sentence]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Sentence(
            str(item["id"]),
            str(item["lang"]),
            str(item["text"]),
            tuple(item.get("mentions", [])),
            tuple(item.get("traps", [])),
        )
        for item in raw
    ]


def sentences_feed(sentences: Sequence[Sentence]) -> str:
    """The sentences as an RSS 2.0 feed: one item each, guid = the sentence id."""
    items = "".join(
        f'<item><guid isPermaLink="false">{escape(s.id)}</guid><title>{escape(s.id)}</title>'
        f"<description>{escape(s.text)}</description></item>\n"
        for s in sentences
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>inflection set</title><link>http://localhost/</link>"
        f"<description>hand-written sentences</description>\n{items}</channel></rss>\n"
    )


def sentences_truth(sentences: Sequence[Sentence]) -> Truth:
    """Truth in the shared scorer's format; a mention's category is its language and case."""
    return {
        s.id: {
            "entries": sorted({m["entry"] for m in s.mentions}),
            "mentions": [
                {"entry": m["entry"], "category": m["case"], "form": m["form"]} for m in s.mentions
            ],
            "traps": [
                {"entry": t["entry"], "category": t["category"], "form": t["form"]} for t in s.traps
            ],
        }
        for s in sentences
    }


# --- running `watcher` --------------------------------------------------------------------


def watcher_command(watcher: str | None = None) -> list[str]:
    """A `watcher` executable (another checkout's), else this checkout's ``python -m watcher``."""
    return [watcher] if watcher else [sys.executable, "-m", "watcher"]


def run(command: Sequence[str], timeout: float = 600) -> tuple[str, float]:
    """Standard output and wall seconds of a command that must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return done.stdout, elapsed


def import_lists(watcher: Sequence[str], lists: Path) -> tuple[float, float]:
    """Write ofac.yaml and un.yaml into `lists`; wall seconds of each import."""
    ofac = [str(DATA / name) for name in OFAC_FILES]
    _, ofac_s = run([*watcher, "import", "ofac", *ofac, "-o", str(lists / "ofac.yaml")])
    _, un_s = run([*watcher, "import", "un", str(DATA / UN_FILE), "-o", str(lists / "un.yaml")])
    return ofac_s, un_s


def match_feeds(
    watcher: Sequence[str], lists: Path, feeds: Mapping[str, Path], work: Path
) -> tuple[list[Article], float]:
    """One `watcher match --json` over every feed, each preceded by an empty marker file whose
    output line tells which feed the following lines come from; wall seconds."""
    arguments: list[str] = []
    boundaries: dict[str, str] = {}
    for number, (name, path) in enumerate(feeds.items()):
        marker = work / f"feed-{number:03d}.txt"
        marker.write_bytes(b"")
        boundaries[str(marker)] = name
        arguments += [str(marker), str(path)]
    output, elapsed = run([*watcher, "match", "--watchlists", str(lists), "--json", *arguments])
    return split_by_feed(output, boundaries), elapsed


@dataclass(frozen=True)
class CorpusRun:
    """What one run of `watcher` over the corpus and the inflection set reported."""

    real: tuple[Article, ...]  # items of ../shared/feeds/real
    official_set: dict[str, set[str]]  # inflection set vs the official lists: id -> entries
    hand_set: dict[str, set[str]]  # inflection set vs tests/fixtures/cyrillic/watchlists
    import_seconds: tuple[float, float]  # OFAC, UN
    match_seconds: float  # the real feeds and the official inflection set, one process


def run_corpus(watcher: Sequence[str], work: Path) -> CorpusRun:
    """Import the lists into `work`, match the real feeds and both halves of the inflection set."""
    lists = work / "lists"
    lists.mkdir()
    imports = import_lists(watcher, lists)
    official = work / OFFICIAL_SET
    official.write_text(sentences_feed(load_sentences(CYRILLIC / "official.yaml")), "utf-8")
    hand = work / "cyrillic-handlist.xml"
    hand.write_text(sentences_feed(load_sentences(CYRILLIC / "handlist.yaml")), "utf-8")
    feeds = {path.name: path for path in sorted(REAL_FEEDS.glob("*.xml"))}
    articles, seconds = match_feeds(watcher, lists, {**feeds, OFFICIAL_SET: official}, work)
    hand_out, _ = run(
        [*watcher, "match", "--watchlists", str(CYRILLIC / "watchlists"), "--json", str(hand)]
    )
    prefix = article_key(OFFICIAL_SET, "")
    return CorpusRun(
        tuple(a for a in articles if a.feed in feeds),
        {a.key.removeprefix(prefix): a.entries for a in articles if a.feed == OFFICIAL_SET},
        predictions(hand_out),
        imports,
        seconds,
    )
