"""Shared test helpers.

`shared_dir()` is where the large real-world corpora live (next to the checkout, never copied
into it). CI has them; a fresh clone may not, so tests using them are marked `@requires_shared`
and skip with a clear reason.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest


def shared_dir() -> Path:
    """The ``../shared`` corpora directory beside the repository checkout."""
    return Path(__file__).resolve().parents[1].parent / "shared"


requires_shared = pytest.mark.skipif(
    not shared_dir().is_dir(), reason="../shared corpora absent (CI has them)"
)


@pytest.fixture(name="shared_dir")
def shared_dir_fixture() -> Path:
    """The ``../shared`` corpora directory; skips the test when it is absent."""
    path = shared_dir()
    if not path.is_dir():
        pytest.skip("../shared corpora absent (CI has them)")
    return path


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage when each test ends, so a leaked socket or transport warns (and fails,
    warnings being errors) in the test that leaked it, not in whichever test runs next."""
    yield
    gc.collect()
