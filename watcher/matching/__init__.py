"""The matcher: finds watchlist entries mentioned in a text.

compiled = compile_watchlists(watchlists, threshold=90, ignore=rules)
prepare(compiled)  # optional: builds now what the first articles would pay for
for m in match(article.full_text, compiled): ...
result = scan(text, compiled)  # matches + what ignore rules suppressed
"""

from watcher.matching.index import (
    CompiledWatchlists,
    compile_watchlists,
    load_index,
    prepare,
    save_index,
    watchlists_signature,
)
from watcher.matching.matcher import ScanResult, match, scan
from watcher.matching.types import Match

__all__ = [
    "CompiledWatchlists",
    "Match",
    "ScanResult",
    "compile_watchlists",
    "load_index",
    "match",
    "prepare",
    "save_index",
    "scan",
    "watchlists_signature",
]
