"""Official lists kept current (`lists:`): OFAC XML, truncation checks, diffs, updates from a
real HTTP server on 127.0.0.1 (conditional GET, failures keeping the list in force), status,
`watcher lists diff|update --now`, and back-screening of stored articles. Small fixtures
written here; the real dated files are in test_lists_shared.py."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from feedserver import FeedServer
from import_helpers import OFAC_DIR

from watcher.config.schema import Config
from watcher.config.settings import load_config, load_watchlist_file
from watcher.config.watchlist import Entry, EntryType
from watcher.importers.common import SourceFileError
from watcher.importers.ofac import import_ofac
from watcher.importers.ofac_xml import import_ofac_any, import_ofac_xml
from watcher.ingest.feedstate import ItemRecord
from watcher.ingest.fetch import make_client
from watcher.lists.diff import diff_entries, format_diff
from watcher.lists.health import list_health, list_problems
from watcher.lists.rescreen import rescreen_pending
from watcher.lists.update import (
    ListUpdateResult,
    list_fetch_limits,
    output_path,
    screened_watchlists,
    update_due,
)
from watcher.state.interface import StateStore
from watcher.state.sqlite import Store

SDN = (OFAC_DIR / "sdn.csv").read_bytes()
PUTIN_ROW = SDN.split(b"\r\n")[0]
SDN_WITHOUT_PUTIN = SDN.replace(PUTIN_ROW + b"\r\n", b"")

XML = """<?xml version="1.0" encoding="utf-8"?>
<sanctionsData xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ENHANCED_XML">
  <publicationInfo><dataAsOf>2025-01-10T00:00:00</dataAsOf></publicationInfo>
  <entities>
    <entity id="35096">
      <generalInfo><identityId>1</identityId>
        <entityType refId="600">Individual</entityType></generalInfo>
      <sanctionsLists>
        <sanctionsList datePublished="2022-02-25">SDN List</sanctionsList></sanctionsLists>
      <sanctionsPrograms><sanctionsProgram>RUSSIA-EO14024</sanctionsProgram></sanctionsPrograms>
      <names>
        <name><isPrimary>true</isPrimary><isLowQuality>false</isLowQuality><translations>
          <translation><isPrimary>true</isPrimary><script>Latin</script>
            <formattedFirstName>Vladimir Vladimirovich</formattedFirstName>
            <formattedLastName>PUTIN</formattedLastName>
            <formattedFullName>PUTIN, Vladimir Vladimirovich</formattedFullName></translation>
          <translation><isPrimary>false</isPrimary><script>Cyrillic</script>
            <formattedFullName>Путин, Владимир Владимирович</formattedFullName></translation>
        </translations></name>
        <name><isPrimary>false</isPrimary><aliasType>A.K.A.</aliasType><isLowQuality>true</isLowQuality>
          <translations><translation><isPrimary>true</isPrimary>
            <formattedFullName>VVP</formattedFullName></translation></translations></name>
      </names>
      <addresses><address><country>Russia</country></address></addresses>
      <features><feature><type featureTypeId="8">Birthdate</type>
        <value>07 Oct 1952</value></feature></features>
    </entity>
    <entity id="17022">
      <generalInfo><entityType refId="601">Entity</entityType></generalInfo>
      <sanctionsPrograms><sanctionsProgram>UKRAINE-EO13662</sanctionsProgram></sanctionsPrograms>
      <names><name><isPrimary>true</isPrimary><translations><translation><isPrimary>true</isPrimary>
        <formattedFullName>ROSNEFT OIL COMPANY</formattedFullName>
        </translation></translations></name>
        <name><isPrimary>false</isPrimary><isLowQuality>false</isLowQuality><translations>
          <translation><isPrimary>true</isPrimary><formattedFullName>ROSNEFT</formattedFullName>
        </translation></translations></name></names>
    </entity>
  </entities>
