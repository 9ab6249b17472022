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
    """Collect garbage, return freed heap pages to the OS (glibc's malloc_trim), so the
    resident size after a reload is one compiled index, not two, and freeze what is left.

    Freezing (`gc.freeze`) takes the long-lived heap (the compiled index: ~440,000 objects
    for the full OFAC list) out of the cyclic collector's full passes, which would otherwise
    walk all of it every so often while articles are matched (~0.2 s each time). Objects
    freed by reference counting are freed as before; what a reload leaves behind in cycles
    is found because each call first unfreezes, so the collection sees the old heap too."""
    gc.unfreeze()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the pages stay mapped
        ctypes.CDLL(None).malloc_trim(0)
    gc.freeze()
