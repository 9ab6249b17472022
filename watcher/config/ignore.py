"""The user-editable ignore list: known false alerts to suppress, each with a reason.

    # ignore.yaml
    ignore:
      - phrase: Justice League       # this text never counts as a mention (of any entry)
        reason: film title
      - entry: ofac-sdn/12345        # this entry never raises a match (list/id, or bare id)
        reason: vessel name is an everyday word
      - phrase: Dan                  # phrase + entry: only this entry, only this text
        entry: ofac-sdn/67890

`load_ignore(path)` reads such a file: every rule needs a phrase and/or an entry, `reason` is
optional, unknown keys are refused, and every problem is reported as file:line:col. An empty
file (or ``ignore: []``) is no rules. `matching.ignore` in the config lists these files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from watcher.config.yamlfile import load_yaml, validate

_ENTRY_REF = re.compile(r"(?:[^/\s]+/)?[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class IgnoreRule:
    phrase: str | None = None  # compared case-insensitively, whole words
    entry: str | None = None  # "list/id" or a bare "id"
    reason: str = ""
    source: str = ""  # "file:line" it came from, for `watcher status`

    @property
    def label(self) -> str:
        """How `watcher status` names the rule."""
        parts = [
            f"phrase={self.phrase!r}" if self.phrase else "",
            f"entry={self.entry}" if self.entry else "",
        ]
        return " ".join(p for p in parts if p)


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str | None = None
    entry: str | None = None
    reason: str = ""

    @field_validator("phrase")
    @classmethod
    def _phrase_has_words(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("phrase must not be empty; remove the key or give the text")
        return " ".join(value.split()) if value is not None else None

    @field_validator("entry")
    @classmethod
    def _entry_is_reference(cls, value: str | None) -> str | None:
        if value is not None and not _ENTRY_REF.fullmatch(value.strip()):
            raise ValueError(
                f"entry {value!r} is not an entry reference; use list/id (e.g. ofac/ofac-17022)"
                " or a bare id"
            )
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _phrase_or_entry(self) -> _RuleModel:
        if self.phrase is None and self.entry is None:
            raise ValueError("a rule needs a phrase, an entry, or both")
        return self


class _IgnoreFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ignore: tuple[_RuleModel, ...] = ()


def load_ignore(path: Path) -> tuple[IgnoreRule, ...]:
    """The rules in one ignore file; `ValidationFailed` listing every problem (file:line:col)."""
    document = load_yaml(path)
    if document.data is None and not document.problems:
        return ()
    model = validate(document, _IgnoreFileModel)
    return tuple(
        IgnoreRule(
            phrase=rule.phrase,
            entry=rule.entry,
            reason=rule.reason,
            source=f"{path}:{document.position(('ignore', index))[0]}",
        )
        for index, rule in enumerate(model.ignore)
    )
