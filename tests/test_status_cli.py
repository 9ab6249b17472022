"""What a new user sees: `watcher run --once` and `watcher status` say that a first poll is a
baseline (nothing mailed), status puts the totals first and the feeds with problems at the
top, and staleness counts from the newest article's publication date."""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from pathlib import Path

import pytest
from feedserver import FeedServer, rss
from test_state_failures import WATCHLIST, run_cli

BASELINE = "first poll: 2 item(s) recorded as the baseline; nothing is mailed for them"


def write_config(tmp_path: Path, feeds: str) -> Path:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "t.yaml").write_text(WATCHLIST)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nwatchlists: [{tmp_path / 'lists'}]\n"
        f"feeds:\n{feeds}"
        "polling:\n  jitter: 0s\n  timeout: 5s\n  allow_private_networks: true\n"
        "  stale_after: 7d\n"
        "email:\n  to: [a@example.org]\n  delivery: directory\n"
        f"  directory: {tmp_path / 'outbox'}\n"
    )
    return config


def test_first_run_and_status_say_what_a_new_user_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recent = formatdate(time.time() - 3600)
    with FeedServer() as server:
        fresh = server.route(
            "/fresh.xml",
            rss({"guid": "1", "link": "https://n.test/1", "title": "Rosneft", "pubDate": recent}),
        )
        old = server.route(
            "/old.xml",
            rss(
                {
                    "guid": "2",
                    "link": "https://n.test/2",
                    "title": "An old story",
                    "pubDate": "Mon, 06 May 2019 10:00:00 GMT",
                }
            ),
        )
        backfilled = server.route(
            "/backfill.xml", rss({"guid": "3", "link": "https://n.test/3", "title": "Other"})
        )
        gone = server.url("/gone.xml")
        config = write_config(
            tmp_path,
            f"  - url: {fresh}\n  - url: {old}\n  - url: {gone}\n"
            f"  - url: {backfilled}\n    backfill: true\n",
        )

        code, out, _ = run_cli(capsys, "run", "--once", "--config", str(config))
        assert code == 0
        # the backfilled feed's item is mailed: not part of the baseline
        assert f"{BASELINE} (1 match(es) among them)" in out

        code, out, _ = run_cli(capsys, "status", "--config", str(config))
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == "feeds: 4 (1 failing, 1 stale, 2 ok)"
        assert lines[1:4] == [
            "articles: 3",
            "matches: 1 (0 pending for the next digest)",
            "outbox: 0 queued",
        ]
        assert any(line.startswith(BASELINE) for line in lines[:6])
        feeds_at = lines.index("feeds (problems first):")
        states = [line.split()[0] for line in lines[feeds_at + 1 :: 2]]
        assert states == ["FAILING", "STALE", "OK", "OK"]
        assert lines[feeds_at + 3].endswith(old)
        assert "stale: newest article published 2019-05-06 10:00:00Z" in out

        code, out, _ = run_cli(capsys, "status", "--json", "--config", str(config))
        report = json.loads(out)
        assert report["baseline"] == {"items": 2, "matches": 1}
        states_by_url = {f["url"]: f["state"] for f in report["feeds"]}
        assert states_by_url == {fresh: "ok", old: "stale", gone: "failing", backfilled: "ok"}


def test_a_second_run_prints_no_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        url = server.route("/f.xml", rss({"guid": "1", "link": "https://n.test/1", "title": "x"}))
        config = write_config(tmp_path, f"  - url: {url}\n")
        code, out, _ = run_cli(capsys, "run", "--once", "--config", str(config))
        assert code == 0 and "first poll: 1 item(s) recorded as the baseline" in out
        code, out, _ = run_cli(capsys, "run", "--once", "--config", str(config))
        assert code == 0 and "baseline" not in out


def test_poll_once_is_not_shown_as_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "poll", "--help")
    assert code == 0 and "--once" in out
    assert "(required)" not in out


def test_import_help_says_which_files_each_source_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "import", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv", "cons_prim.csv"):
        assert name in flat
    assert "cons_alt.csv" in flat and "consolidated.xml" in flat
    assert "FollowTheMoney JSON lines" in flat and "entities.ftm.json" in flat
