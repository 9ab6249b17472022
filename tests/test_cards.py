"""One real-world entity, one card: listings of one entity on several lists are one match,
naming the other listings, in `watcher match`, the store, digests and alerts."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Backend, requires_shared, shared_dir
from import_helpers import FIXTURES
from notifier_samples import digest_message, sample_matches, settings

from watcher.config.indexcache import compile_lists
from watcher.config.watchlist import Entry, EntryType, Severity, Watchlist
from watcher.importers.ofac import import_ofac
from watcher.importers.un import import_un
from watcher.importers.writer import render
from watcher.ingest.feedstate import ItemRecord
from watcher.matching import compile_watchlists, match
from watcher.matching.cards import build_cards
from watcher.notify.render import render_alert

NAMES = FIXTURES / "names"
PUTIN_LIST = """\
list: russia-officials
entries:
  - id: putin
    name: Vladimir Putin
    type: person
    birth_dates: ["1952-10-07"]
    severity: high
  - id: namesake
    name: Karim Haddad
    type: person
"""


def person(list_name: str, id_: str, name: str, **fields: object) -> Entry:
    return Entry(list_name, id_, name, EntryType.PERSON, **fields)  # type: ignore[arg-type]


def cards_of(*entries: Entry) -> dict[str, tuple[tuple[str, str], ...]]:
    return build_cards(entries)


# --- grouping ---------------------------------------------------------------------------------


def test_shared_identifier_groups_listings_of_one_type() -> None:
    a = person("ofac", "ofac-1", "Encep Nurjaman", identifiers=("passport:A1234567",))
    b = person("un", "un-qdi.087", "Riduan Isamuddin", identifiers=("passport:A1234567",))
    assert cards_of(a, b)["un/un-qdi.087"] == (("ofac", "ofac-1"), ("un", "un-qdi.087"))
    vessel = dataclasses.replace(b, type=EntryType.VESSEL)
    assert cards_of(a, vessel) == {}


def test_name_and_birth_date_group_people_and_name_alone_never_does() -> None:
    a = person("ofac", "ofac-35096", "Vladimir Vladimirovich Putin", aliases=("Vladimir Putin",),
               birth_dates=("1952-10-07",))  # fmt: skip
    b = person("russia-officials", "putin", "Vladimir Putin", birth_dates=("1952-10-07",))
    assert "russia-officials/putin" in cards_of(a, b)
    assert cards_of(a, dataclasses.replace(b, birth_dates=())) == {}  # name alone
    assert cards_of(a, dataclasses.replace(b, birth_dates=("1952-10-08",))) == {}
    assert cards_of(a, dataclasses.replace(b, name="Vladimir Putin Jr", aliases=())) == {}


def test_organisations_need_two_shared_names() -> None:
    ofac = Entry("ofac", "ofac-10761", "AL-SHABAAB", weak_aliases=("THE YOUTH", "MYM"))
    un = Entry("un", "un-soe.001", "AL-SHABAAB", aliases=("THE YOUTH", "AL-SHABAB"))
    assert cards_of(ofac, un)["ofac/ofac-10761"] == (("ofac", "ofac-10761"), ("un", "un-soe.001"))
    foundation = Entry("un", "un-x", "THE YOUTH FOUNDATION", aliases=("THE YOUTH",))
    assert cards_of(ofac, foundation) == {}  # one shared name is a namesake


def test_the_organisation_sharing_most_names_takes_the_card() -> None:
    ofac = Entry("ofac", "ofac-6366", "AL QA'IDA", aliases=("AL QAEDA", "THE BASE", "AL JIHAD",
                 "EGYPTIAN ISLAMIC JIHAD", "NEW JIHAD", "USAMA BIN LADEN NETWORK"))  # fmt: skip
    jihad = Entry("un", "un-qde.003", "EGYPTIAN ISLAMIC JIHAD", aliases=("AL JIHAD", "NEW JIHAD"))
    qaida = Entry("un", "un-qde.004", "AL-QAIDA", aliases=("AL QAEDA", "THE BASE", "AL QA'IDA",
                  "USAMA BIN LADEN NETWORK"))  # fmt: skip
    cards = cards_of(ofac, jihad, qaida)
    assert cards["ofac/ofac-6366"] == (("ofac", "ofac-6366"), ("un", "un-qde.004"))
    assert "un/un-qde.003" not in cards


def test_a_card_never_holds_two_listings_of_one_list() -> None:
    passport = ("passport:X1234567",)
    a = person("ofac", "ofac-1", "A B", identifiers=passport)
    b = person("ofac", "ofac-2", "C D", identifiers=passport)
    c = person("un", "un-1", "E F", identifiers=passport)
    cards = cards_of(a, b, c)
    assert len(cards["un/un-1"]) == 2
    assert "ofac/ofac-1" in cards or "ofac/ofac-2" in cards
    assert not ("ofac/ofac-1" in cards and "ofac/ofac-2" in cards)
    assert cards_of(a, b) == {}  # one list: nothing to group


# --- in matches -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lists() -> list[Watchlist]:
    ofac = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac").entries
    un = import_un([NAMES / "un.xml"], "un").entries
    return [Watchlist("ofac", "", "ofac.yaml", ofac), Watchlist("un", "", "un.xml", un)]


def test_one_match_per_entity_with_its_other_listings(lists: list[Watchlist]) -> None:
    compiled = compile_watchlists(lists)
    found = match("Al-Shabaab fighters attacked; Encep Nurjaman was seen.", compiled)
    assert len(found) == 2
    by_name = {m.name: m for m in found}
    shabaab = by_name["AL-SHABAAB"]
    assert (shabaab.list_name, shabaab.entry_id) == ("ofac", "ofac-10761")
    assert shabaab.also == (("un", "un-soe.001"),)
    assert shabaab.to_json()["also"] == [{"list": "un", "entry": "un-soe.001"}]
    nurjaman = by_name["Encep Nurjaman"]
    assert {(nurjaman.list_name, nurjaman.entry_id), *nurjaman.also} == {
        ("ofac", "ofac-90110"),
        ("un", "un-qdi.087"),
    }
    alone = match("Ali Khamenei spoke.", compiled)[0]
    assert alone.also == () and alone.to_json()["also"] == []


def test_cards_survive_the_index_cache(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    result = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac")
    (lists / "ofac.yaml").write_text(render(result, "ofac", Severity.MEDIUM), encoding="utf-8")
    (lists / "russia-officials.yaml").write_text(PUTIN_LIST, encoding="utf-8")
    state = tmp_path / "state"
    first = compile_lists([lists], [], 90, state)
    second = compile_lists([lists], [], 90, state)
    assert (first.from_cache, second.from_cache) == (False, True)
    for compiled in (first.compiled, second.compiled):
        (putin,) = match("Vladimir Putin said", compiled)
        assert (putin.list_name, putin.entry_id) == ("russia-officials", "putin")  # severity high
        assert putin.also == (("ofac", "ofac-35096"),)
        # the hand-made Karim Haddad has no birth date: not OFAC's Karim Haddad by name alone
        assert {m.also for m in match("Karim Haddad was arrested", compiled)} == {()}


def test_watcher_match_prints_every_listing_and_explains(tmp_path: Path) -> None:
    result = import_ofac([NAMES / "sdn.csv", NAMES / "alt.csv"], "ofac")
    (tmp_path / "ofac.yaml").write_text(render(result, "ofac", Severity.MEDIUM), encoding="utf-8")
    (tmp_path / "people.yaml").write_text(PUTIN_LIST, encoding="utf-8")
    text = "Vladimir Putin met Kim Jong-un."
    run = _watcher("match", "--watchlists", str(tmp_path), "-", stdin=text)
    assert run.returncode == 0, run.stderr
    assert "listed on: russia-officials putin, ofac ofac-35096" in run.stdout
    run = _watcher("match", "--watchlists", str(tmp_path), "--json", "--explain", "-", stdin=text)
    assert run.returncode == 0, run.stderr
    (doc,) = [json.loads(line) for line in run.stdout.splitlines()]
    by_entry = {m["entry"]: m for m in doc["matches"]}
    assert by_entry["putin"]["also"] == [{"list": "ofac", "entry": "ofac-35096"}]
    assert by_entry["ofac-20157"]["explain"] == {
        "rule": "derived:family-first",  # the matcher's own rule (Match.rule)
        "name": "Kim Jong Un",  # reads the same as the derived Kim Jong-un: the first one
        "name_rule": "derived form (family-first)",
        "listed_on": ["ofac ofac-20157"],
    }
    run = _watcher(
        "match", "--watchlists", str(tmp_path), "--explain", "--entry", "ofac/ofac-20157"
    )
    assert run.returncode == 0, run.stderr
    assert "'Kim Jong-un': derived form (family-first)" in run.stdout
    assert "'Jong Un Kim': primary name" in run.stdout
    run = _watcher("match", "--watchlists", str(tmp_path), "--explain", "--entry", "ofac/nope")
    assert run.returncode == 1 and "no entry ofac/nope" in run.stderr


def _watcher(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


# --- store, digest, alert ---------------------------------------------------------------------


def test_store_keeps_the_other_listings(backend: Backend, lists: list[Watchlist]) -> None:
    (shabaab,) = match("Al-Shabaab fighters attacked.", compile_watchlists(lists))
    item = ItemRecord("guid-1", "article-1", "https://news.example/1", "Attack", 1.0, "h")
    store = backend.open()
    with store.transaction() as tx:
        tx.sync_feeds([("https://wire.example/rss", "Wire")], 1.0)
        feed = tx.feed("https://wire.example/rss")
        assert feed is not None
        tx.record_items(feed.id, [item], 1.0)
        tx.add_matches("article-1", [shabaab], 1.0, notify=True)
    store.close()
    with backend.open().snapshot() as tx:  # reopened: read back from the database
        (pending,) = tx.pending_matches()
    assert pending.also == (("un", "un-soe.001"),)


def test_digest_and_alert_say_where_the_entity_is_listed() -> None:
    first, *rest = sample_matches()
    carded = dataclasses.replace(first, also=(("un", "un-1"), ("ofac", "ofac-2")))
    digest = digest_message([carded, *rest], [], settings(), "d1")
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "listed on: russia-energy rosneft, un un-1, ofac ofac-2" in text
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "listed on: russia-energy rosneft, un un-1, ofac ofac-2" in html
    alert = render_alert([carded], settings(), "a1").get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "listed on: russia-energy rosneft, un un-1, ofac ofac-2" in alert
    plain = digest_message(rest, [], settings(), "d2").get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "listed on" not in plain


@requires_shared
@pytest.mark.shared
def test_real_ofac_and_un_lists_share_cards() -> None:
    data = shared_dir() / "data"
    ofac = import_ofac(
        [data / "ofac_sdn_2024-05-03" / "sdn.csv", data / "ofac_sdn_2026-06_alt_add" / "alt.csv"],
        "ofac",
    ).entries
    un = import_un([data / "un_consolidated_2026-02" / "UN_consolidated.xml"], "un").entries
    cards = build_cards([*ofac, *un])
    assert cards["un/un-soe.001"] == (("ofac", "ofac-10761"), ("un", "un-soe.001"))  # Al-Shabaab
    assert 300 <= len({c for c in cards.values()}) <= len(un)
    assert all(len({name for name, _ in card}) == len(card) for card in cards.values())
