"""Pure rendering: golden files, message structure, escaping, header safety, size limits."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import tomllib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from notifier_samples import NOW, digest_message, sample_matches, sample_problems, settings

from watcher.config.watchlist import Entry, Severity
from watcher.lists.diff import diff_entries
from watcher.lists.digest import list_change_views
from watcher.lists.state import ListChangeRow
from watcher.notify.notice import PendingMatch
from watcher.notify.render import (
    BUNDLED_TEMPLATES,
    CHART_HEIGHT,
    SUMMARY_ENTRIES,
    TEMPLATE_NAMES,
    MentionHistory,
    TemplateError,
    mention_chart,
    message_size,
    render_alert,
    sparkline,
    split_digest,
)
from watcher.service.once import run_once
from watcher.state.sqlite import Store

GOLDEN = Path(__file__).parent / "golden"


def _reparse(message: EmailMessage) -> EmailMessage:
    """What a receiving client sees: the wire bytes parsed back."""
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _masked(message: EmailMessage, volatile: tuple[str, ...] = ()) -> str:
    """Headers (volatile ones masked) plus both decoded bodies: a readable, stable golden.
    Each string in `volatile` (a random digest id) is masked wherever it appears."""
    parsed = _reparse(message)
    lines = []
    for name, value in parsed.items():
        shown = f"<{name} masked>" if name in {"Message-ID", "Date"} else str(value)
        shown = re.sub(r'boundary="[^"]+"', 'boundary="<masked>"', shown)
        lines.append(f"{name}: {shown}")
    for kind in ("plain", "html"):
        body = parsed.get_body((kind,))
        assert body is not None, kind
        lines.append(f"\n===== text/{kind} =====")
        lines.append(body.get_content())
    text = "\n".join(lines).replace("\r\n", "\n")
    for value in volatile:
        text = text.replace(value, "<masked>")
    return text


GOLDEN_NOW = datetime(2025, 10, 23, 7, 0, tzinfo=UTC).timestamp()
GOLDEN_CONFIG = """\
state_dir: state
watchlists: [{input}/watchlist.yaml]
feeds:
  - url: {input_uri}/wire.xml
    name: Example Wire
    backfill: true
  - url: {missing_uri}
    name: Broken Feed
polling:
  allow_private_networks: false
digest:
  timezone: Europe/Berlin
  alert_severity: high
email:
  from: "sanctions-watch <watch@example.org>"
  to: [analyst@example.org, desk@example.org]
  delivery: directory
  directory: outbox
