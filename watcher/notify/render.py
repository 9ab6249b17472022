"""Rendering digests and alerts to email messages: pure functions, no clock, no I/O but templates.

Everything volatile (the time, the ids, the recipients) comes in through `RenderSettings` and
the arguments, so the same input always renders the same bytes (golden tests rely on it).
Feed content is untrusted: HTML templates autoescape, header values are forced onto one line,
and only http(s) links become anchors.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from watcher.config.schema import Config
from watcher.config.watchlist import Severity
from watcher.errors import WatcherError
from watcher.matching.cards import listed_on
from watcher.notify.notice import FeedProblem, PendingMatch

BUNDLED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # watcher/templates
TEMPLATE_NAMES = ("digest.html.j2", "digest.txt.j2", "alert.html.j2", "alert.txt.j2")
MAX_DIGEST_PARTS = 10  # beyond this, the rest waits for the next digest (nothing is dropped)
SUBJECT_MAX = 180
SUMMARY_ENTRIES = 8  # entries named in the summary; the rest are counted ("and 12 more")
CHART_DAYS = 30  # the per-entry chart: mentions per day over this many days, today last
CHART_HEIGHT = 24  # pixels of the tallest bar
SPARKS = "▁▂▃▄▅▆▇█"  # the text part's bars, lowest to highest
# One item is bounded whatever the feed sent, so a part stays near `max_bytes` (one huge
# item once made a part four times the limit): longer values are cut with a visible note.
TITLE_MAX = 300
NAME_MAX = 200  # entry names, aliases, the matched text, feed names
CONTEXT_MAX = 240  # snippet text on either side of the highlighted mention
WHY_MAX = 160  # why a match was made (`Match.why`): a listed title can be long
LIST_MAX = 8  # feeds or programs listed for one item; the rest are counted
DETAIL_MAX = 500  # a feed problem's detail and URL
LINK_MAX = 2000  # longer links are shown as no link at all
SEVERITY_ORDER = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
_SPACE = re.compile(r"\s+")


class TemplateError(WatcherError):
    pass


@dataclass(frozen=True)
class RenderSettings:
    """Everything a rendering depends on besides the matches themselves."""

    sender: str
    recipients: tuple[str, ...]
    subject_prefix: str
    timezone: str
    now: datetime  # timezone-aware
    templates: Path | None = None  # user templates, tried before the bundled ones
    max_bytes: int = 100_000

    @classmethod
    def from_config(cls, config: Config, now: datetime) -> RenderSettings:
        return cls(
            sender=config.email.from_,
            recipients=config.email.to,
            subject_prefix=config.email.subject_prefix,
            timezone=config.digest.timezone,
            now=now,
            templates=config.email.templates,
            max_bytes=config.digest.max_bytes,
        )


@dataclass(frozen=True)
class MentionHistory:
    """Mentions per day of each entry over the `CHART_DAYS` days up to today (in the
    digest's time zone), oldest first, by entry key (``list/entry``). Entries not in it get
    no chart."""

    counts: Mapping[str, tuple[int, ...]]


NO_HISTORY = MentionHistory({})


@dataclass(frozen=True)
class DigestPart:
    """One message of a digest and the matches it lists."""

    message: EmailMessage
    match_ids: tuple[int, ...]
    part: int = 1
    parts: int = 1
    left_over: int = 0  # matches that did not fit in any part: they stay pending


# --- public API ---------------------------------------------------------------------------


def split_digest(
    matches: Sequence[PendingMatch],
    feed_health: Sequence[FeedProblem],
    settings: RenderSettings,
    digest_id: str,
    new_entries: frozenset[str] = frozenset(),
    *,
    history: MentionHistory = NO_HISTORY,
    unlisted: int = 0,
    list_changes: Sequence[dict[str, Any]] = (),
) -> list[DigestPart]:
    """The digest as one message, or several parts each under `settings.max_bytes`.

    `new_entries` holds the keys (``list/entry``) of entries no earlier digest listed;
    `history` the per-entry mentions per day for the charts; `unlisted` the pending
    matches after `matches` that were not even read (a backlog longer than a digest can
    list): the last part counts them with the ones left over; `list_changes` the "List
    changes" section (`watcher.lists.digest`), shown in the first part.

    Sizes are found by trial renders of prefixes (templates are the user's: nothing else
    knows how long a rendered match is), searched by interpolation (`_largest_fitting`): a
    few renders near each part's size instead of a render of the whole backlog plus a
    bisection from one match up.
    """
    ordered = sort_for_digest(matches)
    views = _Views(settings, history)
    summary = _summary(ordered, new_entries)
    subject = _digest_subject(ordered, settings, (1, 1))

    def whole_prefix(count: int) -> EmailMessage:  # the one-message digest of ordered[:count]
        return _digest_message(
            ordered[:count],
            feed_health,
            views,
            digest_id,
            summary=summary,
            subject=subject,
            part=(1, 1),
            left_over=unlisted,
            list_changes=list_changes,
        )

    whole = _Trials(whole_prefix)
    if _fits_whole(whole, len(ordered), settings.max_bytes):
        message = whole.message(len(ordered))
        return [DigestPart(message, tuple(m.id for m in ordered), left_over=unlisted)]
    chunks: list[list[PendingMatch]] = []
    rest = list(ordered)
    guess = whole.last_fitting()
    worst = _worst_summary(ordered, new_entries)
    while rest and len(chunks) < MAX_DIGEST_PARTS:
        fits = _largest_fitting_prefix(
            rest,
            feed_health,
            views,
            digest_id,
            everything=ordered,
            summary=worst,
            guess=guess,
            unlisted=unlisted,
            list_changes=() if chunks else list_changes,  # shown in part 1 only
        )
        chunks.append(rest[:fits])
        rest = rest[fits:]
        guess = fits  # parts come out about the same size: start the next search there
    count = len(chunks)
    listed = [m for chunk in chunks for m in chunk]
    return [
        DigestPart(
            _digest_message(
                chunk,
                feed_health if index == 1 else (),
                views,
                digest_id,
                # part 1 gives the overview; later parts name only the entries they list
                summary=_summary(listed, new_entries, entries_of=None if index == 1 else chunk),
                subject=_digest_subject(listed, settings, (index, count)),
                part=(index, count),
                left_over=len(rest) + unlisted if index == count else 0,
                list_changes=list_changes if index == 1 else (),
            ),
            tuple(m.id for m in chunk),
            index,
            count,
            len(rest) + unlisted if index == count else 0,
        )
        for index, chunk in enumerate(chunks, start=1)
    ]


def _digest_message(
    ordered: Sequence[PendingMatch],
    feed_health: Sequence[FeedProblem],
    views: _Views,
    digest_id: str,
    *,
    summary: dict[str, Any],
    subject: str,
    part: tuple[int, int],
    left_over: int,
    list_changes: Sequence[dict[str, Any]] = (),
) -> EmailMessage:
    settings = views.settings
    context = _digest_context(ordered, summary, feed_health, views, part=part, left_over=left_over)
    context["list_changes"] = list(list_changes)  # official-list updates (watcher.lists)
    context["subject"] = subject
    context["digest_id"] = digest_id
    message = _message(
        settings, subject, "digest", _message_id("digest", digest_id, part, settings)
    )
    message["X-Sanctions-Watch-Digest-Id"] = _one_line(digest_id, 200)
    _set_body(message, settings, "digest", context)
    return message


def chart_window(now: datetime, timezone: str) -> tuple[float, int]:
    """Where the per-entry charts start (unix time of local midnight `CHART_DAYS - 1` days
    before today, in `timezone`) and how many days they span. Days are counted as 86,400 s
    from there: around a DST change a mention near midnight may land in the next day."""
    today = now.astimezone(_zone_named(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=CHART_DAYS - 1)
    return first.timestamp(), CHART_DAYS


def render_alert(
    matches: Sequence[PendingMatch], settings: RenderSettings, alert_id: str, *, more: int = 0
) -> EmailMessage:
    """One immediate message for severe matches: usually one entry's newest articles (with
    the other severe entries those articles mention), newest article first. `more`: how many
    further matches of the first match's entry it does not list (the next digest does)."""
    if not matches:
        raise ValueError("an alert needs at least one match")
    ordered = sort_for_digest(matches)
    articles = _alert_articles(matches, settings)
    first = ordered[0]
    names = ", ".join(dict.fromkeys(m.name for m in [matches[0], *ordered]))  # its entry first
    about = first.title if len(articles) == 1 else f"{len(articles)} articles"
    subject = _one_line(
        f"{settings.subject_prefix} ALERT {first.severity}: {names} — {about}", SUBJECT_MAX
    )
    context: dict[str, Any] = {
        "subject": subject,
        "alert_id": alert_id,
        "articles": articles,
        "more": more,
        "more_of": _clean(matches[0].name),
        # the first article and every hit, as templates written before coalescing read them
        "article": _article_view(first, settings),
        "hits": [_item_view(m, settings) for m in ordered],
        "generated": _local(settings.now, settings).strftime("%Y-%m-%d %H:%M %Z"),
    }
    message = _message(settings, subject, "alert", _message_id("alert", alert_id, (1, 1), settings))
    message["X-Sanctions-Watch-Alert-Id"] = _one_line(alert_id, 200)
    message["X-Sanctions-Watch-Severity"] = str(first.severity)
    _set_body(message, settings, "alert", context)
    return message


