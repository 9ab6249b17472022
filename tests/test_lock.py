"""The state-directory lock, across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.state.lock import AlreadyRunningError, NotRunningError, StateLock, running_pid

HOLD = """
import sys, time
from pathlib import Path
from watcher.state.lock import StateLock
lock = StateLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def _holder(state_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "locked\n"
    return proc


def test_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(AlreadyRunningError) as raised:
            StateLock(tmp_path).acquire()
        message = str(raised.value)
        assert f"PID {proc.pid}" in message
        assert str(tmp_path) in message
        assert running_pid(tmp_path) == proc.pid
    finally:
        _stop(proc)


def test_lock_of_a_killed_process_is_free_again(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    _stop(proc)  # SIGKILL: no clean-up runs, the kernel drops the flock
    with pytest.raises(NotRunningError):
        running_pid(tmp_path)
    with StateLock(tmp_path):
        assert running_pid(tmp_path) == os.getpid()


def test_release_clears_the_pid(tmp_path: Path) -> None:
    lock = StateLock(tmp_path)
    lock.acquire()
    assert (tmp_path / "watcher.state.lock").read_text() == f"{os.getpid()}\n"
    lock.release()
    assert (tmp_path / "watcher.state.lock").read_text() == ""
    with pytest.raises(NotRunningError, match="no watcher is running"):
        running_pid(tmp_path)


def test_running_pid_without_any_lock_file(tmp_path: Path) -> None:
    with pytest.raises(NotRunningError, match=str(tmp_path)):
        running_pid(tmp_path)
