"""`watcher match`: run the matcher over local files (feeds, HTML pages, text) and report.

    watcher match [--config PATH | --watchlists PATH ...] [--threshold N] [--json]
                  [--explain [--entry LIST/ID ...]] INPUT ...

INPUT is an RSS/Atom file (one result per item), an HTML or text file (one result), or ``-``
for standard input; which one is told by looking at the content. With ``--json`` every
article is one line: ``{"id", "title", "link", "matches": [Match.to_json() + "field", ...]}``
(the id is the item's guid, else its link, else the file name; ``field`` is where the match
stands: ``title``, ``text`` or ``tag`` for an item's categories). Scripts and benchmarks rely on it.

One real-world entity on several lists is one match, naming its other listings (``also`` in
JSON, ``listed on:`` in the report). ``--explain`` says why each match was made: the rule, the
name that matched (listed, or derived and by which rule), every listing of the entity
(``"explain": {...}`` in JSON). ``--explain`` without INPUT lists what the matcher looks for:
each entry's names with their rules and its other listings (``--entry LIST/ID`` to choose).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from watcher.commands import config_option
from watcher.config.indexcache import compile_lists
from watcher.config.settings import load_config, resolved_state_dir
from watcher.errors import WatcherError
from watcher.ingest.article import Article, Field
from watcher.ingest.parse import decode_document, parse_document
from watcher.ingest.text import html_to_text, repair_mojibake
from watcher.lists.update import screened_watchlists
from watcher.matching import CompiledWatchlists, Match, match
from watcher.matching.cards import listed_on
from watcher.matching.explain import Explainer
from watcher.matching.matcher import snippet

_SNIFF_BYTES = 4096
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)\b", re.I)
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|p|div|br|a|b|i|span|article)\b", re.I)
_BOLD, _RESET = "\033[1m", "\033[0m"


@dataclass(frozen=True)
class _Document:
    id: str
    title: str
    link: str
    text: str  # what the matcher reads
    article: Article | None = None  # a feed item: tells title, text and tag matches apart


@click.command("match")
@config_option(
    "config_file", help_text="Config file: its watchlists, ignore lists and threshold are used."
)
@click.option(
    "--watchlists",
    "watchlist_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Watchlist file or directory of *.yaml/*.yml (repeatable); no config file needed.",
)
@click.option(
    "--threshold",
    type=click.IntRange(0, 100),
    default=None,
    help="Lowest score (0-100) reported [default: the config's, else 90].",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article per line.")
@click.option(
    "--explain",
    is_flag=True,
    help="Say why each match was made; without INPUT, list the names each entry is found by.",
)
@click.option(
    "--entry",
    "entry_keys",
    multiple=True,
    metavar="LIST/ID",
    help="With --explain and no INPUT: only these entries (repeatable) [default: all].",
)
@click.argument("inputs", nargs=-1, metavar="INPUT...")
def command(  # click passes every option by keyword
    *,
    config_file: Path | None,
    watchlist_paths: tuple[Path, ...],
    threshold: int | None,
    as_json: bool,
    explain: bool,
    entry_keys: tuple[str, ...],
    inputs: tuple[str, ...],
) -> None:
    """Find watchlist entries in feed, HTML or text files (``-`` reads standard input)."""
    if config_file is not None and watchlist_paths:
        raise click.UsageError("give --config or --watchlists, not both")
    if not inputs and not explain:
        raise click.UsageError("give at least one INPUT (a file, or - for standard input)")
    if entry_keys and (inputs or not explain):
        raise click.UsageError("--entry goes with --explain and no INPUT")
    compiled = _compile(config_file, watchlist_paths, threshold)
    if not inputs:
        _explain_entries(compiled, entry_keys, as_json)
        return
    why = Explainer(compiled) if explain else None
    highlight = (_BOLD, _RESET) if sys.stdout.isatty() else ("[[", "]]")
    for source in inputs:
        for document in _documents(source):
            found = match(document.text, compiled)
            if as_json:
                click.echo(json.dumps(_json(document, found, why), ensure_ascii=False))
            else:
                click.echo(_report(document, found, highlight, why))


def _compile(
    config_file: Path | None, watchlist_paths: Sequence[Path], threshold: int | None
) -> CompiledWatchlists:
    if watchlist_paths:
        chosen = 90 if threshold is None else threshold
        # no index cache without a state dir; the word lists come from the user's cache
        return compile_lists(list(watchlist_paths), [], chosen, None).compiled
    config = load_config(config_file)
    matching = config.matching
    chosen = matching.threshold if threshold is None else threshold
    # the service's index cache, if its state dir exists (this command creates none)
    state_dir = resolved_state_dir(config)
    cache = state_dir if state_dir.is_dir() else None
    watchlists = screened_watchlists(config, state_dir)  # lists: outputs are screened too
    return compile_lists(watchlists, matching.ignore, chosen, cache).compiled


def _documents(source: str) -> Iterator[_Document]:
    body = _read(source)
    name = "<stdin>" if source == "-" else source
    head = body[:_SNIFF_BYTES]
    if _FEED_ROOT.search(head):
        parsed = parse_document(body, {}, name)
        for item in parsed.items:
            article = item.article
            guid = item.key.removeprefix("guid:") if item.key.startswith("guid:") else ""
            yield _Document(
                guid or article.link or name,
                article.title,
                article.link,
                article.full_text,
                article,
            )
        return
    text, _ = decode_document(body)
    if _HTML.search(head):
        text = html_to_text(text)
    text = repair_mojibake(text)
    yield _Document(name, "", "", text)


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise WatcherError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _json(
    document: _Document, found: list[Match], why: Explainer | None = None
) -> dict[str, object]:
    matches = [{**m.to_json(), "field": _field(document, m)} for m in found]
    if why is not None:
        for m, out in zip(found, matches, strict=True):
            out["explain"] = why.match(m)
    return {"id": document.id, "title": document.title, "link": document.link, "matches": matches}


def _field(document: _Document, found: Match) -> Field:
    """Where the match stands: ``title``, ``text`` or ``tag`` (a file's whole text is text)."""
    return document.article.field_at(found.start) if document.article else "text"


def _report(
    document: _Document,
    found: list[Match],
    highlight: tuple[str, str],
    why: Explainer | None = None,
) -> str:
    heading = document.id + (f": {document.title}" if document.title else "")
    lines = [heading]
    if not found:
        lines.append("  no matches")
    for m in found:
        mentions = f", {m.mentions} mentions" if m.mentions > 1 else ""
        lines.append(
            f"  [{m.severity}] {m.list_name}/{m.entry_id} {m.name} "
            f"(as {m.alias!r}, score {m.score}{mentions})"
        )
        lines.append("    " + snippet(document.text, m.start, m.end, marks=highlight))
        if why is not None:
            lines += [f"    {line}" for line in why.lines(m)]
        if m.also or why is not None:
            lines.append("    listed on: " + ", ".join(listed_on(m.list_name, m.entry_id, m.also)))
    return "\n".join(lines)


def _explain_entries(compiled: CompiledWatchlists, keys: Sequence[str], as_json: bool) -> None:
    why = Explainer(compiled)
    chosen = why.entries(keys)
    for entry in chosen:
        if as_json:
            click.echo(json.dumps(why.entry(entry), ensure_ascii=False))
        else:
            click.echo(f"{entry.key} {entry.name} [{entry.type}]")
            click.echo("\n".join(f"  {line}" for line in why.entry_lines(entry)))