def _alert_articles(
    matches: Sequence[PendingMatch], settings: RenderSettings
) -> list[dict[str, Any]]:
    """The alert's articles, newest first, each with its hits in digest order."""
    newest = sorted(
        matches, key=lambda m: ((m.published or m.found_at).timestamp(), m.id), reverse=True
    )
    by_article: dict[str, list[PendingMatch]] = {}
    for match in newest:
        by_article.setdefault(match.article_id, []).append(match)
    return [
        {
            **_article_view(of_article[0], settings),
            "hits": [_item_view(m, settings) for m in sort_for_digest(of_article)],
        }
        for of_article in by_article.values()
    ]


def render_test_message(settings: RenderSettings, test_id: str) -> EmailMessage:
    """The `watcher send-test` message: proves the delivery path, lists no matches."""
    subject = f"{settings.subject_prefix} test message"
    message = _message(settings, subject, "test", _message_id("test", test_id, (1, 1), settings))
    when = _local(settings.now, settings).strftime("%Y-%m-%d %H:%M %Z")
    message.set_content(
        f"This is a test message from sanctions-watch, sent {when}.\n"
        "If you can read it, digests and alerts will reach this mailbox.\n",
        cte="quoted-printable",
    )
    return message


def sort_for_digest(matches: Sequence[PendingMatch]) -> list[PendingMatch]:
    """Severity (high first), then entry name, then newest article first."""
    by_time = sorted(matches, key=lambda m: (m.published or m.found_at).timestamp(), reverse=True)
    return sorted(by_time, key=lambda m: (-m.severity.rank, m.name.casefold(), m.entry_key))


