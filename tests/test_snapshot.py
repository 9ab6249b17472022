"""The loaded snapshot: all or nothing, and the compiled matcher reused when lists are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.snapshot import load
from watcher.errors import ValidationFailed

LIST = "list: demo\nentries:\n  - id: rosneft\n    name: Rosneft\n"


def _write(tmp_path: Path, feeds: str = "https://a.test/rss") -> Path:
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "demo.yaml").write_text(LIST)
    config = tmp_path / "config.yaml"
    config.write_text(f"state_dir: state\nwatchlists: [lists/]\nfeeds:\n  - url: {feeds}\n")
    return config


def test_unchanged_lists_reuse_the_compiled_matcher(tmp_path: Path) -> None:
    config = _write(tmp_path)
    first = load(config)
    assert first.entries == 1
    assert {p.name for p in first.watched_files} == {"config.yaml", "lists", "demo.yaml"}
    again = load(config, first)
    assert again.compiled is first.compiled
    config.write_text(config.read_text().replace("https://a.test/rss", "https://b.test/rss"))
    feeds_changed = load(config, again)
    assert feeds_changed.compiled is first.compiled
    assert list(feeds_changed.feeds) == ["https://b.test/rss"]


def test_an_edited_list_or_threshold_rebuilds_it(tmp_path: Path) -> None:
    config = _write(tmp_path)
    first = load(config)
    (tmp_path / "lists" / "demo.yaml").write_text(LIST + "  - id: lukoil\n    name: Lukoil\n")
    edited = load(config, first)
    assert edited.compiled is not first.compiled
    assert edited.entries == 2
    config.write_text(config.read_text() + "matching:\n  threshold: 95\n")
    assert load(config, edited).compiled is not edited.compiled
    (tmp_path / "lists" / "more.yaml").write_text(LIST.replace("demo", "more"))
    assert load(config, edited).entries == 2 + 1


def test_an_invalid_list_raises_even_when_a_previous_snapshot_exists(tmp_path: Path) -> None:
    config = _write(tmp_path)
    first = load(config)
    (tmp_path / "lists" / "demo.yaml").write_text("list: demo\nentries:\n  - id: x\n")
    with pytest.raises(ValidationFailed) as raised:
        load(config, first)
    assert any(p.path.endswith("name") for p in raised.value.problems)
