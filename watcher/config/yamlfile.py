"""Reading YAML files users edit, fast, with file:line:col positions for every problem.

`load_yaml(path)` parses a file into plain Python data (dicts, lists, str, int, float, bool,
None) under the YAML 1.2 core schema: ``yes``/``no``/``on``/``off`` stay text, and so do dates.
The parser is libyaml (PyYAML's ``CSafeLoader``), driven event by event: the 15,000-entry,
33,000-name OFAC watchlist parses in under 0.3 s (``bench/bench_load.py``), where PyYAML's own
constructor takes about 1 s and ruamel.yaml's pure-Python round-trip loader about 10 s.

While building the data it collects, without stopping at the first: duplicate mapping keys,
YAML tags other than the core ``!!str``/``!!int``/``!!float``/``!!bool``/``!!null``/``!!seq``/
``!!map`` (so ``!!python/object`` and ``!custom`` are refused; nothing is ever instantiated),
undefined aliases, non-text keys and extra documents. Syntax errors stop parsing and are reported
at their position.

`validate(document, Model)` then checks the data against a pydantic model and turns every
pydantic error into a `Problem` at the YAML node its ``loc`` names: unknown keys point at the
key, bad values at the value, missing keys at the mapping that lacks them. Positions are only
collected (by a second parse) when there is something to report.
"""

from __future__ import annotations

import difflib
import gc
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from watcher.errors import Problem, ValidationFailed

M = TypeVar("M", bound=BaseModel)
Loc = Sequence[str | int]

_CORE = "tag:yaml.org,2002:"
_INT = re.compile(r"[-+]?[0-9]+$")
_INT_OTHER = re.compile(r"0o[0-7]+$|0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_FLOAT_SPECIAL = {
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
}
_WORDS: dict[str, object] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL")),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}
_NUMBER_START = frozenset("0123456789-+.")
# first characters of plain scalars that may not be text: numbers, null, booleans ("" too)
_SPECIAL_START = frozenset(["", *_NUMBER_START, "~", "n", "N", "t", "T", "f", "F"])
_NO_KEY = object()  # a mapping frame waiting for its next key
_SKIP = object()  # a mapping frame dropping the value of an invalid key


# Positions: 1-based (line, column) of a node, plus its children's for containers.
@dataclass
class _Pos:
    line: int
    column: int
    keys: dict[object, tuple[int, int]] | None = None  # mapping: key -> position of the key
    children: dict[object, _Pos] | list[_Pos] | None = None


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, the problems parsing found, and positions on demand."""

    path: Path
    data: object
    problems: list[Problem] = field(default_factory=list)
    _text: str = ""
    _root: _Pos | None = None

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """(line, column) of the node at `loc` (or its key); the nearest existing ancestor's
        position when the path does not exist (a missing key: the mapping lacking it)."""
        if self._root is None:
            self._root = _build(self._text, str(self.path), track=True)[1] or _Pos(1, 1)
        node = self._root
        for depth, step in enumerate(loc):
            child = _child(node, step)
            if child is None:
                return node.line, node.column
            if at_key and depth == len(loc) - 1 and node.keys is not None:
                return node.keys[_key_for(node, step)]
            node = child
        return node.line, node.column

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A `Problem` at `loc` (e.g. ``("entries", 3, "aliases")``) in this file."""
        line, column = self.position(loc, at_key=at_key)
        return Problem(str(self.path), line, column, format_loc(loc), message)


def load_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file; raise `ValidationFailed` if it cannot be read or parsed at all.

    Duplicate keys, forbidden tags and the like are returned in `YamlDocument.problems`
    (alongside the best-effort data) so that they are reported together with schema errors.
    """
    text = read_text(path)
    data, _, problems = _build(text, str(path), track=False)
    return YamlDocument(path, data, problems, text)


def read_text(path: Path) -> str:
    """The file's text (UTF-8, BOM allowed); `ValidationFailed` naming the file otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _file_problem(path, "file not found") from None
    except IsADirectoryError:
        raise _file_problem(path, "is a directory, expected a YAML file") from None
    except OSError as exc:
        raise _file_problem(path, f"cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise ValidationFailed([Problem(str(path), line, column, "", message)]) from None


def _file_problem(path: Path, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(str(path), 0, 0, "", message)])


