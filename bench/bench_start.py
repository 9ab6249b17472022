"""Start-up benchmark: `watcher run` from exec to READY=1, cold (compiling) and warm (cached).

    .venv/bin/python bench/bench_start.py [--runs 3] [--watchlist FILE]

Imports the full OFAC SDN list as bench/bench_daemon.py does (from ../shared/data; or uses
``--watchlist``), then starts ``python -m watcher run`` ``--runs`` times on one state
directory, with ``NOTIFY_SOCKET`` bound here: the first start compiles the watchlists and
saves the index to ``<state_dir>/index/``, the others load it (`watcher.config.indexcache`). For
each start it prints the seconds from exec to READY=1 and the resident size (RSS and VmHWM)
then. Target: a warm start under 2 s.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from bench_daemon import Notify, _proc_status, _watchlist  # noqa: E402


def _config(work: Path, watchlist: Path) -> Path:
    config = work / "config.yaml"
    config.write_text(
        f"""\
state_dir: {work / "state"}
watchlists: [{watchlist}]
feeds:
  - url: http://127.0.0.1:9/feed.xml
polling:
  allow_private_networks: true
email:
  to: [bench@example.org]
  delivery: directory
  directory: {work / "outbox"}
"""
    )
    return config


def _start(work: Path, config: Path, run: int) -> str:
    """One daemon start to READY and stop; a line of figures."""
    notify = Notify(work / f"notify{run}.sock")
    log = work / f"daemon{run}.log"
    started = time.monotonic()
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            stderr=out,
            stdout=subprocess.DEVNULL,
            env={"NOTIFY_SOCKET": str(notify.path), "PATH": "/usr/bin:/bin"},
            cwd=ROOT,
        )
        try:
            ready = notify.until("READY", 120) - started
            status = _proc_status(daemon.pid)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
    index = "cached" if "index=cached" in log.read_text() else "compiled"
    return (
        f"start {run}: {ready:.2f} s exec to READY ({index} index); "
        f"RSS {_mb(status['VmRSS'])} MB, VmHWM {_mb(status['VmHWM'])} MB at READY"
    )


def _mb(value: str) -> str:
    return f"{int(value.split(maxsplit=1)[0]) / 1024:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--watchlist", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    try:
        watchlist, described = _watchlist(work, args.watchlist)
        print(f"watchlist: {described}")
        config = _config(work, watchlist)
        for run in range(1, args.runs + 1):
            print(_start(work, config, run), flush=True)
        sizes = [p.stat().st_size for p in (work / "state" / "index").glob("*.pickle")]
        print(f"index cache: {len(sizes)} file(s), {sum(sizes) / 1e6:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
