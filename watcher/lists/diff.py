"""What changed between two versions of a list: entries added, removed and changed (names,
aliases, programs), by entry id. Pure: no I/O, no clock.

Ordering "most relevant first" (the digest shows only the first ones of thousands): higher
severity first, then people before organisations (news names people), then by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.config.watchlist import Entry, EntryType

_TYPE_RANK = {EntryType.PERSON: 0, EntryType.ORGANIZATION: 1}


@dataclass(frozen=True)
class EntryBrief:
    """An added or removed entry, as a diff shows it."""

    id: str
    name: str
    type: str
    severity: str
    programs: tuple[str, ...]


@dataclass(frozen=True)
class EntryChange:
    """An entry in both versions whose names or programs changed."""

    id: str
    name: str  # the new primary name
    old_name: str  # the old one ("" when unchanged)
    names_added: tuple[str, ...]  # aliases and weak aliases
    names_removed: tuple[str, ...]
    programs_added: tuple[str, ...]
    programs_removed: tuple[str, ...]


@dataclass(frozen=True)
class ListDiff:
    """The difference between the list in force (old) and a new version of it."""

    list_name: str
    old_count: int
    new_count: int
    added: tuple[EntryBrief, ...]
    removed: tuple[EntryBrief, ...]
    changed: tuple[EntryChange, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> str:
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"

    def to_json(self) -> str:
        return json.dumps(_as_dict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ListDiff:
        data = json.loads(text)
        return cls(
            list_name=data["list_name"],
            old_count=data["old_count"],
            new_count=data["new_count"],
            added=tuple(_brief(item) for item in data["added"]),
            removed=tuple(_brief(item) for item in data["removed"]),
            changed=tuple(_change(item) for item in data["changed"]),
        )


def diff_entries(list_name: str, old: Sequence[Entry], new: Sequence[Entry]) -> ListDiff:
    """`new` against `old`, by entry id, the most relevant entries first in each group."""
    before = {e.id: e for e in old}
    after = {e.id: e for e in new}
    changed = [
        change
        for entry_id in sorted(before.keys() & after.keys())
        if (change := _changed(before[entry_id], after[entry_id])) is not None
    ]
    return ListDiff(
        list_name=list_name,
        old_count=len(before),
        new_count=len(after),
        added=_briefs(after[i] for i in after.keys() - before.keys()),
        removed=_briefs(before[i] for i in before.keys() - after.keys()),
        changed=tuple(sorted(changed, key=lambda c: (c.name.casefold(), c.id))),
    )


def relevance(entry: Entry | EntryBrief) -> tuple[int, int, str, str]:
    severity = {"high": 0, "medium": 1, "low": 2}.get(str(entry.severity), 3)
    kind = _TYPE_RANK.get(EntryType(str(entry.type)), 2)
    return (severity, kind, entry.name.casefold(), entry.id)


def _briefs(entries: Iterable[Entry]) -> tuple[EntryBrief, ...]:
    return tuple(
        EntryBrief(e.id, e.name, str(e.type), str(e.severity), e.programs)
        for e in sorted(entries, key=relevance)
    )


def _names(entry: Entry) -> set[str]:
    return {entry.name, *entry.aliases, *entry.weak_aliases}


def _changed(old: Entry, new: Entry) -> EntryChange | None:
    names_added = _names(new) - _names(old) - {new.name}
    names_removed = _names(old) - _names(new) - {old.name}
    programs_added = set(new.programs) - set(old.programs)
    programs_removed = set(old.programs) - set(new.programs)
    renamed = old.name != new.name
    if not (renamed or names_added or names_removed or programs_added or programs_removed):
        return None
    return EntryChange(
        id=new.id,
        name=new.name,
        old_name=old.name if renamed else "",
        names_added=tuple(sorted(names_added)),
        names_removed=tuple(sorted(names_removed)),
        programs_added=tuple(sorted(programs_added)),
        programs_removed=tuple(sorted(programs_removed)),
    )


def format_diff(diff: ListDiff, limit: int | None = None) -> str:
    """The diff for people: counts, then one line per entry (the first `limit` of each group)."""
    lines = [f"{diff.list_name}: {diff.old_count} -> {diff.new_count} entries; {diff.counts()}"]
    for label, briefs in (("added", diff.added), ("removed", diff.removed)):
        shown = briefs if limit is None else briefs[:limit]
        for b in shown:
            programs = f" [{', '.join(b.programs)}]" if b.programs else ""
            lines.append(f"  {label:<8} {b.id}  {b.name} ({b.type}){programs}")
        if len(shown) < len(briefs):
            lines.append(f"  ... and {len(briefs) - len(shown)} more {label}")
    changes = diff.changed if limit is None else diff.changed[:limit]
    lines += [f"  changed  {c.id}  {describe_change(c)}" for c in changes]
    if len(changes) < len(diff.changed):
        lines.append(f"  ... and {len(diff.changed) - len(changes)} more changed")
    return "\n".join(lines)


def describe_change(change: EntryChange) -> str:
    parts = [f"{change.old_name} -> {change.name}" if change.old_name else change.name]
    for label, items in (
        ("+names", change.names_added),
        ("-names", change.names_removed),
        ("+programs", change.programs_added),
        ("-programs", change.programs_removed),
    ):
        if items:
            parts.append(f"{label}: {'; '.join(items)}")
    return " | ".join(parts)


def _as_dict(diff: ListDiff) -> dict[str, object]:
    return {
        "list_name": diff.list_name,
        "old_count": diff.old_count,
        "new_count": diff.new_count,
        "added": [b.__dict__ for b in diff.added],
        "removed": [b.__dict__ for b in diff.removed],
        "changed": [c.__dict__ for c in diff.changed],
    }


def _brief(item: dict[str, object]) -> EntryBrief:
    return EntryBrief(
        id=str(item["id"]),
        name=str(item["name"]),
        type=str(item["type"]),
        severity=str(item["severity"]),
        programs=tuple(str(p) for p in item["programs"]),  # type: ignore[attr-defined]
    )


def _change(item: dict[str, object]) -> EntryChange:
    def many(key: str) -> tuple[str, ...]:
        return tuple(str(v) for v in item[key])  # type: ignore[attr-defined]

    return EntryChange(
        id=str(item["id"]),
        name=str(item["name"]),
        old_name=str(item["old_name"]),
        names_added=many("names_added"),
        names_removed=many("names_removed"),
        programs_added=many("programs_added"),
        programs_removed=many("programs_removed"),
    )
