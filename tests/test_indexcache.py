"""The compiled-index cache: hit, miss after an edit, broken files rebuilt, never fatal."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config import indexcache
from watcher.config.indexcache import CACHE_DIR, KEEP, compile_lists
from watcher.config.snapshot import load
from watcher.errors import ValidationFailed
from watcher.matching import match

LIST = "list: demo\nentries:\n  - id: rosneft\n    name: Rosneft\n"
LUKOIL = "  - id: lukoil\n    name: Lukoil\n"
TEXT = "Rosneft and Lukoil were named on Tuesday."


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "demo.yaml").write_text(LIST)
    return folder


def _found(lists: Path, state: Path | None, threshold: int = 90) -> tuple[bool, list[str]]:
    result = compile_lists([lists], [], threshold, state)
    return result.from_cache, sorted(m.entry_id for m in match(TEXT, result.compiled))


def _cached_files(state: Path) -> list[Path]:
    return sorted((state / CACHE_DIR).glob("*.pickle"))


def test_a_second_compile_is_a_hit_with_the_same_matches(tmp_path: Path, lists: Path) -> None:
    state = tmp_path / "state"
    assert _found(lists, state) == (False, ["rosneft"])
    (saved,) = _cached_files(state)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / CACHE_DIR).stat().st_mode) == 0o700
    assert _found(lists, state) == (True, ["rosneft"])
    hit = compile_lists([lists], [], 90, state)
    assert hit.entries == 1


def test_an_edited_list_or_threshold_misses(tmp_path: Path, lists: Path) -> None:
    state = tmp_path / "state"
    _found(lists, state)
    (lists / "demo.yaml").write_text(LIST + LUKOIL)
    assert _found(lists, state) == (False, ["lukoil", "rosneft"])
    assert _found(lists, state) == (True, ["lukoil", "rosneft"])
    assert _found(lists, state, threshold=95)[0] is False
    (lists / "demo.yaml").write_text(LIST)  # back to the first version: still cached
    assert _found(lists, state) == (True, ["rosneft"])


def test_an_edited_ignore_list_misses(tmp_path: Path, lists: Path) -> None:
    state, ignore = tmp_path / "state", tmp_path / "ignore.yaml"
    ignore.write_text("ignore: []\n")
    assert compile_lists([lists], [ignore], 90, state).from_cache is False
    assert compile_lists([lists], [ignore], 90, state).from_cache is True
    ignore.write_text("ignore:\n  - entry: demo/rosneft\n    reason: test\n")
    again = compile_lists([lists], [ignore], 90, state)
    assert again.from_cache is False
    assert match(TEXT, again.compiled) == []


def test_a_corrupt_file_is_rebuilt_with_a_warning(
    tmp_path: Path, lists: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    _found(lists, state)
    (saved,) = _cached_files(state)
    saved.write_bytes(saved.read_bytes()[:100])  # truncated: a crash mid-write on another fs
    with caplog.at_level(logging.WARNING, "watcher.config.indexcache"):
        assert _found(lists, state) == (False, ["rosneft"])
    assert "result=unreadable" in caplog.text
    assert _found(lists, state) == (True, ["rosneft"])


def test_a_file_others_could_write_is_not_loaded(
    tmp_path: Path, lists: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    _found(lists, state)
    (saved,) = _cached_files(state)
    saved.chmod(0o666)
    with caplog.at_level(logging.WARNING, "watcher.config.indexcache"):
        assert _found(lists, state) == (False, ["rosneft"])
    assert "result=ignored-untrusted" in caplog.text


def test_an_unwritable_cache_dir_still_compiles(
    tmp_path: Path, lists: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    with caplog.at_level(logging.WARNING, "watcher.config.indexcache"):
        assert _found(lists, state) == (False, ["rosneft"])
        assert _found(lists, state) == (False, ["rosneft"])
    assert "result=not-saved" in caplog.text


def test_no_state_dir_means_no_cache(tmp_path: Path, lists: Path) -> None:
    assert _found(lists, None) == (False, ["rosneft"])
    assert _found(lists, None) == (False, ["rosneft"])
    assert not (tmp_path / "state").exists()


def test_an_invalid_list_raises_though_older_versions_are_cached(
    tmp_path: Path, lists: Path
) -> None:
    state = tmp_path / "state"
    _found(lists, state)
    (lists / "demo.yaml").write_text("list: demo\nentries:\n  - id: x\n")
    with pytest.raises(ValidationFailed) as raised:
        compile_lists([lists], [], 90, state)
    assert any(p.path.endswith("name") for p in raised.value.problems)


def test_only_the_newest_files_are_kept(tmp_path: Path, lists: Path) -> None:
    state = tmp_path / "state"
    thresholds = range(80, 80 + KEEP + 2)
    seen: set[Path] = set()
    for n, threshold in enumerate(thresholds):
        compile_lists([lists], [], threshold, state)
        (new,) = set(_cached_files(state)) - seen
        os.utime(new, (1_000_000 + n, 1_000_000 + n))  # distinct ages, oldest first
        seen.add(new)
    assert len(_cached_files(state)) == KEEP
    assert compile_lists([lists], [], thresholds[-1], state).from_cache is True
    assert compile_lists([lists], [], thresholds[0], state).from_cache is False


def test_a_code_change_invalidates_every_saved_index(
    tmp_path: Path, lists: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    _found(lists, state)
    monkeypatch.setattr(indexcache, "code_fingerprint", lambda: "another version")
    assert _found(lists, state) == (False, ["rosneft"])


def test_the_daemon_snapshot_uses_the_cache(
    tmp_path: Path, lists: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("state_dir: state\nwatchlists: [lists/]\nfeeds:\n  - url: https://a.test/\n")
    first = load(config)
    assert len(_cached_files(tmp_path / "state")) == 1
    with caplog.at_level(logging.INFO, "watcher.config.snapshot"):
        second = load(config)
    assert "index=cached" in caplog.text
    assert second.compiled is not first.compiled
    assert second.matcher_key == first.matcher_key
    assert second.entries == first.entries == 1
    assert [m.entry_id for m in match(TEXT, second.compiled)] == ["rosneft"]


def test_equal_slots_are_one_object_also_when_loaded_from_the_cache(tmp_path: Path) -> None:
    people = "list: people\nentries:\n" + "".join(
        f"  - id: p{n}\n    type: person\n    name: Vladimir Ivanovich {surname}\n"
        for n, surname in enumerate(["Sechinov", "Petrovsky", "Kovalchuk"])
    )
    (tmp_path / "people.yaml").write_text(people)
    state = tmp_path / "state"
    for expected in (False, True):
        result = compile_lists([tmp_path / "people.yaml"], [], 90, state)
        assert result.from_cache is expected
        slots = [s for p in result.compiled.patterns for s in p.slots]
        assert len({id(s) for s in slots}) == len(set(slots)) < len(slots)


def test_a_hit_restores_the_word_lists_too(tmp_path: Path, lists: Path) -> None:
    state = tmp_path / "state"
    _found(lists, state)  # saved with this process's word lists
    script = (
        "import sys; from pathlib import Path\n"
        "from watcher.config.indexcache import compile_lists\n"
        "from watcher.matching import lexicon, match\n"
        f"hit = compile_lists([Path({str(lists)!r})], [], 90, Path({str(state)!r}))\n"
        "lexicon.preload()\n"
        "print(hit.from_cache, 'wordfreq' in sys.modules, lexicon.is_known_word('djokovic'),\n"
        f"      [m.entry_id for m in match({TEXT!r}, hit.compiled)])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout.split("\n")[0] == "True False True ['rosneft']"


def test_each_step_is_reported(tmp_path: Path, lists: Path) -> None:
    """Compiling a huge list takes minutes: every step is heard (systemd STATUS=, terminal)."""
    state = tmp_path / "state"
    steps: list[str] = []
    compile_lists([lists], [], 90, state, steps.append)
    files = sorted(lists.glob("*.yaml"))
    entries = compile_lists([lists], [], 90, None).entries
    assert steps == [
        "loading the compiled watchlists from the index cache",
        *(f"reading watchlist {f} ({n}/{len(files)})" for n, f in enumerate(files, start=1)),
        f"compiling the watchlists: {entries:,} entries into the matcher index",
        "saving the compiled watchlists to the index cache",
    ]
    steps.clear()
    assert compile_lists([lists], [], 90, state, steps.append).from_cache
    assert steps == ["loading the compiled watchlists from the index cache"]


def test_word_lists_are_kept_per_user_across_state_directories(tmp_path: Path) -> None:
    """~1.5 s of CPU per process (every `run --once` in a new state dir, every index miss):
    built once, restored after; files of other versions are pruned, foreign ones ignored."""
    home = tmp_path / "cache"
    assert indexcache.words_cache_dir({"XDG_CACHE_HOME": str(home)}) == home / "sanctions-watch"
    assert indexcache.words_cache_dir({"HOME": "/home/a"}) == Path("/home/a/.cache/sanctions-watch")
    assert indexcache.words_cache_dir({"HOME": "/"}) is None  # a DynamicUser= service
    words = home / "sanctions-watch"
    assert indexcache.restore_words(words) is False  # nothing saved yet
    indexcache.save_words(words)
    (saved,) = words.glob("words-*.pickle")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(words.stat().st_mode) == 0o700
    assert indexcache.restore_words(words) is True
    saved.chmod(0o666)  # others could have written it: a pickle runs code when loaded
    assert indexcache.restore_words(words) is False
    saved.chmod(0o600)
    for n in range(4):  # older versions' files: the newest KEEP stay
        old = words / f"words-old{n}.pickle"
        old.write_bytes(b"x")
        os.utime(old, (n, n))
    indexcache.save_words(words)
    assert saved in set(words.glob("words-*.pickle"))
    assert len(list(words.glob("words-*.pickle"))) == KEEP


def test_a_new_state_dir_restores_the_word_lists_instead_of_building_them(
    tmp_path: Path, lists: Path
) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    script = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG); "
        "from pathlib import Path; from watcher.config.indexcache import compile_lists; "
        "compile_lists([Path(sys.argv[1])], [], 90, Path(sys.argv[2]))"
    )
    logs = []
    for state in ("a", "b"):
        run = subprocess.run(
            [sys.executable, "-c", script, str(lists), str(tmp_path / state)],
            env=env,
            capture_output=True,
            text=True,
            timeout=50,
            check=True,
        )
        logs.append(run.stderr)
    assert "event=words-cache" in logs[0] and "result=saved" in logs[0]
    assert "result=restored" not in logs[0]
    assert "result=restored" in logs[1] and "words-cache dir" not in logs[1]
