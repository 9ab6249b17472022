"""The user-editable ignore list: known false alerts to suppress, each with a reason.

    # ignore.yaml
    ignore:
      - phrase: Justice League       # this text never counts as a mention (of any entry)
        reason: film title
      - entry: ofac-sdn/12345        # this entry never raises a match (list/id, or bare id)
        reason: vessel name is an everyday word
      - phrase: Dan                  # phrase + entry: only this entry, only this text
        entry: ofac-sdn/67890

Loading with file:line:col errors is added by the importers/noise-control work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IgnoreRule:
    phrase: str | None = None  # compared case-insensitively, whole words
    entry: str | None = None  # "list/id" or a bare "id"
    reason: str = ""
    source: str = ""  # "file:line" it came from, for `watcher status`

    @property
    def label(self) -> str:
        """How `watcher status` names the rule."""
        parts = [f"phrase={self.phrase!r}" if self.phrase else "", f"entry={self.entry}" if self.entry else ""]
        return " ".join(p for p in parts if p)