def validate(document: YamlDocument, model: type[M], *, root: Loc = ()) -> M:
    """`model` validated from the document's data (or the part at `root`); raise
    `ValidationFailed` with every parse and schema problem, sorted by position."""
    value, problems = check(document, model, root=root)
    if problems or value is None:
        raise ValidationFailed(sort_problems(problems))
    return value


def check(
    document: YamlDocument, model: type[M], *, root: Loc = ()
) -> tuple[M | None, list[Problem]]:
    """Like `validate`, but returns ``(value or None, every problem)`` so that callers can
    add problems of their own (duplicate ids, missing files) before reporting them all."""
    problems = list(document.problems)
    try:
        value: M | None = model.model_validate(_at(document.data, root))
    except ValidationError as exc:
        value = None
        # a value with a forbidden tag is already reported; its schema error would be noise
        reported = {(p.line, p.column) for p in problems}
        found = validation_problems(document, exc, model, root=root)
        problems += [p for p in found if (p.line, p.column) not in reported]
    return value, problems


def validation_problems(
    document: YamlDocument, error: ValidationError, model: type[BaseModel], *, root: Loc = ()
) -> list[Problem]:
    """Each pydantic error as a `Problem` at its YAML position, with a message saying what
    is wrong and what is allowed. `root` prefixes every ``loc`` (the model's place in the file)."""
    problems = []
    for details in error.errors(include_url=False):
        loc = (*root, *details["loc"])
        unknown_key = details["type"] == "extra_forbidden"
        message = _message(details, model)
        problems.append(document.problem(loc, message, at_key=unknown_key))
    return problems


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """File order: by file, then line, then column (unknown positions first)."""
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def format_loc(loc: Loc) -> str:
    """``("entries", 3, "aliases")`` -> ``entries[3].aliases``."""
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


# --- building data from libyaml events ---------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cycle collector off during a bulk load (nests). Building hundreds of thousands of
    containers triggers it over and over (it made loading the OFAC list four times slower);
    it runs again afterwards, so nothing goes uncollected."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(text: str, source: str, *, track: bool) -> tuple[object, _Pos | None, list[Problem]]:
    """Parse `text` into data (and positions when `track`), collecting problems as it goes."""
    builder = _Builder(source, track)
    parser = yaml.CSafeLoader(text)
    try:
        with gc_paused():
            builder.run(parser)
    except yaml.MarkedYAMLError as exc:
        raise ValidationFailed([_syntax_problem(source, exc)]) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed([Problem(source, 0, 0, "", f"invalid YAML: {exc}")]) from None
    finally:
        parser.dispose()
    return builder.root, builder.root_pos, builder.problems


