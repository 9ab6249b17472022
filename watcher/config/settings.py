"""Loading the config file and the watchlists, validated whole, with file:line:col errors.

    config = load_config(path)                # None: $SANCTIONS_WATCH_CONFIG, else the default
    lists = load_watchlists(config.watchlists)
    state = resolved_state_dir(config)

Relative paths in the config file are resolved against the config file's directory. Every
problem in a file is reported (and, for watchlists, every problem in every file), as one
`ValidationFailed`. The watchlist YAML schema is documented in `watcher.config.watchlist`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from watcher.config.schema import CONFIG_ENV, DEFAULT_CONFIG_PATH, ID_PATTERN, Config
from watcher.config.watchlist import (
    DerivedName,
    Entry,
    EntryType,
    NameOrder,
    NameParts,
    Severity,
    Watchlist,
)
from watcher.config.yamlfile import YamlDocument, check, gc_paused, load_yaml, sort_problems
from watcher.errors import Problem, ValidationFailed, WatcherError

WATCHLIST_SUFFIXES = (".yaml", ".yml")


# --- config ----------------------------------------------------------------------------------


def config_path(path: Path | None) -> Path:
    """The config file to read: `path`, else ``$SANCTIONS_WATCH_CONFIG``, else the default."""
    if path is not None:
        return path
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_config(path: Path | None = None) -> Config:
    """The validated config with its relative paths made absolute (against the file's
    directory); `ValidationFailed` listing every problem, including input files that are
    missing (watchlists, ignore lists, templates, SMTP password and CA files)."""
    file = config_path(path)
    if not file.is_file():
        what = "is not a file" if file.exists() else "not found"
        raise WatcherError(f"config file {file} {what} (pass --config PATH or set {CONFIG_ENV})")
    document = load_yaml(file)
    if document.data is None:  # an empty file: every default
        document.data = {}
    base = file.absolute().parent
    config, problems = check(document, Config)
    problems += _missing_inputs(document, base)
    if config is not None:
        config = _absolute_paths(config, base)
        problems += _duplicate_feeds(document, config)
        problems += _duplicate_lists(document, config)
    if problems or config is None:
        raise ValidationFailed(sort_problems(problems))
    return config


def resolved_state_dir(config: Config) -> Path:
    """`state_dir` if set, else systemd's ``$STATE_DIRECTORY`` (the first of several
    colon-separated paths), else ``./state`` in the working directory."""
    if config.state_dir is not None:
        return config.state_dir
    first = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(first) if first else Path("state").absolute()


def _absolute_paths(config: Config, base: Path) -> Config:
    def under(path: Path) -> Path:
        return _under(base, path)

    def maybe(path: Path | None) -> Path | None:
        return None if path is None else under(path)

    matching = config.matching.model_copy(
        update={"ignore": tuple(under(p) for p in config.matching.ignore)}
    )
    email = config.email.model_copy(
        update={
            "directory": under(config.email.directory),
            "templates": maybe(config.email.templates),
        }
    )
    smtp = config.smtp.model_copy(
        update={
            "password_file": maybe(config.smtp.password_file),
            "ca_file": maybe(config.smtp.ca_file),
        }
    )
    lists = tuple(item.model_copy(update={"path": maybe(item.path)}) for item in config.lists)
    database = config.database
    if database is not None:  # its password file is read at connect time, not checked here
        database = database.model_copy(update={"password_file": maybe(database.password_file)})
    return config.model_copy(
        update={
            "database": database,
            "lists": lists,
            "state_dir": maybe(config.state_dir),
            "watchlists": tuple(under(p) for p in config.watchlists),
            "matching": matching,
            "email": email,
            "smtp": smtp,
        }
    )


# Where the config names files the daemon reads (lists: every item of the list).
_INPUT_PATHS: tuple[tuple[str, ...], ...] = (
    ("watchlists",),
    ("matching", "ignore"),
    ("email", "templates"),
    ("smtp", "password_file"),
    ("smtp", "ca_file"),
)


def _missing_inputs(document: YamlDocument, base: Path) -> list[Problem]:
    """Files the config names that the daemon will read, and that are not there. Read from
    the raw data, so that they are reported even when other values are invalid."""
    problems = []
    for loc, value in _input_paths(document.data):
        path = _under(base, Path(value))
        if not path.exists():
            message = (
                f"{path} does not exist; fix the path "
                "(relative paths are resolved against the config file's directory)"
            )
            problems.append(document.problem(loc, message))
    return problems


def _input_paths(data: object) -> Iterable[tuple[tuple[str | int, ...], str]]:
    for keys in _INPUT_PATHS:
        value = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            yield keys, value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    yield (*keys, index), item


def _under(base: Path, path: Path) -> Path:
    """`path` with ``~`` expanded, relative to `base` unless absolute."""
    path = path.expanduser()
    return path if path.is_absolute() else base / path


def _duplicate_feeds(document: YamlDocument, config: Config) -> list[Problem]:
    urls = [feed.url for feed in config.feeds]
    return [
        document.problem(
            ("feeds", index, "url"), f"feed {url} is already listed as feeds[{first}]; remove one"
        )
        for index, first, url in _repeats(urls)
    ]


def _duplicate_lists(document: YamlDocument, config: Config) -> list[Problem]:
    names = [item.name for item in config.lists]
    return [
        document.problem(
            ("lists", index, "name"),
            f"list {name!r} is already configured as lists[{first}]; rename one",
        )
        for index, first, name in _repeats(names)
    ]


def _repeats(values: list[str]) -> list[tuple[int, int, str]]:
    """(index, index of its first use, value) for each value seen before."""
    first_use: dict[str, int] = {}
    return [
        (index, first, value)
        for index, value in enumerate(values)
        if (first := first_use.setdefault(value, index)) != index
    ]


# --- the watchlist file schema ---------------------------------------------------------------


def _check_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (e.g. rosneft, 12345)"
        )
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Id = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_id)]


class _Strict(BaseModel):
    # numbers are accepted where text is expected: OFAC ids (12345), names like "1MDB" are text
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class EntryOptions(_Strict):
    """The entry fields a list's ``defaults:`` may set."""

    type: EntryType = EntryType.ORGANIZATION
    weak_aliases: tuple[Name, ...] = ()
    severity: Severity = Severity.MEDIUM
    programs: tuple[Name, ...] = ()
    notes: Text = ""
    threshold: int | None = Field(default=None, ge=0, le=100)
    exclude: tuple[Name, ...] = ()
    match_vessels: bool = False