def message_size(message: EmailMessage) -> int:
    return len(message.as_bytes(policy=SMTP))


# --- view models (plain dicts the templates read) ------------------------------------------


def _digest_context(
    ordered: Sequence[PendingMatch],
    summary: dict[str, Any],
    feed_health: Sequence[FeedProblem],
    views: _Views,
    *,
    part: tuple[int, int],
    left_over: int,
) -> dict[str, Any]:
    settings = views.settings
    # back-screened hits of newly listed entries get their own section, not the usual groups
    rescreened = [m for m in ordered if m.origin == "rescreen"]
    ordered = [m for m in ordered if m.origin != "rescreen"] if rescreened else ordered
    return {
        "generated": _local(settings.now, settings).strftime("%Y-%m-%d %H:%M %Z"),
        "date": _local(settings.now, settings).strftime("%Y-%m-%d"),
        "summary": summary,
        "groups": _severity_groups(ordered, views),
        "rescreened": _severity_groups(rescreened, views),
        "feed_problems": [_problem_view(p, settings) for p in feed_health],
        "part": part[0],
        "parts": part[1],
        "left_over": left_over,
        "chart_days": CHART_DAYS,
    }


def _summary(
    matches: Sequence[PendingMatch],
    new_entries: frozenset[str] = frozenset(),
    *,
    entries_of: Sequence[PendingMatch] | None = None,
) -> dict[str, Any]:
    """Totals over `matches`; the entries named are those of `entries_of` (default: all of
    `matches`), the most severe and most mentioned first, `SUMMARY_ENTRIES` of them."""
    counts = {str(s): sum(1 for m in matches if m.severity == s) for s in SEVERITY_ORDER}
    named = _entry_counts(matches if entries_of is None else entries_of, new_entries)
    return {
        "total": len(matches),
        "counts": counts,
        "articles": len({m.article_id for m in matches}),
        "entries": named[:SUMMARY_ENTRIES],
        "more_entries": max(0, len(named) - SUMMARY_ENTRIES),
        "entries_in_part": entries_of is not None,  # later parts: "in this part"
        "new_entries": len({m.entry_key for m in matches if m.entry_key in new_entries}),
        "alerted": sum(1 for m in matches if m.alerted_at is not None),
        "held_by_cap": sum(1 for m in matches if m.alert_held == "cap"),
        "too_old_to_alert": sum(1 for m in matches if m.alert_held == "old"),
    }


