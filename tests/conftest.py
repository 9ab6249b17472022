"""Shared test helpers.

`shared_dir()` is where the large real-world corpora live: ``$SANCTIONS_WATCH_SHARED``, else
``../shared`` next to the checkout (never copied into it). CI has them; a fresh clone may not,
so tests using them are marked `@requires_shared` and skip with a clear reason.

Skips are never quiet (`skipledger`): the run ends with one line counting what was skipped and
why, and under CI (``CI=true``, as `.ci/run` sets) any skip fails the run.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import skipledger

SHARED_ENV = "SANCTIONS_WATCH_SHARED"


def shared_dir() -> Path:
    """The shared corpora: ``$SANCTIONS_WATCH_SHARED``, else ``../shared`` beside the checkout."""
    configured = os.environ.get(SHARED_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[1].parent / "shared"


SHARED_ABSENT = (
    f"shared corpora absent: no {shared_dir()} (set {SHARED_ENV}=DIR, or put them in ../shared)"
)

requires_shared = pytest.mark.skipif(not shared_dir().is_dir(), reason=SHARED_ABSENT)


@pytest.fixture(name="shared_dir")
def shared_dir_fixture() -> Path:
    """The shared corpora directory; skips the test when it is absent."""
    path = shared_dir()
    if not path.is_dir():
        pytest.skip(SHARED_ABSENT)
    return path


def pytest_configure(config: pytest.Config) -> None:
    skipledger.pytest_configure(config)


@pytest.fixture(autouse=True, scope="session")
def _user_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user cache (the matcher's word lists, `watcher.config.indexcache`) in a directory of this
    session, for every process the tests start: never the real ~/.cache, and the ~1.5 s of
    CPU to build the word lists is spent once per session (per xdist worker), not once per
    subprocess."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage when each test ends, so a leaked socket or transport warns (and fails,
    warnings being errors) in the test that leaked it, not in whichever test runs next."""
    yield
    gc.collect()