_OPTION_FIELDS = tuple(EntryOptions.model_fields)


class NamePartsModel(_Strict):
    """``name_parts:`` of an entry (see `watcher.config.watchlist.NameParts`)."""

    given: tuple[Name, ...] = ()
    middle: tuple[Name, ...] = ()
    family: tuple[Name, ...] = ()
    order: NameOrder = NameOrder.GIVEN_FIRST


class DerivedModel(_Strict):
    """One item of ``derived:`` (see `watcher.config.watchlist.DerivedName`)."""

    name: Name
    rule: Id
    needs: Literal["", "cue-and-country"] = ""  # see `DerivedName.needs`


class EntryModel(EntryOptions):
    """One item of ``entries:``."""

    id: Id
    name: Name
    aliases: tuple[Name, ...] = ()
    name_parts: NamePartsModel | None = None
    derived: tuple[DerivedModel, ...] = ()
    titles: tuple[Name, ...] = ()
    countries: tuple[Name, ...] = ()
    birth_dates: tuple[Name, ...] = ()
    identifiers: tuple[Name, ...] = ()


class WatchlistFile(_Strict):
    """A whole watchlist file."""

    list_name: Id | None = Field(default=None, alias="list")
    description: Text = ""
    defaults: EntryOptions = EntryOptions()
    entries: tuple[EntryModel, ...]


# --- loading watchlists ----------------------------------------------------------------------