def _entry_counts(
    matches: Sequence[PendingMatch], new_entries: frozenset[str]
) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for m in matches:
        entry = entries.setdefault(
            m.entry_key,
            {
                "name": _shorten(_clean(m.name), NAME_MAX),
                "severity": str(m.severity),
                "rank": m.severity.rank,
                "count": 0,
                "new": m.entry_key in new_entries,
            },
        )
        entry["count"] += 1
    return sorted(entries.values(), key=lambda e: (-e["rank"], -e["count"], e["name"].casefold()))


def _worst_summary(
    everything: Sequence[PendingMatch], new_entries: frozenset[str]
) -> dict[str, Any]:
    """A summary at least as long as any part's own: for sizing parts before they are known
    (the longest names, every one marked new, with the largest count)."""
    summary = _summary(everything, new_entries)
    named = _entry_counts(everything, new_entries)
    longest = sorted(named, key=lambda e: -len(e["name"]))[:SUMMARY_ENTRIES]
    summary["entries"] = [{**e, "new": True, "count": len(everything)} for e in longest]
    summary["more_entries"] = len(named)
    summary["entries_in_part"] = True
    return summary


def _severity_groups(ordered: Sequence[PendingMatch], views: _Views) -> list[dict[str, Any]]:
    groups = []
    for severity, of_severity in groupby(ordered, key=lambda m: m.severity):
        matches = list(of_severity)
        entries = [
            views.entry(list(of_entry))
            for _, of_entry in groupby(matches, key=lambda m: m.entry_key)
        ]
        groups.append({"severity": str(severity), "count": len(matches), "entries": entries})
    return groups


def _listed_on(match: PendingMatch) -> list[str]:
    """Every list the entity is on (``ofac ofac-35096``), when it is on more than one."""
    if not match.also:
        return []
    return [_clean(x) for x in listed_on(match.list_name, match.entry_id, match.also)]


class _Views:
    """Each match's and entry's view, built once per digest however many trial renders list
    it (the templates only read them)."""

    def __init__(self, settings: RenderSettings, history: MentionHistory = NO_HISTORY) -> None:
        self.settings = settings
        self.history = history
        self._items: dict[int, dict[str, Any]] = {}
        self._charts: dict[str, dict[str, Any] | None] = {}

    def item(self, match: PendingMatch) -> dict[str, Any]:
        view = self._items.get(match.id)
        if view is None:
            view = self._items[match.id] = _item_view(match, self.settings)
        return view

    def entry(self, matches: list[PendingMatch]) -> dict[str, Any]:
        first = matches[0]
        key = first.entry_key
        if key not in self._charts:
            counts = self.history.counts.get(key)
            self._charts[key] = None if counts is None else mention_chart(counts, self.settings)
        return {
            "name": _shorten(_clean(first.name), NAME_MAX),
            "key": _shorten(_clean(key), NAME_MAX),
            "type": _clean(first.type),
            "severity": str(first.severity),
            "programs": _listed(first.programs, NAME_MAX),
            "listed_on": _listed_on(next((m for m in matches if m.also), first)),
            "chart": self._charts[key],
            "hits": [self.item(m) for m in matches],
        }


BAR_WIDTH = 6  # pixels per day, plus a pixel between days