def _syntax_problem(source: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        started = f" started on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        what += f" ({exc.context}{started})"
    return Problem(source, line, column, "", f"YAML syntax error: {what}")


class _Builder:
    """Turns the event stream into data. Frames are ``[container, pending key, positions]``."""

    def __init__(self, source: str, track: bool) -> None:
        self.source = source
        self.track = track
        self.root: object = None
        self.root_pos: _Pos | None = None
        self.problems: list[Problem] = []
        self.anchors: dict[str, object] = {}
        self.documents = 0

    def run(self, parser: yaml.CSafeLoader) -> None:  # noqa: PLR0912, PLR0915
        """One flat dispatch loop: ~300,000 events for the OFAC list, so no call per event."""
        stack: list[list[Any]] = []
        frame: list[Any] | None = None  # stack[-1]: [container, pending key, positions]
        get_event: Callable[[], Any] = parser.get_event
        anchors = self.anchors
        track = self.track
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        no_key, special_start = _NO_KEY, _SPECIAL_START
        while (event := get_event()) is not None:
            kind = type(event)
            pos: _Pos | None = None
            if kind is scalar_event:
                # the common case inline: an untagged plain word that is not a number
                value: Any = event.value
                if event.tag is not None or (event.implicit[0] and value[:1] in special_start):
                    value = self._scalar(event)
                if event.anchor is not None:
                    anchors[event.anchor] = value
                if track:
                    pos = self._pos(event)
            elif kind is mapping_start or kind is sequence_start:
                frame = self._start(event, kind is mapping_start)
                stack.append(frame)
                continue
            elif kind in ends:
                value, _, pos = stack.pop()
                frame = stack[-1] if stack else None
            elif kind is alias_event:
                value = self._alias(event)
                if track:
                    pos = self._pos(event)
            else:
                if kind is yaml.DocumentStartEvent:
                    self._document_start(event)
                continue
            if frame is None:
                self.root, self.root_pos = value, pos
                continue
            container = frame[0]
            if type(container) is list:
                container.append(value)
                if track:
                    frame[2].children.append(pos)
            elif frame[1] is no_key:
                if type(value) is str and value not in container and value != "<<" and not track:
                    frame[1] = value
                else:
                    frame[1] = self._key(container, value, event, frame, pos)
            else:
                if frame[1] is not _SKIP:
                    container[frame[1]] = value
                    if track:
                        frame[2].children[frame[1]] = pos
                frame[1] = no_key

    def _start(self, event: Any, mapping: bool) -> list[Any]:
        """A new frame for a mapping or sequence start event."""
        container: dict[object, object] | list[object] = {} if mapping else []
        if event.tag is not None:
            self._check_tag(event, "map" if mapping else "seq")
        if event.anchor is not None:
            self.anchors[event.anchor] = container
        positions = None
        if self.track:
            positions = self._pos(event)
            positions.children = {} if mapping else []
            positions.keys = {} if mapping else None
        return [container, _NO_KEY, positions]

    def _scalar(self, event: Any) -> object:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            return _resolve_plain(value) if event.implicit[0] else value
        if tag == _CORE + "str":
            return value
        kind = tag.removeprefix(_CORE)
        expected = {"int": int, "float": float, "bool": bool, "null": type(None)}.get(kind)
        if expected is None:
            self._check_tag(event, "scalar")
            return value
        resolved = _resolve_plain(value)
        if expected is float and type(resolved) is int:
            return float(resolved)
        if type(resolved) is not expected:
            self._add(event, f"{value!r} is not a valid !!{kind}")
        return resolved

    def _check_tag(self, event: Any, allowed: str) -> None:
        tag = getattr(event, "tag", None)
        if tag is None or tag == "!" or tag == _CORE + allowed:
            return
        shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
        self._add(
            event,
            f"YAML tag {shown} is not allowed; remove it "
            "(only plain text, numbers, true/false, lists and mappings are accepted)",
        )

    def _alias(self, event: Any) -> object:
        try:
            return self.anchors[event.anchor]
        except KeyError:
            self._add(event, f"alias *{event.anchor} refers to no anchor &{event.anchor} above it")
            return None

    def _key(
        self,
        mapping: dict[object, object],
        key: object,
        event: Any,
        frame: list[Any],
        pos: _Pos | None,
    ) -> object:
        """The key as text (``1:`` and ``null:`` are names too), or `_SKIP` for a key that
        cannot be one (its problem is reported; its value is dropped)."""
        if type(event) is yaml.ScalarEvent:
            key = event.value
        elif not isinstance(key, str):
            self._add(event, "mapping keys must be plain text, not lists or mappings")
            return _SKIP
        if key == "<<":
            self._add(
                event,
                "merge keys (<<: *anchor) are not supported; repeat the keys "
                "(in a watchlist, 'defaults:' sets values shared by all entries)",
            )
            return _SKIP
        if key in mapping:
            self._add(event, f"duplicate key {key!r}; each key may appear once in a mapping")
        if self.track and pos is not None:
            frame[2].keys[key] = (pos.line, pos.column)
        return key

    def _document_start(self, event: Any) -> None:
        self.documents += 1
        if self.documents == 2:
            self._add(event, "a second YAML document (---) is not allowed; one per file")

    def _pos(self, event: Any) -> _Pos:
        mark = event.start_mark
        return _Pos(mark.line + 1, mark.column + 1)

    def _add(self, event: Any, message: str) -> None:
        mark = event.start_mark
        self.problems.append(Problem(self.source, mark.line + 1, mark.column + 1, "", message))


def _resolve_plain(value: str) -> object:
    """YAML 1.2 core schema for an untagged plain scalar."""
    if value in _WORDS:
        return _WORDS[value]
    return _resolve_number(value) if value[0] in _NUMBER_START else value


def _resolve_number(value: str) -> object:
    try:
        if _INT.match(value):
            return int(value)
        if _INT_OTHER.match(value):
            return int(value[2:], 8 if value[1] == "o" else 16)
    except ValueError:  # more digits than Python converts (sys.int_info): keep the text
        return value
    if _FLOAT.match(value):
        return float(value)
    return _FLOAT_SPECIAL.get(value, value)


# --- positions -----------------------------------------------------------------------------


def _key_for(node: _Pos, step: str | int) -> object:
    """The mapping key a pydantic ``loc`` step names (numeric keys come back as text)."""
    assert node.keys is not None
    if step in node.keys:
        return step
    for key in node.keys:
        if str(key) == str(step):
            return key
    return step


def _child(node: _Pos, step: str | int) -> _Pos | None:
    children = node.children
    if isinstance(children, list):
        return children[step] if isinstance(step, int) and 0 <= step < len(children) else None
    if isinstance(children, dict) and node.keys is not None:
        return children.get(_key_for(node, step))
    return None


def _at(data: object, loc: Loc) -> object:
    for step in loc:
        data = data[step] if isinstance(data, dict | list) else None  # type: ignore[index]
    return data


# --- messages ------------------------------------------------------------------------------

_TYPE_MESSAGES = {
    "missing": "required key is missing; add it",
    "tuple_type": "expected a list, e.g. [A, B] or one '- item' per line",
    "list_type": "expected a list, e.g. [A, B] or one '- item' per line",
    "string_type": "expected text",
    "model_type": "expected a mapping of 'key: value' lines",
    "model_attributes_type": "expected a mapping of 'key: value' lines",
    "dict_type": "expected a mapping of 'key: value' lines",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_too_short": "must not be empty",
}


_BOUNDS = {
    "less_than_equal": "at most",
    "less_than": "less than",
    "greater_than_equal": "at least",
    "greater_than": "greater than",
}


def _message(details: ErrorDetails, model: type[BaseModel]) -> str:
    kind = details["type"]
    loc = details["loc"]
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing; add it" if loc else "required key missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc, model)
    given, ctx = details.get("input"), details.get("ctx", {})
    if kind in ("enum", "literal_error"):
        return f"{_show(given)} is not allowed; use one of {ctx.get('expected', '')}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {next(iter(ctx.values()), '?')}, got {_show(given)}"
    message = _TYPE_MESSAGES.get(kind, str(details["msg"]).removeprefix("Value error, "))
    return (
        message if kind in ("value_error", "string_too_short") else f"{message}, got {_show(given)}"
    )


def _show(value: object) -> str:
    """A short rendering of the offending value (containers only by kind)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key_message(loc: tuple[str | int, ...], model: type[BaseModel]) -> str:
    key = str(loc[-1]) if loc else "?"
    owner = _model_at(model, loc[:-1])
    if owner is None:
        return f"unknown key {key!r}"
    allowed = sorted(info.alias or name for name, info in owner.model_fields.items())
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model describing the mapping at `loc` below `model`, if any."""
    current: object = model
    for step in loc:
        current = _unwrap(current)
        if isinstance(step, int):
            args = typing.get_args(current)
            if not args:
                return None
            current = args[0]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        if step not in fields:
            return None
        current = fields[step].annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: object) -> object:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
