"""Keeping the daemon's resident memory to one compiled watchlist index (glibc tuning)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os

M_ARENA_MAX = -8  # glibc mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """Cap glibc's per-thread malloc arenas (default: 8 per core). Each worker thread would
    otherwise grow its own heap of matcher scratch data; measured on the full OFAC list
    (bench/bench_daemon.py) two arenas save ~15-20 MB of resident memory at no speed cost.
    The same as MALLOC_ARENA_MAX=2 in the environment, which still wins if set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def release_memory() -> None:
    """Collect garbage and return freed heap pages to the OS (glibc's malloc_trim), so the
    resident size after a reload is one compiled index, not two."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the pages stay mapped
        ctypes.CDLL(None).malloc_trim(0)