def mention_chart(counts: Sequence[int], settings: RenderSettings) -> dict[str, Any]:
    """The chart of one entry's mentions per day (oldest first, today last): bars scaled to
    the busiest day (`CHART_HEIGHT` pixels), a sparkline for the text part, and the figures
    an analyst reads first. Pure: the templates draw the bars as table cells. A run of days
    without mentions is one thin bar as wide as the run (most entries are quiet most days,
    and a cell per day would make a chart weigh kilobytes)."""
    peak = max(counts, default=0)
    first_day = _local(settings.now, settings).date() - timedelta(days=len(counts) - 1)
    bars: list[dict[str, Any]] = []
    for offset, count in enumerate(counts):
        if not count and bars and not bars[-1]["count"]:
            bars[-1]["days"] += 1
            bars[-1]["width"] += BAR_WIDTH + 1
            continue
        day = first_day + timedelta(days=offset)
        height = 0 if not count else max(2, round(count / peak * CHART_HEIGHT))
        bars.append(
            {
                "count": count,
                "height": height,
                "days": 1,
                "width": BAR_WIDTH,
                "day": day.strftime("%b %-d"),
            }
        )
    return {
        "bars": bars,
        "total": sum(counts),
        "today": counts[-1] if counts else 0,
        "peak": peak,
        "height": CHART_HEIGHT,
        "days": len(counts),
        "spark": sparkline(counts),
        "first": first_day.strftime("%b %-d"),
    }


def sparkline(counts: Sequence[int]) -> str:
    """One character per day, ``▁`` (none) to ``█`` (the busiest day); a day with any
    mention is never drawn as none."""
    peak = max(counts, default=0)
    if not peak:
        return SPARKS[0] * len(counts)
    top = len(SPARKS) - 1
    return "".join(SPARKS[0] if not c else SPARKS[max(1, round(c / peak * top))] for c in counts)


def _item_view(match: PendingMatch, settings: RenderSettings) -> dict[str, Any]:
    before, hit, after = _highlight(_clean(match.snippet), _clean(match.text))
    short_before, short_hit, short_after = (
        _shorten(before, CONTEXT_MAX, left=True),
        _shorten(hit, NAME_MAX),
        _shorten(after, CONTEXT_MAX),
    )
    article = _article_view(match, settings)
    alias, matched = _shorten(_clean(match.alias), NAME_MAX), _shorten(_clean(match.text), NAME_MAX)
    cut = (short_before, short_hit, short_after) != (before, hit, after)
    return {
        **article,
        "entry": _shorten(_clean(match.name), NAME_MAX),
        "entry_key": _shorten(_clean(match.entry_key), NAME_MAX),
        "severity": str(match.severity),
        "programs": _listed(match.programs, NAME_MAX),
        "listed_on": _listed_on(match),
        "alias": alias,
        "matched": matched,
        "why": _shorten(_clean(match.why), WHY_MAX),
        "score": match.score,
        "before": short_before,
        "hit": short_hit,
        "after": short_after,
        "alerted": match.alerted_at is not None,
        # a note when anything shown was cut short (the article link has it all)
        "shortened": cut or article["shortened"] or alias != _clean(match.alias),
    }


def _article_view(match: PendingMatch, settings: RenderSettings) -> dict[str, Any]:
    published = match.published
    title = _clean(match.title)
    feeds = _listed(match.feeds, NAME_MAX)
    link = _safe_link(match.link)
    return {
        "title": _shorten(title, TITLE_MAX) or "(untitled)",
        "link": link,
        "feeds": feeds or ["(unknown feed)"],
        "published": _local(published, settings).strftime("%Y-%m-%d %H:%M %Z")
        if published
        else "date unknown",
        "shortened": len(title) > TITLE_MAX or (bool(match.link) and not link),
    }


def _problem_view(problem: FeedProblem, settings: RenderSettings) -> dict[str, Any]:
    return {
        "name": _shorten(_clean(problem.name) or _clean(problem.url), NAME_MAX),
        "url": _shorten(_clean(problem.url), DETAIL_MAX),
        "state": problem.state,
        "detail": _shorten(_clean(problem.detail), DETAIL_MAX),
        "since": _local(problem.since, settings).strftime("%Y-%m-%d %H:%M %Z")
        if problem.since
        else "",
    }


def _highlight(snippet: str, text: str) -> tuple[str, str, str]:
    """Split the snippet around the matched text: its first occurrence that stands as whole
    words (``Putin`` inside ``Rasputin`` is not the mention), else its first occurrence at
    all; case-insensitive when the exact text is not there."""
    if not text:
        return snippet, "", ""
    haystack, needle = snippet, text
    if snippet.find(text) < 0 and len(snippet.casefold()) == len(snippet):
        haystack, needle = snippet.casefold(), text.casefold()
    found = [m.start() for m in re.finditer(re.escape(needle), haystack)]
    if not found:
        return snippet, "", ""
    whole = [at for at in found if _stands_alone(haystack, at, at + len(needle))]
    at = (whole or found)[0]
    return snippet[:at], snippet[at : at + len(text)], snippet[at + len(text) :]


