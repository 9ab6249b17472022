"""Run the daemon's native code paths under PR_SET_MDWE (what MemoryDenyWriteExecute= enforces).

Linux >= 6.3 lets a process forbid itself writable+executable mappings (prctl PR_SET_MDWE),
the same rule systemd's MemoryDenyWriteExecute= applies. If any library we load needs W+X
memory (a JIT, libffi closures), it fails here instead of in production under systemd.
"""

# ruff: noqa: PLC0415  (imports happen after PR_SET_MDWE on purpose)
from __future__ import annotations

import contextlib
import ctypes
import io
import mmap
import sqlite3
import ssl
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        print(f"skipped: this kernel has no PR_SET_MDWE (errno {ctypes.get_errno()})")
        return 0
    if _wx_mapping_allowed():
        print("FAIL: PR_SET_MDWE did not take effect")
        return 1
    _exercise()
    print(
        "ok: feedparser, rapidfuzz, pyahocorasick, sqlite, ssl, jinja2, pydantic, the matcher, "
        "libpq and a whole `watcher demo` pass run without writable+executable memory"
    )
    return 0


def _wx_mapping_allowed() -> bool:
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC).close()
    except OSError:
        return False
    return True


def _exercise() -> None:
    import ahocorasick
    import feedparser
    import jinja2
    import rapidfuzz
    from rapidfuzz import fuzz, process

    from watcher.config.schema import Config

    automaton = ahocorasick.Automaton()
    automaton.add_word("rosneft", 1)
    automaton.make_automaton()
    assert list(automaton.iter("rosneft and lukoil"))
    assert fuzz.WRatio("Rosneft", "Rosnef") > 80
    assert process.extractOne("Lavrov", ["Lavrow", "Peskov"]) is not None
    assert rapidfuzz.__version__
    rss = b"<rss><channel><item><title>Rosneft</title></item></channel></rss>"
    assert feedparser.parse(io.BytesIO(rss)).entries
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS t USING fts5(x)") if _has_fts5(db) else None
    ssl.create_default_context()
    assert jinja2.Template("{{ x }}").render(x=1) == "1"
    Config.model_validate({"feeds": [{"url": "https://example.org/rss"}]})
    _exercise_matcher()
    _exercise_pipeline()
    _exercise_libpq()


def _has_fts5(db: sqlite3.Connection) -> bool:
    return any("FTS5" in row[0] for row in db.execute("PRAGMA compile_options"))


def _exercise_matcher() -> None:
    try:
        from watcher.matching import compile_watchlists, match
    except ImportError:
        print("note: watcher.matching not importable; matcher not exercised")
        return
    from watcher.config.watchlist import Entry, Watchlist

    entry = Entry(list_name="demo", id="rosneft", name="Rosneft", aliases=("Роснефть",))
    compiled = compile_watchlists([Watchlist("demo", "", "demo.yaml", (entry,))])
    assert match("Rosneft's exports fell; Роснефть said", compiled)


def _exercise_pipeline() -> None:
    """The whole --once pass (parse, match, SQLite, render, deliver) on the demo feeds."""
    import logging
    import tempfile
    from pathlib import Path

    from watcher import demo

    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as temp:
        result = demo.run(Path(temp) / "demo-run")
    assert result.digest is not None and result.once.digest_matches > 0


def _exercise_libpq() -> None:
    """psycopg's libpq (the PostgreSQL state): loaded, and a connection attempted to a closed
    port on the loopback (refused at once), which runs libpq's connect path."""
    import socket

    try:
        import psycopg
    except ImportError:
        print("note: psycopg not installed; libpq not exercised")
        return
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        # the connection is refused: what counts is that libpq loaded and ran under MDWE
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(f"host=127.0.0.1 port={port} dbname=x connect_timeout=2").close()


if __name__ == "__main__":
    sys.exit(main())
