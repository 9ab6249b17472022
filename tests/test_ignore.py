"""The ignore-list loader: rules with their source line, every problem as file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.ignore import IgnoreRule, load_ignore
from watcher.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ignore.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_ignore(path)
    return [str(p) for p in caught.value.problems]


def test_rules_keep_phrase_entry_reason_and_source_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# known false alerts\n"
        "ignore:\n"
        "  - phrase: Justice League\n"
        "    reason: film title\n"
        "  - entry: ofac/ofac-25273\n"
        "  - phrase: '  Dan  '\n"
        "    entry: ofac-15908\n",
    )
    assert load_ignore(path) == (
        IgnoreRule(phrase="Justice League", reason="film title", source=f"{path}:3"),
        IgnoreRule(entry="ofac/ofac-25273", source=f"{path}:5"),
        IgnoreRule(phrase="Dan", entry="ofac-15908", source=f"{path}:6"),
    )


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "ignore: []\n"])
def test_empty_file_is_no_rules(tmp_path: Path, text: str) -> None:
    assert load_ignore(write(tmp_path, text)) == ()


def test_unknown_key_points_at_the_key_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "ignore:\n  - phrase: Dan\n    reasn: a person\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3:5: ignore[0].reasn: unknown key 'reasn'")
    assert "did you mean 'reason'?" in problem


def test_every_bad_rule_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ignore:\n"
        "  - reason: nothing to ignore\n"
        "  - phrase: ''\n"
        "  - entry: Not An Id!\n"
        "  - phrase: [a, list]\n",
    )
    found = problems(path)
    assert len(found) == 4
    assert found[0].startswith(f"{path}:2:5: ignore[0]: a rule needs a phrase, an entry, or both")
    assert found[1].startswith(f"{path}:3:13: ignore[1].phrase: phrase must not be empty")
    assert found[2].startswith(f"{path}:4:12: ignore[2].entry: entry 'Not An Id!'")
    assert found[3].startswith(f"{path}:5:13: ignore[3].phrase: expected text")


def test_top_level_must_be_the_ignore_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- phrase: Dan\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:1:1:")


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "ignore: []\nignores: []\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:2:1: ignores: unknown key 'ignores'")


def test_duplicate_keys_and_syntax_errors_name_the_place(tmp_path: Path) -> None:
    path = write(tmp_path, "ignore:\n  - phrase: Dan\n    phrase: Vista\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3:5:") and "duplicate key 'phrase'" in problem
    broken = write(tmp_path, "ignore:\n  - phrase: [Dan\n")
    (problem,) = problems(broken)
    assert problem.startswith(f"{broken}:") and "YAML syntax error" in problem


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path / "absent.yaml")
    assert "absent.yaml" in problem and "file not found" in problem


def test_shipped_example_loads() -> None:
    rules = load_ignore(REPO / "deploy" / "ignore.example.yaml")
    assert [r.label for r in rules] == [
        "phrase='Justice League'",
        "entry=ofac/ofac-25273",
        "phrase='Dan' entry=ofac/ofac-15908",
    ]
    assert all(r.reason for r in rules)
