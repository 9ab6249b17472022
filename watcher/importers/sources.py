"""The importer for each official source name (``watcher import SOURCE``, ``lists: source:``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from watcher.config.watchlist import Severity
from watcher.importers.common import ImportResult
from watcher.importers.ofac_xml import import_ofac_any
from watcher.importers.opensanctions import import_opensanctions
from watcher.importers.un import import_un

Importer = Callable[[Sequence[Path], str, Severity], ImportResult]
IMPORTERS: dict[str, Importer] = {
    "ofac": import_ofac_any,
    "un": import_un,
    "opensanctions": import_opensanctions,
}
