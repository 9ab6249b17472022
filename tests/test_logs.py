"""Log lines: key=value fields; journald priority prefixes and no timestamps under systemd."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.logs import kv


def test_kv_quotes_only_what_needs_it() -> None:
    line = kv(event="poll", feed="https://x.test/rss?a=1", new=3, took=0.25, error=None)
    assert line == 'event=poll feed="https://x.test/rss?a=1" new=3 took=0.25'
    assert kv(reason='HTTP 503 "busy"\nretry') == 'reason="HTTP 503 \\"busy\\"\\nretry"'
    assert kv(empty="") == 'empty=""'
    assert kv(path=Path("/var/lib/sanctions-watch")) == "path=/var/lib/sanctions-watch"


def _run_once(tmp_path: Path, **env: str) -> list[str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        "email:\n  delivery: directory\n  directory: outbox\n  to: [a@example.org]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--once", "--config", str(config)],
        env={**{k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}, **env},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()


@pytest.mark.slow
def test_under_journald_lines_carry_priorities_and_no_timestamps(tmp_path: Path) -> None:
    lines = _run_once(tmp_path, JOURNAL_STREAM="8:12345")
    (once,) = [line for line in lines if "event=once" in line]
    assert once.startswith("<6>watcher.service.once: event=once feeds=0 ")
    assert all(re.match(r"<[0-7]>", line) for line in lines)
    assert not any(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", line) for line in lines)


@pytest.mark.slow
def test_on_a_terminal_lines_carry_timestamps_and_levels(tmp_path: Path) -> None:
    lines = _run_once(tmp_path)
    (once,) = [line for line in lines if "event=once" in line]
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO watcher.service.once: event=once ", once
    )


@pytest.mark.slow
def test_a_startup_error_reaches_journald_at_error_priority(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("state_dir: state\nwatchlists: [missing.yaml]\nfeeds: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        env={**os.environ, "JOURNAL_STREAM": "8:12345"},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("<3>error: ")
    assert len(lines) >= 2  # one line per problem, each at error priority
    assert all(line.startswith("<3>") for line in lines)
    assert any(f"{config}:3:" in line for line in lines)


def _log_calls(tree: ast.AST) -> list[ast.Call]:
    levels = {"debug", "info", "warning", "error", "exception", "critical"}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in levels
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "log"
    ]


def test_every_log_call_is_one_kv_event() -> None:
    """One convention (CONVENTIONS.md): log.x("%s", kv(event=..., ...)), never printf fields."""
    package = Path(__file__).resolve().parents[1] / "watcher"
    offenders = []
    for source in sorted(package.rglob("*.py")):
        for call in _log_calls(ast.parse(source.read_text(encoding="utf-8"))):
            fields = call.args[1] if len(call.args) == 2 else None
            if not (
                isinstance(call.args[0], ast.Constant)
                and call.args[0].value == "%s"
                and isinstance(fields, ast.Call)
                and isinstance(fields.func, ast.Name)
                and fields.func.id == "kv"
                and fields.keywords
                and fields.keywords[0].arg == "event"
            ):
                offenders.append(f"{source.relative_to(package.parent)}:{call.lineno}")
    assert offenders == []