def watchlist_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The files `paths` name: files as given, directories as their *.yaml/*.yml files
    (sorted, not recursive, hidden files skipped: editors' backups and locks). Missing paths
    and empty directories are problems."""
    files: dict[Path, Path] = {}  # resolved -> as named: a file named twice is loaded once
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.suffix in WATCHLIST_SUFFIXES and not p.name.startswith(".") and p.is_file()
            )
            if not found:
                problems.append(Problem(str(path), 0, 0, "", "directory has no *.yaml watchlists"))
            files.update((p.resolve(), p) for p in found if p.resolve() not in files)
        elif path.exists():
            files.setdefault(path.resolve(), path)
        else:
            problems.append(Problem(str(path), 0, 0, "", "watchlist file or directory not found"))
    return list(files.values()), problems


def load_watchlists(
    paths: Sequence[Path], report: Callable[[str], None] | None = None
) -> list[Watchlist]:
    """Every watchlist in `paths` (files or directories), validated; `ValidationFailed`
    with the problems of all files at once. List names must be unique across files.
    ``report`` hears which file is being read (`watcher.progress`)."""
    files, problems = watchlist_files(paths)
    loaded: list[tuple[Watchlist, YamlDocument]] = []
    for number, file in enumerate(files, start=1):
        if report is not None:
            report(f"reading watchlist {file} ({number}/{len(files)})")
        try:
            loaded.append(_load_watchlist(file))
        except ValidationFailed as exc:
            problems += exc.problems
    problems += _duplicate_list_names(loaded)
    if problems:
        raise ValidationFailed(problems)
    return [watchlist for watchlist, _ in loaded]


def load_watchlist_file(path: Path) -> Watchlist:
    """One watchlist file, validated, with its defaults applied to every entry."""
    return _load_watchlist(path)[0]


def _load_watchlist(path: Path) -> tuple[Watchlist, YamlDocument]:
    with gc_paused():
        return _load_watchlist_unpaused(path)


def _load_watchlist_unpaused(path: Path) -> tuple[Watchlist, YamlDocument]:
    document = load_yaml(path)
    if document.data is None:
        message = "the file is empty; a watchlist needs at least 'entries:' (see watchlists/)"
        raise ValidationFailed([Problem(str(path), 1, 1, "", message)])
    model, problems = check(document, WatchlistFile)
    problems += _duplicate_ids(document)
    problems += _unusable_names(document)
    if model is not None and model.list_name is None and not ID_PATTERN.fullmatch(path.stem):
        message = (
            f"the list is named after the file, but {path.stem!r} is not a valid list name; "
            "add e.g. 'list: russia-energy' (lowercase letters, digits, '.', '_', '-')"
        )
        problems.append(Problem(str(path), 1, 1, "", message))
    if problems or model is None:
        raise ValidationFailed(sort_problems(problems))
    return _watchlist(model, path), document


def _duplicate_ids(document: YamlDocument) -> list[Problem]:
    """Entry ids used twice, read from the raw data so they are found with other errors."""
    entries = document.data.get("entries") if isinstance(document.data, dict) else None
    if not isinstance(entries, list):
        return []
    first_use: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str | int):
            continue
        entry_id = str(entry["id"]).strip()
        if entry_id not in first_use:
            first_use[entry_id] = index
            continue
        first = first_use[entry_id]
        line, _ = document.position(("entries", first, "id"))
        message = (
            f"duplicate id {entry_id!r}: entries[{first}] (line {line}) already uses it; "
            "ids must be unique within a list"
        )
        problems.append(document.problem(("entries", index, "id"), message))
    return problems


_NAME_FIELDS = ("name", "aliases", "weak_aliases")


def _unusable_names(document: YamlDocument) -> list[Problem]:
    """Names and aliases that cannot work, read from the raw data so they are found with other
    errors: a single letter or digit (``a`` would match the word "a" everywhere), or no letter
    or digit at all (``!!!`` never matches: the matcher reads words)."""
    entries = document.data.get("entries") if isinstance(document.data, dict) else None
    if not isinstance(entries, list):
        return []
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        for field in _NAME_FIELDS:
            value = entry.get(field)
            named: list[tuple[tuple[str | int, ...], object]] = (
                [((field,), value)] if field == "name" else []
            )
            if isinstance(value, list):
                named = [((field, i), item) for i, item in enumerate(value)]
            for loc, name in named:
                why = _why_unusable(name)
                if why:
                    problems.append(document.problem(("entries", index, *loc), why))
    return problems


def _why_unusable(name: object) -> str:
    if not isinstance(name, str | int) or isinstance(name, bool) or not str(name).strip():
        return ""  # not text, or empty: the schema reports it
    text = str(name).strip()
    characters = [char for char in text if char.isalnum()]
    if not characters:
        return (
            f"{text!r} has no letters or digits, so it can never match; write the name as it "
            "appears in the news, or remove it"
        )
    if len(characters) == 1:
        return (
            f"{text!r} is a single character: it would match {characters[0]!r} everywhere; "
            "write the full name, or remove it"
        )
    return ""


def _duplicate_list_names(loaded: Iterable[tuple[Watchlist, YamlDocument]]) -> list[Problem]:
    first_file: dict[str, str] = {}
    problems = []
    for watchlist, document in loaded:
        if watchlist.name not in first_file:
            first_file[watchlist.name] = watchlist.source
            continue
        message = (
            f"list name {watchlist.name!r} is already used by {first_file[watchlist.name]}; "
            "list names must be unique (set a different 'list:' in one of the files)"
        )
        problems.append(document.problem(("list",), message, at_key=True))
    return problems


def _watchlist(model: WatchlistFile, path: Path) -> Watchlist:
    name = model.list_name or path.stem
    defaults = {field: getattr(model.defaults, field) for field in _OPTION_FIELDS}
    entries = tuple(_entry(name, entry, defaults) for entry in model.entries)
    return Watchlist(name=name, description=model.description, source=str(path), entries=entries)


def _entry(list_name: str, model: EntryModel, defaults: dict[str, object]) -> Entry:
    values = model.__dict__  # field values; getattr per field is measurably slower on 15k entries
    options = defaults | {f: values[f] for f in model.model_fields_set if f in defaults}
    name = values["name"]
    aliases = _unique(values["aliases"], exclude=(name,))
    if options["weak_aliases"]:
        options["weak_aliases"] = _unique(options["weak_aliases"], exclude=(name, *aliases))  # type: ignore[arg-type]
    if model.model_fields_set & _DESCRIPTIVE_FIELDS:
        options |= _described(model)
    return Entry(list_name=list_name, id=values["id"], name=name, aliases=aliases, **options)  # type: ignore[arg-type]


# What the source says about the entity: most hand-made entries set none of these, and a
# 15k-entry list is loaded on start-up, so they are copied only when set.
_DESCRIPTIVE_FIELDS = frozenset(
    ("name_parts", "derived", "titles", "countries", "birth_dates", "identifiers")
)


def _described(model: EntryModel) -> dict[str, object]:
    """The descriptive fields, as `Entry` arguments (one construction per entry: on a 15k-entry
    list a second one, through dataclasses.replace, cost ~0.15 s of every cold start)."""
    parts = model.name_parts
    return {
        "name_parts": None
        if parts is None
        else NameParts(parts.given, parts.middle, parts.family, parts.order),
        "derived": tuple(DerivedName(d.name, d.rule, d.needs) for d in model.derived),
        "titles": model.titles,
        "countries": model.countries,
        "birth_dates": model.birth_dates,
        "identifiers": model.identifiers,
    }


def _unique(names: tuple[str, ...], *, exclude: tuple[str, ...]) -> tuple[str, ...]:
    """`names` without repeats or members of `exclude`, in their order."""
    if not names:
        return names
    return tuple(name for name in dict.fromkeys(names) if name not in exclude)
