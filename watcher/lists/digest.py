"""The digest's "List changes" section as plain values for the templates (pure).

One block per recorded list update: counts of entries added, removed and changed, and who:
all of them when few, the most relevant first (`watcher.lists.diff.relevance`) with a count
of the rest when thousands. A list's first import is its baseline: counted, not listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from watcher.lists.diff import EntryBrief, ListDiff, describe_change
from watcher.lists.state import ListChangeRow

SHOWN_PER_GROUP = 25  # entries named per group (added, removed, changed) per list change


def list_change_views(
    rows: Sequence[ListChangeRow], when: Callable[[float], str], limit: int = SHOWN_PER_GROUP
) -> list[dict[str, Any]]:
    """View values for the template; `when` formats a UNIX time in the digest's zone."""
    return [_view(row, ListDiff.from_json(row.diff_json), when(row.at), limit) for row in rows]


def _view(row: ListChangeRow, diff: ListDiff, when: str, limit: int) -> dict[str, Any]:
    first = diff.old_count == 0
    added = [] if first else diff.added[:limit]
    return {
        "list": row.list_name,
        "when": when,
        "first_import": first,
        "entries": diff.new_count,
        "added": len(diff.added),
        "removed": len(diff.removed),
        "changed": len(diff.changed),
        "added_entries": [_brief_view(b) for b in added],
        "more_added": 0 if first else max(0, len(diff.added) - limit),
        "removed_entries": [_brief_view(b) for b in diff.removed[:limit]],
        "more_removed": max(0, len(diff.removed) - limit),
        "changed_entries": [
            {"id": c.id, "name": c.name, "detail": describe_change(c)} for c in diff.changed[:limit]
        ],
        "more_changed": max(0, len(diff.changed) - limit),
    }


def _brief_view(brief: EntryBrief) -> dict[str, Any]:
    return {
        "id": brief.id,
        "name": brief.name,
        "type": brief.type,
        "programs": list(brief.programs),
    }
