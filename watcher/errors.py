"""One error family for everything a user can fix: the CLI catches `WatcherError` once."""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """An error the user can act on; its message says what is wrong and how to fix it."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One validation problem at a place in a file."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # dotted/indexed path inside the document, e.g. "entries[3].aliases"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ValidationFailed(WatcherError):  # noqa: N818 -- reads as what happened; public API
    """A config file or watchlist is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