def _stands_alone(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (
        end == len(text) or not text[end].isalnum()
    )


def _shorten(text: str, limit: int, *, left: bool = False) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis where it was
    cut (`left`: keep the end, as for the context before a mention)."""
    if len(text) <= limit:
        return text
    if left:
        kept = text[len(text) - limit + 1 :]
        space = kept.find(" ")
        return "…" + (kept[space + 1 :] if 0 <= space < limit // 4 else kept)
    kept = text[: limit - 1]
    space = kept.rfind(" ")
    return (kept[:space] if space > limit * 3 // 4 else kept) + "…"


def _listed(values: Sequence[str], limit: int) -> list[str]:
    """Up to `LIST_MAX` values for display, each shortened, and how many more there were."""
    shown = [_shorten(_clean(v), limit) for v in values[:LIST_MAX]]
    if len(values) > LIST_MAX:
        shown.append(f"and {len(values) - LIST_MAX} more")
    return shown


# --- messages ------------------------------------------------------------------------------


def _message(settings: RenderSettings, subject: str, kind: str, message_id: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = _one_line(subject, SUBJECT_MAX)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients) or "undisclosed-recipients:;"
    message["Date"] = format_datetime(settings.now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["List-Id"] = f"sanctions-watch <sanctions-watch.{_domain(settings)}>"
    message["X-Sanctions-Watch-Kind"] = kind
    return message


def _set_body(
    message: EmailMessage, settings: RenderSettings, kind: str, context: dict[str, Any]
) -> None:
    env = _environment(settings.templates)
    text = _render(env, f"{kind}.txt.j2", context)
    html = _render(env, f"{kind}.html.j2", context)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or name}:{exc.lineno}"
        raise TemplateError(f"{where}: template syntax error: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {name} not found (bundled: {BUNDLED_TEMPLATES})") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {name}: {exc.message}") from exc


@lru_cache(maxsize=8)
def _environment(user_templates: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None:
        loaders.append(jinja2.FileSystemLoader(user_templates))
    loaders.append(jinja2.FileSystemLoader(BUNDLED_TEMPLATES))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # templates are named *.html.j2 / *.txt.j2: escape the HTML ones, never the text ones
        autoescape=lambda name: name is not None and ".html" in name,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _message_id(kind: str, ident: str, part: tuple[int, int], settings: RenderSettings) -> str:
    local = re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}.{ident}.{part[0]}")
    return f"<{local}@{_domain(settings)}>"


def _domain(settings: RenderSettings) -> str:
    address = parseaddr(settings.sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain).strip(".")
    return domain or "sanctions-watch.invalid"


def _digest_subject(
    matches: Sequence[PendingMatch], settings: RenderSettings, part: tuple[int, int]
) -> str:
    total = len(matches)
    high = sum(1 for m in matches if m.severity == Severity.HIGH)
    counted = f"{total} match" if total == 1 else f"{total} matches"
    if not total:
        counted = "no new matches"
    elif high:
        counted += f" ({high} high)"
    date = _local(settings.now, settings).strftime("%Y-%m-%d")
    suffix = f" (part {part[0]}/{part[1]})" if part[1] > 1 else ""
    return f"{settings.subject_prefix} {counted} — {date}{suffix}"


def _largest_fitting_prefix(
    rest: Sequence[PendingMatch],
    feed_health: Sequence[FeedProblem],
    views: _Views,
    digest_id: str,
    *,
    everything: Sequence[PendingMatch],
    summary: dict[str, Any],
    guess: int,
    unlisted: int,
    list_changes: Sequence[dict[str, Any]],
) -> int:
    """How many of `rest` fit in one part (at least one, always)."""
    # `summary` is the worst case of any part's own, and so are the worst part number and
    # the left-over note: safe sizes
    worst = (MAX_DIGEST_PARTS, MAX_DIGEST_PARTS)
    settings = views.settings
    subject = _digest_subject(everything, settings, worst)

    def trial(count: int) -> EmailMessage:
        return _digest_message(
            rest[:count],
            feed_health,
            views,
            digest_id,
            summary=summary,
            subject=subject,
            part=worst,
            left_over=len(everything) + unlisted,
            list_changes=list_changes,
        )

    return _largest_fitting(_Trials(trial), len(rest), settings.max_bytes, guess)


class _Trials:
    """Trial renders of prefixes, each rendered and measured at most once."""

    def __init__(self, render: Callable[[int], EmailMessage]) -> None:
        self._render = render
        self._messages: dict[int, EmailMessage] = {}
        self.sizes: dict[int, int] = {}

    def size(self, count: int) -> int:
        if count not in self.sizes:
            message = self._messages[count] = self._render(count)
            self.sizes[count] = message_size(message)
        return self.sizes[count]

    def message(self, count: int) -> EmailMessage:
        self.size(count)
        return self._messages[count]

    def forget_larger(self, limit: int) -> None:
        self.sizes = {c: s for c, s in self.sizes.items() if s <= limit}

    def last_fitting(self) -> int:
        """The largest count measured (after `forget_larger`: that fit; 0: none)."""
        return max(self.sizes, default=0)


FIRST_TRIAL = 32  # matches in the first trial render: a typical 100 KB part holds 40-60


def _fits_whole(trials: _Trials, count: int, limit: int) -> bool:
    """Whether all `count` matches fit in one message: render prefixes growing towards the
    predicted limit until one does not fit (proof: the whole is longer still) or the whole
    does. A small digest is rendered exactly once, as before."""
    if count <= 1:
        return True
    probe = min(count, FIRST_TRIAL)
    while trials.size(probe) <= limit:
        if probe == count:
            return True
        predicted = _predict(trials.sizes, probe, limit)
        probe = min(count, max(probe + 1, predicted + 1))  # just past the predicted limit
    trials.forget_larger(limit)  # what fit is a hint for the parts' sizes
    return False


def _largest_fitting(trials: _Trials, count: int, limit: int, guess: int) -> int:
    """The largest n in 1..count with trials.size(n) <= limit (1 if none: a part lists at
    least one match), given sizes that grow with n. Interpolation between the closest known
    sizes on either side of the limit lands within a match or two of the answer; after a few
    steps plain bisection takes over, so an odd template cannot make the search slow."""
    good, bad = 0, count + 1  # known to fit / known not to (0 and count+1: by definition)
    probe = min(max(guess, 1), count)
    for step in itertools.count():
        if trials.size(probe) <= limit:
            good = probe
        else:
            bad = probe
        if bad - good <= 1:
            break
        if step >= 4:
            probe = (good + bad) // 2
        elif good and bad <= count:
            span = trials.sizes[bad] - trials.sizes[good]
            probe = good + (limit - trials.sizes[good]) * (bad - good) // max(span, 1)
        elif good:
            probe = _predict(trials.sizes, good, limit)
        else:
            probe = bad * limit // max(trials.sizes[bad], 1)
        probe = min(max(probe, good + 1), bad - 1)
    return max(good, 1)


def _predict(sizes: dict[int, int], known: int, limit: int) -> int:
    """The count whose size would reach `limit`, extrapolated from the measured sizes."""
    below = [c for c in sizes if c < known]
    if below:
        other = max(below)
        per_match = (sizes[known] - sizes[other]) / (known - other)
    else:
        per_match = sizes[known] / known  # includes the fixed part: errs low, never past
    return known + int((limit - sizes[known]) // max(per_match, 1.0))


# --- small text helpers --------------------------------------------------------------------


def _zone(settings: RenderSettings) -> ZoneInfo:
    return _zone_named(settings.timezone)


@lru_cache(maxsize=16)
def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WatcherError(f"digest.timezone: unknown time zone {name!r}") from exc


def _local(moment: datetime, settings: RenderSettings) -> datetime:
    return moment.astimezone(_zone(settings))


@lru_cache(maxsize=8192)
def _clean(value: str) -> str:
    """Feed text for display: control and format characters out, whitespace collapsed."""
    kept = "".join(_display_char(ch) for ch in value)
    return _SPACE.sub(" ", kept).strip()


def _display_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category in {"Cc", "Zl", "Zp"}:  # line breaks and controls: a space
        return " "
    if category == "Cf" and ch not in "\u200c\u200d":  # bidi overrides, soft hyphens...
        return ""
    return ch


def _one_line(value: str, limit: int) -> str:
    text = _clean(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe_link(link: str) -> str:
    """Only absolute http(s) links become anchors (no javascript:, data:, mailto: ...)."""
    link = link.strip()
    if len(link) <= LINK_MAX and re.match(r"(?i)^https?://[^\s\"'<>]+$", link):
        return link
    return ""
