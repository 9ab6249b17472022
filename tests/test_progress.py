"""Long work is never silent: a progress bar and the steps on a terminal (a real pty), log
lines elsewhere (cron mail, the journal), nothing extra in a pipe's output."""

from __future__ import annotations

import logging
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from feedserver import FeedServer, rss

from watcher.progress import tally

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, urls: list[str]) -> Path:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "t.yaml").write_text("entries:\n  - id: rosneft\n    name: Rosneft\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nwatchlists: [{tmp_path / 'lists'}]\nfeeds:\n"
        + "".join(f"  - url: {url}\n" for url in urls)
        + "polling:\n  jitter: 0s\n  allow_private_networks: true\n"
    )
    return config


def _read_all(fd: int, proc: subprocess.Popen[bytes]) -> bytes:
    """Everything written to the pty until the process exits and the pty drains."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 50)
        if not ready:
            raise AssertionError("no output for 50 s")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=50)
    return b"".join(chunks)


@pytest.mark.slow
def test_on_a_terminal_polling_shows_a_progress_bar_and_compiling_its_steps(
    tmp_path: Path,
) -> None:
    with FeedServer() as server:
        urls = [server.route(f"/f{n}.xml", rss({"guid": str(n), "title": "x"})) for n in range(3)]
        config = _config(tmp_path, urls)
        controller, terminal = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "poll", "--once", "--all", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        os.close(terminal)
        try:
            shown = _read_all(controller, proc).decode(errors="replace")
        finally:
            os.close(controller)
        assert proc.stdout is not None
        out = proc.stdout.read().decode()
        proc.stdout.close()
    assert proc.returncode == 0, shown
    assert "... compiling the watchlists: 1 entries into the matcher index" in shown
    assert "polling feeds" in shown and "100%" in shown
    # stdout (the summary a script reads) carries no progress
    assert "polling feeds" not in out and "3 feed(s) polled" in out


def test_elsewhere_counted_work_is_logged_now_and_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="watcher.progress")
    with tally("polling feeds", log_every=0) as tick:
        for done in range(1, 4):
            tick(done, 3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        'event=progress what="polling feeds" done=1 total=3',
        'event=progress what="polling feeds" done=2 total=3',
    ]  # the last one is the command's own summary


def test_elsewhere_quick_work_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="watcher.progress")
    with tally("polling feeds") as tick:
        for done in range(1, 4):
            tick(done, 3)
    assert caplog.records == []
