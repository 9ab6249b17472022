"""`watcher import` end to end, as a subprocess: write, re-import unchanged, diff on change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from import_helpers import OFAC_DIR, OFAC_FILES, load_written


def watcher(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_writes_a_loadable_watchlist_then_reports_unchanged(tmp_path: Path) -> None:
    output = tmp_path / "watchlists" / "ofac-sdn.yaml"
    first = watcher("import", "ofac", *OFAC_FILES, "-o", output, "--severity", "high")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"wrote {output}: 12 entries, ")
    assert "note: 2 alias rows for 1 ent_nums with no primary row" in first.stdout
    checked = watcher("check", "--watchlists", output)
    assert (checked.returncode, checked.stdout) == (0, "ok: 1 list, 12 entries, 20 names\n")
    watchlist = load_written(output)
    assert watchlist.name == "ofac-sdn"
    assert {e.severity.value for e in watchlist.entries} == {"high"}
    before = output.read_bytes()
    second = watcher("import", "ofac", *OFAC_FILES, "-o", output, "--severity", "high")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"unchanged {output}: 12 entries")
    assert "changes since" not in second.stdout
    assert output.read_bytes() == before


def test_a_redownloaded_identical_file_leaves_the_output_alone(tmp_path: Path) -> None:
    copies = tmp_path / "download"
    copies.mkdir()
    inputs = [copies / path.name for path in OFAC_FILES]
    for source, copy in zip(OFAC_FILES, inputs, strict=True):
        copy.write_bytes(source.read_bytes())
        os.utime(copy, (1_700_000_000, 1_700_000_000))
    output = tmp_path / "ofac.yaml"
    assert watcher("import", "ofac", *inputs, "-o", output).returncode == 0
    before = output.read_bytes()
    assert b"mtime 2023-11-14T22:13:20Z" in before
    for copy in inputs:
        os.utime(copy, (1_800_000_000, 1_800_000_000))
    again = watcher("import", "ofac", *inputs, "-o", output)
    assert again.stdout.startswith(f"unchanged {output}:")
    assert output.read_bytes() == before


def test_reimport_prints_added_removed_renamed(tmp_path: Path) -> None:
    output = tmp_path / "ofac.yaml"
    assert watcher("import", "ofac", *OFAC_FILES, "-o", output).returncode == 0
    changed = tmp_path / "sdn.csv"
    rows = (OFAC_DIR / "sdn.csv").read_bytes().split(b"\r\n")
    rows = [r.replace(b'"VISTA"', b'"VISTA II"') for r in rows if not r.startswith(b"15054,")]
    rows.insert(0, b'90100,"NEW FRONT LLC",-0- ,"RUSSIA-EO14024"' + b",-0- " * 8)
    changed.write_bytes(b"\r\n".join(rows))
    inputs = [changed, *OFAC_FILES[1:]]
    result = watcher("import", "ofac", *inputs, "-o", output, "--list", "ofac")
    assert result.returncode == 0, result.stderr
    assert "changes since the previous import: 1 added, 1 removed, 1 renamed" in result.stdout
    assert "  added: ofac-90100 NEW FRONT LLC" in result.stdout
    assert "  removed: ofac-15054 HUGE" in result.stdout
    assert "  renamed: ofac-25273 VISTA -> VISTA II" in result.stdout


def test_bad_input_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "sdn.csv"
    good = (OFAC_DIR / "sdn.csv").read_bytes().rstrip(b"\x1a")
    bad.write_bytes(good + b'1,"TOO","FEW"\r\n\x1a')
    output = tmp_path / "out.yaml"
    result = watcher("import", "ofac", bad, "-o", output)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {bad}:")
    assert "3 columns" in result.stderr
    assert not output.exists()


def test_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    result = watcher("import", "eu", OFAC_FILES[0], "-o", tmp_path / "x.yaml")
    assert result.returncode == 2
    assert "'eu' is not one of" in result.stderr


def test_a_hand_kept_watchlist_is_not_overwritten_without_force(tmp_path: Path) -> None:
    output = tmp_path / "russia.yaml"
    hand_kept = "entries:\n  - id: rosneft\n    name: Rosneft\n"
    output.write_text(hand_kept, encoding="utf-8")
    refused = watcher("import", "ofac", *OFAC_FILES, "-o", output)
    assert refused.returncode == 1
    assert "was not written by `watcher import`; refusing to overwrite" in refused.stderr
    assert output.read_text(encoding="utf-8") == hand_kept
    forced = watcher("import", "ofac", *OFAC_FILES, "-o", output, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "changes since the previous import: 12 added, 1 removed, 0 renamed" in forced.stdout
    assert "  removed: rosneft Rosneft" in forced.stdout
