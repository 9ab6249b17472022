"""Polling file watcher: edits, atomic renames, deletions, debounce, no-op saves."""

from __future__ import annotations

import os
from pathlib import Path

from watcher.service.filewatch import FileWatcher


def _bump_mtime(path: Path) -> None:
    # Filesystems with coarse timestamps would hide a quick second write; make it visible.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_in_place_edit_is_reported_once_after_it_settles(tmp_path: Path) -> None:
    watched = tmp_path / "list.yaml"
    watched.write_text("entries: []\n")
    watcher = FileWatcher([watched])
    assert watcher.changed() == []
    watched.write_text("entries: [x]\n")
    _bump_mtime(watched)
    assert watcher.changed() == []  # just changed: wait for it to hold still
    assert watcher.changed() == [watched]
    assert watcher.changed() == []


def test_a_write_still_in_progress_is_not_reported(tmp_path: Path) -> None:
    watched = tmp_path / "list.yaml"
    watched.write_text("a\n")
    watcher = FileWatcher([watched])
    with watched.open("a") as handle:
        for part in range(3):
            handle.write(f"line {part}\n")
            handle.flush()
            _bump_mtime(watched)
            assert watcher.changed() == []
    assert watcher.changed() == [watched]


def test_editor_save_by_rename_is_seen(tmp_path: Path) -> None:
    watched = tmp_path / "list.yaml"
    watched.write_text("old\n")
    watcher = FileWatcher([watched])
    temp = tmp_path / ".list.yaml.swp"
    temp.write_text("new\n")
    os.replace(temp, watched)  # new inode under the same name
    watcher.changed()
    assert watcher.changed() == [watched]


def test_touch_without_content_change_is_ignored(tmp_path: Path) -> None:
    watched = tmp_path / "config.yaml"
    watched.write_text("same\n")
    watcher = FileWatcher([watched])
    _bump_mtime(watched)
    assert watcher.changed() == []
    assert watcher.changed() == []


def test_deletion_and_recreation(tmp_path: Path) -> None:
    watched = tmp_path / "list.yaml"
    watched.write_text("v1\n")
    watcher = FileWatcher([watched])
    watched.unlink()
    watcher.changed()
    assert watcher.changed() == [watched]
    watched.write_text("v2\n")
    watcher.changed()
    assert watcher.changed() == [watched]


def test_rewatching_keeps_known_files_and_adds_new_ones(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("a\n")
    second.write_text("b\n")
    watcher = FileWatcher([first])
    first.write_text("a2\n")
    _bump_mtime(first)
    watcher.watch([first, second])
    assert watcher.paths == [first, second]
    watcher.changed()
    assert watcher.changed() == [first]


def test_a_watchlist_dropped_into_a_watched_directory_is_seen(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a.yaml").write_text("a\n")
    watcher = FileWatcher([lists])
    (lists / ".b.yaml.swp").write_text("editor scratch\n")
    watcher.changed()
    assert watcher.changed() == []  # swap files are not watchlists
    (lists / "b.yaml").write_text("b\n")
    watcher.changed()
    assert watcher.changed() == [lists]


def test_rebase_forgets_changes_already_read_but_not_later_ones(tmp_path: Path) -> None:
    watched = tmp_path / "list.yaml"
    watched.write_text("v1\n")
    watcher = FileWatcher([watched])
    watched.write_text("v2 (read by a SIGHUP reload)\n")
    watcher.rebase()
    assert watcher.changed() == []
    assert watcher.changed() == []
    watched.write_text("v3\n")
    _bump_mtime(watched)
    watcher.changed()
    assert watcher.changed() == [watched]