"""


def _production_digest(tmp_path: Path) -> EmailMessage:
    """The digest `watcher run --once` queues for the golden input feed (one broken feed
    beside it), as the outbox would send it."""
    source = GOLDEN / "input"
    config = tmp_path / "config.yaml"
    config.write_text(
        GOLDEN_CONFIG.format(
            input=source,
            input_uri=source.as_uri(),
            missing_uri=(tmp_path / "missing.xml").as_uri(),
        )
    )
    asyncio.run(run_once(config, now=GOLDEN_NOW))
    store = Store(tmp_path / "state")
    try:
        with store.snapshot() as tx:
            digests = tx.outbox_messages("digest")
    finally:
        store.close()
    assert len(digests) == 1
    parsed = message_from_bytes(digests[0].data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the change is intended, "
        "rerun with UPDATE_GOLDEN=1 and review the diff"
    )


def test_digest_matches_golden_file(tmp_path: Path) -> None:
    """Through the production path: feed and config in, the queued digest mail out."""
    message = _production_digest(tmp_path)
    digest_id = str(message["X-Sanctions-Watch-Digest-Id"])
    _check_golden("digest.txt", _masked(message, volatile=(digest_id, str(tmp_path))))


def test_alert_matches_golden_file() -> None:
    message = render_alert(sample_matches()[:2], settings(), "20251022T100100Z-y")
    _check_golden("alert.txt", _masked(message))


def test_digest_is_well_formed_multipart_alternative() -> None:
    message = _reparse(digest_message(sample_matches(), sample_problems(), settings(), "d1"))
    assert message.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]  # plain first: clients prefer the last
    assert message["Subject"] == "[sanctions-watch] 5 matches (3 high) — 2025-10-23"
    assert message["From"] == "sanctions-watch <watch@example.org>"
    assert message["To"] == "analyst@example.org, desk@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Id"] == "sanctions-watch <sanctions-watch.example.org>"
    assert message["X-Sanctions-Watch-Kind"] == "digest"
    assert message["X-Sanctions-Watch-Digest-Id"] == "d1"
    assert message["Message-ID"] == "<digest.d1.1@example.org>"
    assert message["Date"].datetime == NOW
    html = message.get_body(("html",)).get_content()
    assert "<script" not in html.lower()
    assert "max-width:680px" in html  # one readable column on phones and desktops
    raw = message.as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 998  # RFC 5322 line limit


def test_digest_orders_high_first_and_marks_alerted_matches() -> None:
    text = digest_message(sample_matches(), [], settings(), "d1").get_body(("plain",))
    body = text.get_content()
    high, medium, low = (body.index(f"== {s} SEVERITY") for s in ("HIGH", "MEDIUM", "LOW"))
    assert high < medium < low
    assert body.count("already alerted") == 2
    assert "[[Lavrov's]]" in body  # the matched text, highlighted inside its snippet
    assert "FEED HEALTH" not in body  # no feed problems given, no section


def test_digest_shows_times_in_the_configured_timezone() -> None:
    body = digest_message(sample_matches(), [], settings(), "d").get_body(("plain",)).get_content()
    assert "Generated 2025-10-23 09:00 CEST" in body  # 07:00 UTC in Berlin
    tokyo = digest_message(sample_matches(), [], settings(timezone="Asia/Tokyo"), "d")
    assert "Generated 2025-10-23 16:00 JST" in tokyo.get_body(("plain",)).get_content()


def test_markup_in_feed_content_arrives_as_text() -> None:
    evil = dataclasses.replace(
        sample_matches()[0],
        title='<script>alert("x")</script><b>Bold</b> Rosneft',
        snippet='<img src=x onerror=alert(1)> Rosneft "quoted" & more',
        link='javascript:alert("x")',
        feeds=("<i>Feed</i>",),
    )
    html = digest_message([evil], [], settings(), "d").get_body(("html",)).get_content()
    assert "<script" not in html and "<img" not in html and "<i>Feed" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html  # not a link at all
    text = digest_message([evil], [], settings(), "d").get_body(("plain",)).get_content()
    assert '<script>alert("x")</script><b>Bold</b> Rosneft' in text  # text part: verbatim


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x00"])
def test_line_breaks_in_titles_cannot_inject_headers(breaker: str) -> None:
    title = f"Rosneft news{breaker}Bcc: victim@example.com{breaker}{breaker}body"
    match = dataclasses.replace(sample_matches()[0], title=title, name=f"Rosneft{breaker}X-A: b")
    for message in (
        render_alert([match], settings(), "a1"),
        digest_message([match], [], settings(subject_prefix=f"[p]{breaker}Cc: x@y"), "d1"),
    ):
        raw = message.as_bytes(policy=policy.SMTP)
        headers = raw.split(b"\r\n\r\n", 1)[0]
        assert b"\nBcc:" not in headers and b"\nX-A:" not in headers and b"\nCc:" not in headers
        parsed = _reparse(message)
        assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["X-A"] is None
        assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


def test_alert_subject_names_entity_and_title_and_encodes_cyrillic() -> None:
    match = sample_matches()[2]  # «Роснефть» увеличила добычу
    message = render_alert([match], settings(), "a1")
    raw = message.as_bytes(policy=policy.SMTP)
    assert raw.isascii()  # non-ASCII header text travels RFC 2047-encoded
    parsed = _reparse(message)
    assert (
        parsed["Subject"] == "[sanctions-watch] ALERT high: Rosneft — «Роснефть» увеличила добычу"
    )
    assert parsed["X-Sanctions-Watch-Kind"] == "alert"
    assert "«[[Роснефть]]»" in parsed.get_body(("plain",)).get_content()


def test_rendering_is_deterministic() -> None:
    first = digest_message(sample_matches(), sample_problems(), settings(), "d").as_bytes()
    second = digest_message(sample_matches(), sample_problems(), settings(), "d").as_bytes()
    mask = re.compile(rb"=+\d+=+")  # MIME boundaries are random by design
    assert mask.sub(b"B", first) == mask.sub(b"B", second)


def test_empty_digest_says_so() -> None:
    message = digest_message([], [], settings(), "d")
    assert message["Subject"] == "[sanctions-watch] no new matches — 2025-10-23"
    assert "No new matches." in message.get_body(("plain",)).get_content()


def _many(count: int) -> list:  # type: ignore[type-arg]
    base = sample_matches()[0]
    return [
        dataclasses.replace(
            base,
            id=i,
            article_id=f"a{i}",
            title=f"Story {i} about Rosneft " + "x" * 80,
            snippet=f"… long context {i} around Rosneft " + "y" * 200 + " …",
        )
        for i in range(1, count + 1)
    ]


def test_large_digest_is_split_into_parts_under_the_limit() -> None:
    matches = _many(150)
    parts = split_digest(matches, sample_problems(), settings(max_bytes=60_000), "big")
    assert len(parts) > 1
    assert all(message_size(p.message) <= 60_000 for p in parts)
    listed = [i for p in parts for i in p.match_ids]
    assert sorted(listed) == list(range(1, 151))  # every match in exactly one part
    assert parts[-1].left_over == 0
    subjects = [p.message["Subject"] for p in parts]
    assert subjects[0].endswith(f"(part 1/{len(parts)})")
    assert all("150 matches (150 high)" in s for s in subjects)
    ids = {p.message["Message-ID"] for p in parts}
    assert len(ids) == len(parts)


def test_list_changes_section_counts_towards_the_first_parts_size() -> None:
    old = [Entry(list_name="ofac", id=f"o{i}", name=f"Old {i}") for i in range(3)]
    rows = [
        ListChangeRow(
            version,
            "ofac",
            f"v{version}",
            NOW.timestamp(),
            25,
            0,
            0,
            diff_entries(
                "ofac",
                old,
                [
                    *old,
                    *(
                        Entry(list_name="ofac", id=f"n{version}-{i}", name=f"Company {i} " * 4)
                        for i in range(25)
                    ),
                ],
            ).to_json(),
            None,
            None,
        )
        for version in range(1, 5)
    ]
    changes = list_change_views(rows, lambda at: "today")
    parts = split_digest(
        _many(150), sample_problems(), settings(max_bytes=60_000), "big", list_changes=changes
    )
    assert len(parts) > 1
    assert "List changes" in parts[0].message.get_body(("html",)).get_content()
    assert [p for p in parts if message_size(p.message) > 60_000] == []


def test_digest_beyond_the_part_cap_leaves_the_rest_pending_with_a_note() -> None:
    parts = split_digest(_many(300), [], settings(max_bytes=12_000), "huge")
    assert len(parts) == 10
    listed = sum(len(p.match_ids) for p in parts)
    assert parts[-1].left_over == 300 - listed > 0
    note = f"{300 - listed} more matches did not fit in this digest"
    assert note in parts[-1].message.get_body(("plain",)).get_content()


def test_small_digest_is_one_message() -> None:
    parts = split_digest(sample_matches(), sample_problems(), settings(), "d")
    assert len(parts) == 1 and parts[0].parts == 1
    assert sorted(parts[0].match_ids) == [1, 2, 3, 4, 5]


def test_user_templates_override_bundled_ones(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("Custom: {{ summary.total }} for {{ digest_id }}\n")
    message = digest_message(sample_matches(), [], settings(templates=tmp_path), "d9")
    assert message.get_body(("plain",)).get_content() == "Custom: 5 for d9\n"
    # the HTML part falls back to the bundled template
    assert "sanctions-watch digest" in message.get_body(("html",)).get_content()


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"alert\.txt\.j2:2: template syntax error"):
        render_alert(sample_matches()[:1], settings(templates=tmp_path), "a")


def test_bundled_templates_exist_and_top_level_folder_points_at_them() -> None:
    for name in TEMPLATE_NAMES:
        assert (BUNDLED_TEMPLATES / name).is_file()
    top = Path(__file__).resolve().parents[1] / "templates"
    assert top.resolve() == BUNDLED_TEMPLATES.resolve()


def test_bundled_templates_are_shipped_as_package_data() -> None:
    """A non-editable install (wheel) must carry them: the wheel is the whole package
    directory (hatchling; test_demo.py builds it and renders from it)."""
    root = Path(__file__).resolve().parents[1]
    with (root / "pyproject.toml").open("rb") as file:
        pyproject = tomllib.load(file)
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["watcher"]
    assert BUNDLED_TEMPLATES.resolve().is_relative_to((root / "watcher").resolve())
    assert root / "watcher" / "templates" == BUNDLED_TEMPLATES


def _entries(count: int) -> list[PendingMatch]:
    """`count` entries, entry i mentioned i % 4 + 1 times; every fifth one high severity."""
    base = sample_matches()[3]  # medium
    matches = []
    for i in range(count):
        severity = Severity.HIGH if i % 5 == 0 else Severity.MEDIUM
        for n in range(i % 4 + 1):
            matches.append(
                dataclasses.replace(
                    base,
                    id=len(matches) + 1,
                    article_id=f"e{i}-{n}",
                    entry_id=f"entry-{i:02d}",
                    name=f"Entry {i:02d}",
                    severity=severity,
                    snippet=f"… some words about Lavrov's entry {i} …" + " filler" * 20,
                )
            )
    return matches


def _summary_line(message: EmailMessage, label: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    [line] = [x for x in body.get_content().splitlines() if x.startswith(label)]
    return line


def test_summary_names_the_top_entries_by_severity_and_count_and_counts_the_rest() -> None:
    message = digest_message(_entries(24), [], settings(max_bytes=1_000_000), "d")
    line = _summary_line(message, "Most mentioned")
    named = re.findall(r"Entry (\d\d) \((\d)\)", line)
    assert len(named) == SUMMARY_ENTRIES < 24
    assert line.endswith(f"and {24 - SUMMARY_ENTRIES} more")
    # the five high-severity entries first (most mentioned first), then the busiest medium ones
    assert [n for n, _ in named[:5]] == ["15", "10", "05", "00", "20"]
    assert all(int(count) == 4 for _, count in named[5:])


def test_later_parts_name_only_their_own_entries() -> None:
    parts = split_digest(_entries(24), [], settings(max_bytes=20_000), "d")
    assert len(parts) > 2
    assert "Most mentioned" in parts[0].message.get_body(("plain",)).get_content()
    by_id = {m.id: m for m in _entries(24)}
    for part in parts[1:]:
        line = _summary_line(part.message, "In this part")
        own = {by_id[i].name for i in part.match_ids}
        named = set(re.findall(r"Entry \d\d", line))
        assert named and named <= own
        assert len(named) == min(len(own), SUMMARY_ENTRIES)


def test_one_huge_item_is_shortened_to_keep_the_part_under_the_limit() -> None:
    huge = dataclasses.replace(
        sample_matches()[0],
        title="Rosneft " + "headline " * 45_000,  # ~400 KB: four times the limit
        snippet="context " * 25_000 + "Rosneft" + " more" * 25_000,
        feeds=tuple(f"Feed {n}" for n in range(1_000)),
        programs=tuple(f"PROGRAM-{n}" for n in range(1_000)),
    )
    parts = split_digest([huge, *sample_matches()[1:]], [], settings(max_bytes=100_000), "h")
    assert sum(len(p.match_ids) for p in parts) == 5  # nothing dropped
    assert all(message_size(p.message) <= 100_000 for p in parts)
    text = parts[0].message.get_body(("plain",)).get_content()
    assert "(shortened here: the article has it all)" in text
    assert "[[Rosneft]]" in text  # the mention itself stays visible
    assert "and 992 more" in text  # feeds beyond the first eight are counted


def test_sparkline_scales_to_the_busiest_day_and_never_hides_a_mention() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([1, 100]) == "▂█"  # one mention beside a hundred still shows
    assert sparkline([0, 0, 0]) == "▁▁▁"


def test_mention_chart_draws_quiet_runs_as_one_bar_and_scales_the_rest() -> None:
    chart = mention_chart([0, 0, 0, 2, 0, 4], settings())
    bars = [(b["count"], b["days"], b["width"], b["height"]) for b in chart["bars"]]
    assert bars == [(0, 3, 20, 0), (2, 1, 6, 12), (0, 1, 6, 0), (4, 1, 6, CHART_HEIGHT)]
    assert (chart["total"], chart["today"], chart["peak"]) == (6, 4, 4)
    assert chart["first"] == "Oct 18" and chart["bars"][1]["day"] == "Oct 21"  # today Oct 23


def test_digest_shows_each_entry_chart_in_both_parts() -> None:
    history = MentionHistory({"russia-energy/rosneft": (0,) * 27 + (1, 0, 5)})
    message = digest_message(sample_matches(), [], settings(), "d", history=history)
    text = message.get_body(("plain",)).get_content()
    assert "▁" * 27 + "▂▁█  mentions per day since Sep 24: 6, today 5, busiest day 5" in text
    assert text.count("mentions per day") == 1  # entries without history get no chart
    html = message.get_body(("html",)).get_content()
    assert 'title="Oct 23: 5"' in html and 'title="Oct 21: 1"' in html
    assert "<img" not in html and "<script" not in html


def test_highlight_marks_the_mention_not_a_word_containing_it() -> None:
    match = dataclasses.replace(
        sample_matches()[0],
        text="Putin",
        snippet="… his former wife Lyudmila Putina said Putin had …",
    )
    text = digest_message([match], [], settings(), "d").get_body(("plain",)).get_content()
    assert '"… his former wife Lyudmila Putina said [[Putin]] had …"' in text


def test_coalesced_alert_matches_golden_file() -> None:
    """One entry's alert over several articles (newest first), the other entry an article
    names shown under it, and the matches it leaves to the digest counted."""
    rosneft, lukoil, cyrillic = sample_matches()[0], sample_matches()[1], sample_matches()[2]
    message = render_alert([rosneft, cyrillic, lukoil], settings(), "20251023T070000Z-z", more=4)
    assert message["Subject"] == "[sanctions-watch] ALERT high: Rosneft, Lukoil — 2 articles"
    _check_golden("alert-coalesced.txt", _masked(message))
