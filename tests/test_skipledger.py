"""The skip ledger (tests/skipledger.py) on a small suite run by pytest's own pytester."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="chromium not installed")
def test_browser():
    pass

@pytest.mark.parametrize("n", [1, 2])
def test_corpus(n):
    pytest.skip("shared corpora absent")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    raise AssertionError
"""


def _run(pytester: pytest.Pytester, suite: str = SUITE) -> pytest.RunResult:
    pytester.syspathinsert(Path(__file__).parent)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(suite)
    return pytester.runpytest("-p", "skipledger")


def test_one_line_says_what_was_skipped_and_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = _run(pytester)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    result.stdout.re_match_lines(
        [r"skipped 3 test\(s\): shared corpora absent \(2\); chromium not installed \(1\)"]
    )
    assert result.ret == pytest.ExitCode.OK


def test_under_ci_any_skip_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = _run(pytester)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    result.stdout.fnmatch_lines(["FAILED: tests skipped under CI=true*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_under_ci_a_run_without_skips_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = _run(pytester, "def test_runs():\n    pass\n")
    assert result.ret == pytest.ExitCode.OK
    assert "skipped" not in result.stdout.str()


def test_the_shared_corpora_can_be_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import SHARED_ENV, shared_dir

    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "corpora"))
    assert shared_dir() == tmp_path / "corpora"
    monkeypatch.delenv(SHARED_ENV)
    assert shared_dir() == Path(__file__).resolve().parents[1].parent / "shared"
