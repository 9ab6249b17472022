"""`watcher match` as scripts use it: a real subprocess, its stdout and exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "match"
WATCHLISTS = [
    *("--watchlists", str(FIXTURES / "people.yaml")),
    *("--watchlists", str(FIXTURES / "companies.yaml")),
]

pytestmark = pytest.mark.slow


def watcher(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def entries(doc: dict[str, object]) -> set[str]:
    matches = doc["matches"]
    assert isinstance(matches, list)
    return {m["entry"] for m in matches}


def test_feed_gives_one_json_line_per_item() -> None:
    run = watcher("match", *WATCHLISTS, "--json", str(FIXTURES / "news.xml"))
    assert run.returncode == 0, run.stderr
    first, second = json_lines(run.stdout)
    assert first["id"] == "wire-1"  # the guid
    assert first["title"] == "Refiners weigh new supply deals"
    assert first["link"] == "https://wire.example.test/a/1"
    assert entries(first) == {"rosneft", "sechin"}
    assert second["id"] == "https://wire.example.test/a/2"  # no guid: the link
    assert entries(second) == set()  # Novak Djokovic is not Alexander Novak
    (sechin,) = [m for m in first["matches"] if m["entry"] == "sechin"]  # type: ignore[union-attr]
    assert set(sechin) >= {"list", "entry", "name", "alias", "text", "start", "end", "score"}
    assert sechin["text"] == "Igor Sechin" and sechin["list"] == "people"


def test_html_file_is_one_result_with_markup_removed() -> None:
    page = FIXTURES / "page.html"
    run = watcher("match", *WATCHLISTS, "--json", str(page))
    assert run.returncode == 0, run.stderr
    (doc,) = json_lines(run.stdout)
    assert doc["id"] == str(page)
    assert entries(doc) == {"lukoil", "alekperov"}


def test_text_file_and_stdin() -> None:
    note = FIXTURES / "note.txt"
    from_file = json_lines(watcher("match", *WATCHLISTS, "--json", str(note)).stdout)
    from_stdin = json_lines(
        watcher("match", *WATCHLISTS, "--json", "-", stdin=note.read_text("utf-8")).stdout
    )
    assert [entries(d) for d in from_file] == [{"lavrov"}] == [entries(d) for d in from_stdin]
    assert from_stdin[0]["id"] == "<stdin>"


def test_several_inputs_in_order() -> None:
    inputs = [str(FIXTURES / "note.txt"), str(FIXTURES / "news.xml")]
    docs = json_lines(watcher("match", *WATCHLISTS, "--json", *inputs).stdout)
    assert [d["id"] for d in docs] == [inputs[0], "wire-1", "https://wire.example.test/a/2"]


def test_readable_report_highlights_the_mention() -> None:
    run = watcher("match", *WATCHLISTS, str(FIXTURES / "news.xml"))
    assert run.returncode == 0, run.stderr
    assert "people/sechin" in run.stdout
    assert "[[Igor Sechin]]" in run.stdout
    assert "no matches" in run.stdout


def test_threshold_option() -> None:
    text = "Shares of Rosnfet fell."
    loose = json_lines(watcher("match", *WATCHLISTS, "--json", "-", stdin=text).stdout)
    strict = json_lines(
        watcher("match", *WATCHLISTS, "--threshold", "97", "--json", "-", stdin=text).stdout
    )
    assert entries(loose[0]) == {"rosneft"}
    assert entries(strict[0]) == set()


def test_config_brings_watchlists_ignore_list_and_threshold(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("ignore:\n  - phrase: Igor Sechin\n    reason: test\n", "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"watchlists:\n  - {FIXTURES / 'people.yaml'}\n  - {FIXTURES / 'companies.yaml'}\n"
        f"matching:\n  threshold: 90\n  ignore: [{ignore}]\n",
        "utf-8",
    )
    run = watcher("match", "--config", str(config), "--json", str(FIXTURES / "news.xml"))
    assert run.returncode == 0, run.stderr
    assert entries(json_lines(run.stdout)[0]) == {"rosneft"}


def test_missing_input_is_a_clear_error() -> None:
    run = watcher("match", *WATCHLISTS, "--json", "/nonexistent/feed.xml")
    assert run.returncode != 0
    assert "error: cannot read /nonexistent/feed.xml" in run.stderr


def test_config_and_watchlists_together_are_refused() -> None:
    run = watcher("match", "--config", "x.yaml", *WATCHLISTS, "-", stdin="")
    assert run.returncode != 0
    assert "not both" in run.stderr


def test_json_says_where_each_match_stands() -> None:
    """A name only in an item's <category> is found, and marked as a tag."""
    run = watcher("match", *WATCHLISTS, "--json", str(FIXTURES / "tagged.xml"))
    assert run.returncode == 0, run.stderr
    tagged, titled = json_lines(run.stdout)
    assert [(m["entry"], m["field"]) for m in tagged["matches"]] == [("rosneft", "tag")]  # type: ignore[union-attr]
    assert [(m["entry"], m["field"]) for m in titled["matches"]] == [("rosneft", "title")]  # type: ignore[union-attr]
