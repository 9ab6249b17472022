"""The daemon's heap settling after a start or reload (watcher.service.memory), run in a child
interpreter: freezing the test process's own heap would outlive the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CHILD = textwrap.dedent(
    """
    import gc, weakref
    from watcher.service.memory import release_memory

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a  # freed only by the cyclic collector
        return a

    old_index = cycle()
    release_memory()  # the start: what is alive is frozen
    frozen = gc.get_freeze_count()
    gone = weakref.ref(old_index)
    del old_index  # a reload replaces it
    gc.collect()
    print("after collect", gone() is not None, frozen > 0)
    release_memory()  # the reload's settling
    print("after release", gone() is not None, gc.get_freeze_count() > 0)
    """
)


def test_a_reload_frees_the_cycles_of_a_frozen_old_heap_and_freezes_the_new_one() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == [
        "after collect True True",  # frozen: an ordinary collection leaves it alone
        "after release False True",  # unfrozen, collected; the survivors frozen again
    ]