</sanctionsData>
"""


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


# --- OFAC enhanced XML --------------------------------------------------------------------------


def test_ofac_xml_gives_the_csv_ids_names_and_weak_aliases(tmp_path: Path) -> None:
    path = tmp_path / "CONS_ENHANCED.ZIP"
    path.write_bytes(zipped("CONS_ENHANCED.XML", XML.encode()))
    result = import_ofac_xml([path], "ofac")
    entries = {e.id: e for e in result.entries}
    putin = entries["ofac-35096"]
    assert putin.name == "Vladimir Vladimirovich Putin"
    assert putin.type is EntryType.PERSON
    assert "Владимир Владимирович Путин" in putin.aliases
    assert putin.weak_aliases == ("VVP",)
    assert putin.programs == ("RUSSIA-EO14024",)
    assert "Birthdate: 07 Oct 1952" in putin.notes and "Listed: 2022-02-25" in putin.notes
    assert entries["ofac-17022"].aliases == ("ROSNEFT",)
    assert result.files[0].data_date == "2025-01-10"


def test_ofac_xml_and_csv_mix_by_entity_id(tmp_path: Path) -> None:
    xml = tmp_path / "SDN_ENHANCED.XML"
    xml.write_text(XML, encoding="utf-8")
    csv_only = {e.id for e in import_ofac([OFAC_DIR / "sdn.csv"], "ofac").entries}
    mixed = {e.id: e for e in import_ofac_any([OFAC_DIR / "sdn.csv", xml], "ofac").entries}
    assert set(mixed) == csv_only | {"ofac-17022"}
    assert "Listed: 2022" not in mixed["ofac-35096"].notes  # the CSV entry wins


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda x: x[: len(x) // 2], "not well-formed XML"),
        (lambda x: x.replace(b"<sanctionsData", b"<!DOCTYPE x><sanctionsData"), "DOCTYPE"),
        (lambda x: x.replace(b"sanctionsData", b"rss"), "is not OFAC's <sanctionsData>"),
    ],
)
def test_ofac_xml_refuses_truncated_or_foreign_documents(
    tmp_path: Path, cut: object, message: str
) -> None:
    path = tmp_path / "SDN_ENHANCED.XML"
    path.write_bytes(cut(XML.encode()))  # type: ignore[operator]
    with pytest.raises(SourceFileError, match=message):
        import_ofac_xml([path], "ofac")


# --- truncated CSV files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SDN[: len(SDN) // 2], "quoted field|columns where the rows above"),
        (SDN.rsplit(b"\r\n", 3)[0] + b"\r\n", r"no end-of-file marker \(0x1A\)"),
        (SDN[:-40] + b"\r\n\x1a", "quoted field|columns where the rows above|not an OFAC"),
    ],
    ids=["cut-in-half", "cut-at-a-line-end", "cut-mid-record"],
)
def test_a_cut_sdn_csv_is_refused_not_read_as_a_shorter_list(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(data)
    with pytest.raises(SourceFileError, match=message) as caught:
        import_ofac([path], "ofac")
    assert str(path) in str(caught.value)


# --- diffs --------------------------------------------------------------------------------------


def entry(entry_id: str, name: str, **fields: object) -> Entry:
    return Entry(list_name="ofac", id=entry_id, name=name, **fields)  # type: ignore[arg-type]


def test_diff_reports_added_removed_and_changed_names_aliases_programs() -> None:
    old = [
        entry("a", "Alpha", aliases=("A1",), programs=("P1",)),
        entry("b", "Beta"),
        entry("c", "Gamma", programs=("P1",)),
        entry("d", "Delta"),
    ]
    new = [
        entry("a", "Alpha", aliases=("A2",), programs=("P1", "P2")),
        entry("c", "Gamma Corp", programs=("P1",)),
        entry("d", "Delta"),
        entry("e", "Epsilon", type=EntryType.PERSON, programs=("RUSSIA-EO14024",)),
    ]
    diff = diff_entries("ofac", old, new)
    assert [b.id for b in diff.added] == ["e"]
    assert [b.id for b in diff.removed] == ["b"]
    changes = {c.id: c for c in diff.changed}
    assert set(changes) == {"a", "c"}
    assert (changes["a"].names_added, changes["a"].names_removed) == (("A2",), ("A1",))
    assert changes["a"].programs_added == ("P2",)
    assert (changes["c"].old_name, changes["c"].name) == ("Gamma", "Gamma Corp")
    text = format_diff(diff)
    assert text.startswith("ofac: 4 -> 4 entries; 1 added, 1 removed, 2 changed")
    assert "added    e  Epsilon (person) [RUSSIA-EO14024]" in text
    assert diff_entries("ofac", new, new).empty
    assert type(diff).from_json(diff.to_json()) == diff


def watcher(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lists_diff_command_prints_the_diff_of_two_list_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    (tmp_path / "sdn.csv").write_bytes(SDN_WITHOUT_PUTIN)
    assert (
        watcher("import", "ofac", tmp_path / "sdn.csv", "-o", old, "--list", "ofac").returncode == 0
    )
    assert (
        watcher("import", "ofac", OFAC_DIR / "sdn.csv", "-o", new, "--list", "ofac").returncode == 0
    )
    shown = watcher("lists", "diff", old, new)
    assert shown.returncode == 0, shown.stderr
    assert "1 added, 0 removed, 0 changed" in shown.stdout
    assert (
        "added    ofac-35096  Vladimir Vladimirovich Putin (person) [RUSSIA-EO14024]"
        in shown.stdout
    )
    as_json = json.loads(watcher("lists", "diff", "--json", old, new).stdout)
    assert [a["id"] for a in as_json["added"]] == ["ofac-35096"]


def test_import_help_says_which_files_each_source_takes() -> None:
    shown = watcher("import", "--help").stdout
    for name in ("sdn.csv", "alt.csv", "cons_prim.csv", "CONS_ENHANCED.XML", "consolidated.xml"):
        assert name in shown


# --- updates over HTTP --------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def write_config(tmp_path: Path, urls: list[str], **extra: str) -> Path:
    lines = [
        f"state_dir: {tmp_path / 'state'}",
        "polling: {allow_private_networks: true, timeout: 10s}",
        "lists:",
        "  - name: ofac",
        "    source: ofac",
        f"    urls: [{', '.join(urls)}]",
        "    every: 1d",
        "    severity: high",
        *(f"    {key}: {value}" for key, value in extra.items()),
    ]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def update(config: Config, now: float) -> ListUpdateResult:
    store = Store(config.state_dir)  # type: ignore[arg-type]
    client = make_client(list_fetch_limits(config))
    try:
        (result,) = await update_due(config, store, config.state_dir, client, now, force=True)  # type: ignore[arg-type]
        return result
    finally:
        await client.aclose()
        store.close()


async def test_first_import_then_304_then_an_update_with_its_diff(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/sdn.csv", SDN_WITHOUT_PUTIN, etag='"v1"')
    config = load_config(write_config(tmp_path, [url]))
    state_dir = config.state_dir
    assert state_dir is not None
    first = await update(config, 1000.0)
    assert first.status == "updated" and first.diff is not None
    out = output_path(config.lists[0], state_dir)
    assert out == state_dir / "lists" / "ofac.yaml"
    assert out in screened_watchlists(config, state_dir)
    listed = load_watchlist_file(out)
    assert "ofac-35096" not in {e.id for e in listed.entries}
    assert {e.severity.value for e in listed.entries} == {"high"}
    assert not first.rescreen  # a first import is the baseline, not "newly listed"

    unchanged = await update(config, 2000.0)
    assert unchanged.status == "not-modified"
    assert server.requests_for("/sdn.csv")[-1].headers["if-none-match"] == '"v1"'

    server.route("/sdn.csv", SDN, etag='"v2"')
    changed = await update(config, 3000.0)
    assert changed.status == "updated" and changed.diff is not None
    assert [b.id for b in changed.diff.added] == ["ofac-35096"]
    assert changed.rescreen
    assert "ofac-35096" in {e.id for e in load_watchlist_file(out).entries}
    store = Store(state_dir)
    with store.transaction() as tx:
        changes = tx.pending_list_changes()
    store.close()
    assert [(c.added, c.removed) for c in changes] == [(len(first.diff.added), 0), (1, 0)]


def test_a_list_mislabelled_as_html_is_still_read_but_a_page_is_not() -> None:
    from watcher.lists.validate import ListRejectedError, check_download

    check_download("ofac", "u", SDN, {"content-type": "text/html"})
    with pytest.raises(ListRejectedError, match="HTML page"):
        check_download("ofac", "u", b"<p>Service unavailable</p>", {"content-type": "text/html"})
    with pytest.raises(ListRejectedError, match="empty body"):
        check_download("ofac", "u", b" \r\n", {})


BROKEN = [
    ("server-error", {"status": 500, "body": b"oops"}, "HTTP 500"),
    ("html-page", {"body": b"<!DOCTYPE html><html>Login</html>"}, "HTML page"),
    ("truncated", {"body": SDN[: len(SDN) // 2]}, "cut short"),
    ("sudden-loss", {"body": SDN.split(b"\r\n")[0] + b"\r\n\x1a"}, "fewer than the"),
]


@pytest.mark.parametrize(("kind", "route", "message"), BROKEN, ids=[b[0] for b in BROKEN])
async def test_a_broken_update_keeps_the_list_in_force_and_shows_in_status(
    tmp_path: Path, server: FeedServer, kind: str, route: dict[str, object], message: str
) -> None:
    url = server.route("/sdn.csv", SDN)
    config_file = write_config(tmp_path, [url])
    config = load_config(config_file)
    assert config.state_dir is not None
    assert (await update(config, 1000.0)).status == "updated"
    out = output_path(config.lists[0], config.state_dir)
    before = out.read_bytes()
    server.route("/sdn.csv", **route)  # type: ignore[arg-type]
    failed = await update(config, 2000.0)
    assert failed.status == "failed", kind
    assert message in failed.error
    assert out.read_bytes() == before
    store = Store(config.state_dir)
    health = list_health(config, store, 2001.0)
    store.close()
    assert [h.state for h in health] == ["failing"]
    assert list_problems(health, 2001.0)[0].name == "list ofac"
    shown = watcher("status", "--config", config_file)
    assert "FAILING   ofac (ofac)" in shown.stdout and message in shown.stdout
    server.route("/sdn.csv", SDN)
    assert (await update(config, 3000.0)).status in ("unchanged", "not-modified")


def test_lists_update_now_exits_non_zero_naming_the_failed_list(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/sdn.csv", SDN)
    alt = server.route("/alt.csv", (OFAC_DIR / "alt.csv").read_bytes(), etag='"a"')
    config_file = write_config(tmp_path, [url, alt])
    ok = watcher("lists", "update", "--now", "--config", config_file)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ofac: updated, 11 entries; 11 added, 0 removed, 0 changed")
    # what the importer skipped is counted and named
    assert "note: skipped alias rows of ent_num 99999 NO SUCH PRIMARY LTD" in ok.stdout
    again = watcher("lists", "update", "--now", "--config", config_file)
    # sdn.csv comes without validators: downloaded again, found the same
    assert again.returncode == 0
    assert again.stdout.startswith("ofac: unchanged, 11 entries\n")
    server.route("/sdn.csv", status=404, body=b"gone")
    failed = watcher("lists", "update", "--now", "--config", config_file)
    assert failed.returncode == 1
    assert "could not update: ofac (" in failed.stderr and "HTTP 404" in failed.stderr
    status = watcher("status", "--json", "--config", config_file)
    (item,) = json.loads(status.stdout)["lists"]
    assert (item["name"], item["state"], item["entries"]) == ("ofac", "failing", 11)


def test_a_list_without_a_successful_update_for_long_is_stale(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ["http://127.0.0.1:1/sdn.csv"]))
    assert config.state_dir is not None
    store = Store(config.state_dir)
    from watcher.lists.state import ListState

    with store.transaction() as tx:
        tx.save_list_state(ListState("ofac", last_check=0.0, last_success=0.0, entries=5))
    fresh = list_health(config, store, 86400.0)
    old = list_health(config, store, 4 * 86400.0)
    store.close()
    assert fresh[0].state == "ok"
    assert old[0].state == "stale"
    assert "not updated for 4 days" in list_problems(old, 4 * 86400.0)[0].detail


# --- back-screening -----------------------------------------------------------------------------


def store_article(store: StateStore, article_id: str, text: str, now: float) -> None:
    with store.transaction() as tx:
        tx.sync_feeds([("http://127.0.0.1:1/feed", "feed")], now)
        feed_id = tx.feeds()[0].id
        record = ItemRecord(article_id, article_id, f"http://x/{article_id}", text[:40], now, "h")
        tx.record_items(feed_id, [record], now)
        tx.keep_article_texts([(article_id, text)], now)


async def test_back_screening_reports_an_article_stored_before_the_update_once(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/sdn.csv", SDN_WITHOUT_PUTIN)
    config = load_config(write_config(tmp_path, [url]))
    state_dir = config.state_dir
    assert state_dir is not None
    await update(config, 1000.0)
    store = Store(state_dir)
    store_article(store, "old", "Vladimir Putin met oil executives in Moscow.", 1100.0)
    store_article(store, "older", "Putin's rival spoke.", 1100.0 - 40 * 86400)  # past the window
    store_article(store, "other", "Lavrov said nothing of note.", 1100.0)
    assert rescreen_pending(store, config, state_dir, 1200.0) == 0  # first import: baseline
    server.route("/sdn.csv", SDN)
    assert (await update(config, 2000.0)).rescreen
    found = rescreen_pending(store, config, state_dir, 2100.0)
    assert found == 1
    assert rescreen_pending(store, config, state_dir, 2200.0) == 0  # once
    with store.transaction() as tx:
        pending = tx.pending_matches()
    store.close()
    assert [(m.article_id, m.entry_id, m.origin, m.why) for m in pending] == [
        ("old", "ofac-35096", "rescreen", "derived form (given-family)")
    ]


async def test_an_update_interrupted_before_the_swap_records_its_change_once(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/sdn.csv", SDN_WITHOUT_PUTIN, etag='"v1"')
    config = load_config(write_config(tmp_path, [url]))
    assert config.state_dir is not None
    await update(config, 1000.0)
    out = output_path(config.lists[0], config.state_dir)
    old_list = out.read_bytes()
    sources = config.state_dir / "lists" / ".sources"
    old_sources = tmp_path / "sources-v1"
    shutil.copytree(sources, old_sources)
    server.route("/sdn.csv", SDN, etag='"v2"')
    assert (await update(config, 2000.0)).status == "updated"
    # a crash after the change, the version in force and the validators were saved in one
    # transaction, before the new file was written and the new sources kept
    out.write_bytes(old_list)
    shutil.rmtree(sources)
    shutil.copytree(old_sources, sources)
    again = await update(config, 3000.0)
    assert (again.status, again.swapped, again.diff) == ("updated", True, None)
    assert "ofac-35096" in {e.id for e in load_watchlist_file(out).entries}
    # the sources kept are v1's, not the version in force: no 304 trusted, all downloaded
    assert "if-none-match" not in server.requests_for("/sdn.csv")[-1].headers
    store = Store(config.state_dir)
    with store.transaction() as tx:
        changes = tx.pending_list_changes()
    store.close()
    assert [(c.added, c.removed) for c in changes] == [(10, 0), (1, 0)]  # not twice


def test_article_text_is_pruned_after_the_rescreen_window(tmp_path: Path) -> None:
    from watcher.ingest.poll import prune

    config = load_config(write_config(tmp_path, ["http://127.0.0.1:1/sdn.csv"]))
    assert config.state_dir is not None
    store = Store(config.state_dir)
    day = 86400.0
    store_article(store, "old", "Vladimir Putin spoke.", 0.0)
    store_article(store, "new", "Vladimir Putin spoke again.", 20 * day)
    prune(store, config, 35 * day)  # rescreen window: 30 days
    with store.transaction() as tx:
        kept = [article_id for article_id, _ in tx.article_texts(0.0)]
    store.close()
    assert kept == ["new"]


def test_run_once_updates_the_lists_and_mails_the_back_screened_news(
    tmp_path: Path, server: FeedServer
) -> None:
    from feedserver import rss

    item = {
        "guid": "1",
        "link": "https://news.test/1",
        "title": "Kremlin talks",
        "description": "Vladimir Putin met oil executives.",
    }
    feed = server.route("/news.xml", rss(item), headers={"Content-Type": "application/rss+xml"})
    url = server.route("/sdn.csv", SDN_WITHOUT_PUTIN, etag='"v1"')
    config_file = write_config(tmp_path, [url])
    outbox = tmp_path / "outbox"
    config_file.write_text(
        config_file.read_text()
        + f"feeds: [{{url: {feed}, backfill: true}}]\n"
        + f"email: {{delivery: directory, directory: {outbox}, to: [a@example.org]}}\n"
    )
    first = watcher("run", "--once", "--config", config_file)
    assert first.returncode == 0, first.stderr
    (digest,) = outbox.glob("*digest*.eml")
    assert "first import, 10 entries" in digest.read_text()
    server.route("/sdn.csv", SDN, etag='"v2"')
    store = Store(tmp_path / "state")  # checked a day ago: due now (no race with `every: 1s`)
    with store.transaction() as tx:
        state = tx.list_state("ofac")
        assert state.last_check is not None
        tx.save_list_state(dataclasses.replace(state, last_check=state.last_check - 86400))
    store.close()
    second = watcher("run", "--once", "--config", config_file)
    assert second.returncode == 0, second.stderr
    text = "".join(p.read_text() for p in outbox.glob("*.eml") if p != digest)
    assert "NEWLY LISTED, ALREADY IN THE NEWS" in text
    assert "1 added, 0 removed, 0 changed (11 entries)" in text


def test_list_changes_for_the_digest_name_the_most_relevant_first_and_count_the_rest() -> None:
    from watcher.config.watchlist import Severity
    from watcher.lists.digest import list_change_views
    from watcher.lists.state import ListChangeRow

    old = [entry(f"o{i}", f"Old {i}") for i in range(5)]
    added = [entry(f"n{i:02d}", f"Company {i:02d}") for i in range(30)]
    person = entry("p", "Zed Person", type=EntryType.PERSON, severity=Severity.HIGH)
    diff = diff_entries("ofac", old, [*old, *added, person])
    first = diff_entries("ofac", [], old)
    rows = [
        ListChangeRow(1, "ofac", "v1", 0.0, 5, 0, 0, first.to_json(), 0.0, None),
        ListChangeRow(2, "ofac", "v2", 86400.0, 31, 0, 0, diff.to_json(), None, None),
    ]
    baseline, update = list_change_views(rows, lambda at: f"day {at / 86400:.0f}", limit=25)
    assert (baseline["first_import"], baseline["added_entries"], baseline["entries"]) == (
        True,
        [],
        5,
    )
    assert update["when"] == "day 1" and update["added"] == 31
    assert update["added_entries"][0]["name"] == "Zed Person"  # high severity, a person
    assert len(update["added_entries"]) == 25 and update["more_added"] == 6
