"""Watchlist files: every rejection with its exact file:line:col, defaults, and the examples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config.settings import load_watchlist_file, load_watchlists
from watcher.config.watchlist import Entry, EntryType, Severity
from watcher.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[1]
ALLOWED_ENTRY_KEYS = (
    "aliases, birth_dates, countries, derived, exclude, id, identifiers, match_vessels, name, "
    "name_parts, notes, programs, severity, threshold, titles, type, weak_aliases"
)
TAG_MESSAGE = (
    "is not allowed; remove it (only plain text, numbers, true/false, lists and mappings are "
    "accepted)"
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    """The problems loading `path` reports, with the file name shortened to its base name."""
    with pytest.raises(ValidationFailed) as caught:
        load_watchlist_file(path)
    return [str(p).replace(str(path.parent) + "/", "") for p in caught.value.problems]


REJECTIONS = [
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            sevrity: high
        """,
        [
            f"l.yaml:4:5: entries[0].sevrity: unknown key 'sevrity' (did you mean 'severity'?); "
            f"allowed keys: {ALLOWED_ENTRY_KEYS}"
        ],
        id="unknown-entry-key-points-at-key",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            severity: critical
        """,
        [
            "l.yaml:4:15: entries[0].severity: 'critical' is not allowed; "
            "use one of 'low', 'medium' or 'high'"
        ],
        id="bad-severity-points-at-value",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            type: company
        """,
        [
            "l.yaml:4:11: entries[0].type: 'company' is not allowed; "
            "use one of 'organization', 'person', 'vessel' or 'other'"
        ],
        id="bad-type",
    ),
    pytest.param(
        """
        entries:
          - id: Rosneft Oil
            name: Rosneft
        """,
        [
            "l.yaml:2:9: entries[0].id: 'Rosneft Oil' is not a valid id: use lowercase letters, "
            "digits, '.', '_' and '-', starting with a letter or digit (e.g. rosneft, 12345)"
        ],
        id="bad-id",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            aliases: [NK Rosneft]
        """,
        ["l.yaml:2:5: entries[0].name: required key 'name' is missing; add it"],
        id="missing-name-points-at-entry",
    ),
    pytest.param(
        """
        entries:
          - name: Rosneft
        """,
        ["l.yaml:2:5: entries[0].id: required key 'id' is missing; add it"],
        id="missing-id",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: "  "
        """,
        ["l.yaml:3:11: entries[0].name: must not be empty"],
        id="blank-name",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            aliases: [NK Rosneft, "", Роснефть]
        """,
        ["l.yaml:4:27: entries[0].aliases[1]: must not be empty"],
        id="empty-alias",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            aliases:
              - NK Rosneft
              -
        """,
        ["l.yaml:6:8: entries[0].aliases[1]: expected text, got nothing (null)"],
        id="null-alias",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            aliases: NK Rosneft
        """,
        [
            "l.yaml:4:14: entries[0].aliases: expected a list, e.g. [A, B] or one '- item' "
            "per line, got 'NK Rosneft'"
        ],
        id="aliases-not-a-list",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            threshold: 120
        """,
        ["l.yaml:4:16: entries[0].threshold: must be at most 100, got 120"],
        id="threshold-above-100",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            threshold: high
        """,
        ["l.yaml:4:16: entries[0].threshold: expected a whole number, got 'high'"],
        id="threshold-not-a-number",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            match_vessels: maybe
        """,
        ["l.yaml:4:20: entries[0].match_vessels: expected true or false, got 'maybe'"],
        id="bad-bool",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
          - id: lukoil
            name: Lukoil
          - id: rosneft
            name: Rosneft Trading
        """,
        [
            "l.yaml:6:9: entries[2].id: duplicate id 'rosneft': entries[0] (line 2) already "
            "uses it; ids must be unique within a list"
        ],
        id="duplicate-entry-id",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            name: Rosneft Oil
        """,
        ["l.yaml:4:5: duplicate key 'name'; each key may appear once in a mapping"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: !!python/object/apply:os.system [echo pwned]
        """,
        [f"l.yaml:3:11: YAML tag !!python/object/apply:os.system {TAG_MESSAGE}"],
        id="python-tag-on-sequence",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: !!python/name:os.system
        """,
        [f"l.yaml:3:11: YAML tag !!python/name:os.system {TAG_MESSAGE}"],
        id="python-tag-on-scalar",
    ),
    pytest.param(
        """
        entries: !!python/object:collections.OrderedDict
          - id: rosneft
            name: Rosneft
        """,
        [f"l.yaml:1:10: YAML tag !!python/object:collections.OrderedDict {TAG_MESSAGE}"],
        id="python-tag-on-mapping",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: !custom Rosneft
            notes: !!binary aGVsbG8=
        """,
        [
            f"l.yaml:3:11: YAML tag !custom {TAG_MESSAGE}",
            f"l.yaml:4:12: YAML tag !!binary {TAG_MESSAGE}",
        ],
        id="custom-and-non-core-tags",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            threshold: !!int ninety
        """,
        ["l.yaml:4:16: 'ninety' is not a valid !!int"],
        id="core-tag-with-wrong-value",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: [Rosneft
        """,
        [
            "l.yaml:4:1: YAML syntax error: did not find expected ',' or ']' "
            "(while parsing a flow sequence started on line 3)"
        ],
        id="syntax-error",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
           name: Rosneft
        """,
        [
            "l.yaml:3:4: YAML syntax error: did not find expected '-' indicator "
            "(while parsing a block collection started on line 2)"
        ],
        id="bad-indentation",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            aliases: *missing
        """,
        ["l.yaml:4:14: alias *missing refers to no anchor &missing above it"],
        id="undefined-alias",
    ),
    pytest.param(
        """
        entries:
          - &rosneft {id: rosneft, name: Rosneft, severity: high}
          - <<: *rosneft
            id: rosneft-trading
        """,
        [
            "l.yaml:3:5: merge keys (<<: *anchor) are not supported; repeat the keys "
            "(in a watchlist, 'defaults:' sets values shared by all entries)"
        ],
        id="merge-key",
    ),
    pytest.param(
        """
        entries:
          - id: rosneft
            name: Rosneft
            1: one
            ? [complex]
            : key
        """,
        [
            f"l.yaml:4:5: entries[0].1: unknown key '1'; allowed keys: {ALLOWED_ENTRY_KEYS}",
            "l.yaml:5:15: mapping keys must be plain text, not lists or mappings",
        ],
        id="non-text-keys",
    ),
    pytest.param(
        """
        list: test
        entries: []
        ---
        list: other
        entries: []
        """,
        ["l.yaml:3:1: a second YAML document (---) is not allowed; one per file"],
        id="two-documents",
    ),
    pytest.param(
        """
        - id: rosneft
          name: Rosneft
        """,
        ["l.yaml:1:1: expected a mapping of 'key: value' lines, got a list"],
        id="root-not-a-mapping",
    ),
    pytest.param(
        """
        list: test
        """,
        ["l.yaml:1:1: entries: required key 'entries' is missing; add it"],
        id="no-entries",
    ),
    pytest.param(
        """
        entries:
          id: rosneft
          name: Rosneft
        """,
        [
            "l.yaml:2:3: entries: expected a list, e.g. [A, B] or one '- item' per line, "
            "got a mapping"
        ],
        id="entries-not-a-list",
    ),
    pytest.param(
        """
        list: Russia Energy
        entries: []
        """,
        [
            "l.yaml:1:7: list: 'Russia Energy' is not a valid id: use lowercase letters, "
            "digits, '.', '_' and '-', starting with a letter or digit (e.g. rosneft, 12345)"
        ],
        id="bad-list-name",
    ),
    pytest.param(
        """
        list: test
        title: Test list
        entries: []
        """,
        [
            "l.yaml:2:1: title: unknown key 'title'; allowed keys: defaults, description, "
            "entries, list"
        ],
        id="unknown-top-level-key",
    ),
    pytest.param(
        """
        defaults:
          id: x
          severity: high
        entries: []
        """,
        [
            "l.yaml:2:3: defaults.id: unknown key 'id'; allowed keys: exclude, match_vessels, "
            "notes, programs, severity, threshold, type, weak_aliases"
        ],
        id="id-in-defaults",
    ),
    pytest.param(
        """
        defaults:
          severity: urgent
        entries: []
        """,
        [
            "l.yaml:2:13: defaults.severity: 'urgent' is not allowed; "
            "use one of 'low', 'medium' or 'high'"
        ],
        id="bad-default",
    ),
    pytest.param(
        "",
        ["l.yaml:1:1: the file is empty; a watchlist needs at least 'entries:' (see watchlists/)"],
        id="empty-file",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REJECTIONS)
def test_rejection_is_reported_at_its_position(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert problems_of(write(tmp_path, "l.yaml", text)) == expected


def test_names_that_cannot_work_are_rejected_at_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "l.yaml",
        """
        entries:
          - id: x
            name: X
          - id: putin
            name: Vladimir Putin
            aliases: [Putin, a, "!!!"]
            weak_aliases: ["17022", 3M, V., "7"]
          - id: ok
            name: "M23"
        """,
    )
    single = "write the full name, or remove it"
    assert problems_of(path) == [
        f"l.yaml:3:11: entries[0].name: 'X' is a single character: it would match 'X' "
        f"everywhere; {single}",
        f"l.yaml:6:22: entries[1].aliases[1]: 'a' is a single character: it would match 'a' "
        f"everywhere; {single}",
        "l.yaml:6:25: entries[1].aliases[2]: '!!!' has no letters or digits, so it can never "
        "match; write the name as it appears in the news, or remove it",
        f"l.yaml:7:33: entries[1].weak_aliases[2]: 'V.' is a single character: it would "
        f"match 'V' everywhere; {single}",
        f"l.yaml:7:37: entries[1].weak_aliases[3]: '7' is a single character: it would "
        f"match '7' everywhere; {single}",
    ]


def test_every_problem_in_a_file_is_reported_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "l.yaml",
        """
        list: test
        entries:
          - id: Rosneft
            name: ""
            severity: critical
          - id: lukoil
            name: Lukoil
            name: Lukoil Oil
            notes: !!python/object/apply:os.system [ls]
          - id: lukoil
            aliases: NK Rosneft
        """,
    )
    problems = problems_of(path)
    assert [p.split(": ")[0] + ": " + p.split(": ")[1] for p in problems] == [
        "l.yaml:3:9: entries[0].id",
        "l.yaml:4:11: entries[0].name",
        "l.yaml:5:15: entries[0].severity",
        "l.yaml:8:5: duplicate key 'name'; each key may appear once in a mapping",
        "l.yaml:9:12: YAML tag !!python/object/apply:os.system is not allowed; remove it "
        "(only plain text, numbers, true/false, lists and mappings are accepted)",
        "l.yaml:10:5: entries[2].name",
        "l.yaml:10:9: entries[2].id",
        "l.yaml:11:14: entries[2].aliases",
    ]


def test_problems_of_every_bad_file_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "entries:\n  - id: x\n    name: Xeno\n    severity: severe\n")
    write(tmp_path, "b.yaml", "entries:\n  - id: y\n")
    write(tmp_path, "c.yaml", "entries:\n  - id: z\n    name: Zeta\n")
    with pytest.raises(ValidationFailed) as caught:
        load_watchlists([tmp_path, tmp_path / "missing.yaml"])
    where = [(Path(p.file).name, p.line, p.column, p.path) for p in caught.value.problems]
    assert where == [
        ("missing.yaml", 0, 0, ""),
        ("a.yaml", 4, 15, "entries[0].severity"),
        ("b.yaml", 2, 5, "entries[0].name"),
    ]
    assert str(caught.value.problems[0]).endswith(
        "missing.yaml: watchlist file or directory not found"
    )


def test_list_names_must_be_unique_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "list: energy\nentries: []\n")
    second = write(tmp_path, "b.yaml", "description: more\nlist: energy\nentries: []\n")
    with pytest.raises(ValidationFailed) as caught:
        load_watchlists([first, second])
    assert [str(p) for p in caught.value.problems] == [
        f"{second}:2:1: list: list name 'energy' is already used by {first}; list names must "
        "be unique (set a different 'list:' in one of the files)"
    ]


def test_list_name_defaults_to_the_file_name_which_must_be_a_valid_name(tmp_path: Path) -> None:
    assert load_watchlist_file(write(tmp_path, "russia-energy.yaml", "entries: []\n")).name == (
        "russia-energy"
    )
    assert problems_of(write(tmp_path, "Russia Energy.yaml", "entries: []\n")) == [
        "Russia Energy.yaml:1:1: the list is named after the file, but 'Russia Energy' is not a "
        "valid list name; add e.g. 'list: russia-energy' (lowercase letters, digits, '.', '_', '-')"
    ]


def test_defaults_apply_to_entries_that_do_not_set_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "people.yaml",
        """
        description: People
        defaults:
          type: person
          severity: high
          programs: [UK]
          threshold: 95
        entries:
          - id: putin
            name: Vladimir Putin
            aliases: [Putin, Vladimir Putin, Путин, Putin]
          - id: novak
            name: Alexander Novak
            severity: low
            programs: []
            weak_aliases: [Novak, Alexander Novak]
        """,
    )
    watchlist = load_watchlist_file(path)
    assert (watchlist.name, watchlist.description, watchlist.source) == (
        "people",
        "People",
        str(path),
    )
    assert watchlist.entries == (
        Entry(
            list_name="people",
            id="putin",
            name="Vladimir Putin",
            type=EntryType.PERSON,
            aliases=("Putin", "Путин"),  # repeats and the primary name itself are dropped
            severity=Severity.HIGH,
            programs=("UK",),
            threshold=95,
        ),
        Entry(
            list_name="people",
            id="novak",
            name="Alexander Novak",
            type=EntryType.PERSON,
            weak_aliases=("Novak",),
            severity=Severity.LOW,
            programs=(),
            threshold=95,
        ),
    )


def test_fields_have_documented_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "l.yaml", "entries: [{id: x, name: Xeno}]\n")
    entry = load_watchlist_file(path).entries[0]
    assert entry == Entry(list_name="l", id="x", name="Xeno")
    assert (entry.type, entry.severity, entry.threshold, entry.match_vessels) == (
        EntryType.ORGANIZATION,
        Severity.MEDIUM,
        None,
        False,
    )


def test_yaml_1_2_scalars_numbers_as_ids_and_anchors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "l.yaml",
        """
        defaults:
          programs: &programs [NO, Yes, on]
        entries:
          - id: 12345
            name: 1MDB
            aliases: [off, No]
            programs: [2025-10-22, "007", off]
            notes: 2025-10-22
            exclude: *programs
        """,
    )
    entry = load_watchlist_file(path).entries[0]
    assert (entry.id, entry.name, entry.aliases, entry.notes) == (
        "12345",
        "1MDB",
        ("off", "No"),  # YAML 1.2: no yes/no/on/off booleans
        "2025-10-22",  # ... and no dates
    )
    assert entry.programs == ("2025-10-22", "007", "off")
    assert entry.exclude == ("NO", "Yes", "on")


def test_non_utf8_file_is_reported_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "l.yaml"
    path.write_bytes("entries:\n  - id: x\n    name: Роснефть\n".encode("cp1251"))
    assert problems_of(path) == ["l.yaml:3:11: not UTF-8 text (byte 0xd0); save the file as UTF-8"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "l.yaml"
    path.write_bytes(b"\xef\xbb\xbfentries: [{id: x, name: Xeno}]\n")
    assert load_watchlist_file(path).entries[0].name == "Xeno"


def test_directories_are_read_in_name_order_yaml_and_yml(tmp_path: Path) -> None:
    write(tmp_path, "b.yml", "entries: []\n")
    write(tmp_path, "a.yaml", "entries: []\n")
    write(tmp_path, "notes.txt", "not a watchlist\n")
    write(tmp_path, ".a.yaml", "editor: backup\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "c.yaml", "entries: []\n")
    assert [w.name for w in load_watchlists([tmp_path])] == ["a", "b"]
    # naming a file twice (directly and through its directory) loads it once
    assert [w.name for w in load_watchlists([tmp_path / "a.yaml", tmp_path])] == ["a", "b"]


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_watchlists([tmp_path])
    assert str(caught.value) == f"{tmp_path}: directory has no *.yaml watchlists"


def test_example_watchlists_are_valid() -> None:
    watchlists = load_watchlists([REPO / "watchlists"])
    by_name = {w.name: w for w in watchlists}
    assert set(by_name) == {"russia-energy", "russia-finance", "russia-officials"}
    entries = {e.key: e for w in watchlists for e in w.entries}
    assert {"russia-energy/rosneft", "russia-energy/lukoil", "russia-finance/sberbank"} <= set(
        entries
    )
    novak = entries["russia-officials/novak"]
    assert novak.type is EntryType.PERSON
    assert "Novak" not in novak.aliases + novak.weak_aliases  # Novak Djokovic is not him
    assert "Путин" in entries["russia-officials/putin"].aliases
    assert entries["russia-officials/sechin"].notes == "Chief executive of Rosneft"


def test_large_list_loads_and_a_late_error_is_found_at_its_line(tmp_path: Path) -> None:
    lines = ["list: big", "entries:"]
    for index in range(3000):
        lines += [f"  - id: '{index}'", f"    name: Entity {index}", "    aliases: [Ab, Bc]"]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    watchlist = load_watchlist_file(path)
    assert (len(watchlist.entries), watchlist.entries[-1].key) == (3000, "big/2999")
    lines[-1] = "    aliases: [Ab, !!python/object:os.system Bc]"
    lines[3] = "    name: !!python/name:os.system"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert problems_of(path) == [
        f"big.yaml:4:11: YAML tag !!python/name:os.system {TAG_MESSAGE}",
        f"big.yaml:9002:19: YAML tag !!python/object:os.system {TAG_MESSAGE}",
    ]
