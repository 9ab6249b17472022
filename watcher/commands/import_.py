"""`watcher import SOURCE FILE... -o watchlists/NAME.yaml`: official lists to a watchlist file.

Re-importing over an existing output prints what changed (entries added, removed, renamed),
and leaves the file untouched when nothing did (the header's file dates aside: a re-downloaded
identical file does not make the daemon recompile), so a cron job can run it blindly. A file that
`watcher import` did not write (no marker line at its top) is never overwritten without --force:
it may be a list someone keeps by hand.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from watcher.config.watchlist import Severity
from watcher.config.yamlfile import gc_paused
from watcher.errors import WatcherError
from watcher.importers.common import ImportResult
from watcher.importers.sources import IMPORTERS
from watcher.importers.writer import (
    diff,
    previous_names,
    render,
    same_body,
    was_imported,
    write_atomically,
)
from watcher.progress import terminal_report

SOURCES_HELP = """\b
What each SOURCE takes (several FILEs at once, any order):
  ofac           OFAC's CSV files, recognised by their column count:
                 the SDN list: sdn.csv, alt.csv, add.csv, sdn_comments.csv;
                 the non-SDN consolidated list: cons_prim.csv, cons_alt.csv,
                 cons_add.csv, cons_comments.csv. A primary file (sdn.csv or
                 cons_prim.csv) is needed; give both sets to import both lists
                 into one file. And/or the enhanced XML: SDN_ENHANCED.XML,
                 CONS_ENHANCED.XML (or their .ZIP), alone or with the CSVs.
  un             the UN Security Council consolidated list as XML
                 (consolidated.xml); several files are merged.
  opensanctions  OpenSanctions FollowTheMoney JSON lines, one entity per line
                 (entities.ftm.json); only listed (target) people, companies,
                 organizations, vessels and aircraft are imported.

\b
Examples:
  watcher import ofac sdn.csv alt.csv add.csv sdn_comments.csv -o watchlists/ofac.yaml
  watcher import un consolidated.xml -o watchlists/un.yaml
  watcher import opensanctions entities.ftm.json -o watchlists/opensanctions.yaml
"""


@click.command("import", epilog=SOURCES_HELP)
@click.argument("source", type=click.Choice(sorted(IMPORTERS)))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Watchlist file to write, e.g. watchlists/ofac.yaml.",
)
@click.option("--list", "list_name", help="List name (default: the output file's name).")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite an output file that was not written by `watcher import` (a hand-kept list).",
)
@click.option(
    "--severity",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.MEDIUM.value,
    show_default=True,
    help="Severity given to every imported entry.",
)
def command(
    *,
    source: str,
    files: tuple[Path, ...],
    output: Path,
    list_name: str | None,
    severity: str,
    force: bool,
) -> None:
    """Import an official sanctions list (OFAC CSV or XML, UN XML, OpenSanctions FtM JSON)."""
    started = time.perf_counter()
    if not force and not was_imported(output):
        raise WatcherError(
            f"{output} exists and was not written by `watcher import`; refusing to overwrite"
            " a hand-kept watchlist (choose another -o file, or pass --force)"
        )
    name = list_name or output.stem
    level = Severity(severity)
    report = terminal_report()  # a big list takes a while: say what is going on
    size = sum(f.stat().st_size for f in files)
    report(f"reading {len(files)} {source} file(s), {size / 2**20:.1f} MiB")
    with gc_paused():  # ~100k containers built: the cycle collector made it ~1.5x slower
        result = IMPORTERS[source](files, name, level)
        report(f"writing {len(result.entries):,} entries to {output}")
        text = render(result, name, level)
    previous = previous_names(output)
    unchanged = output.is_file() and same_body(output.read_text(encoding="utf-8"), text)
    if not unchanged:
        write_atomically(output, text)
    elapsed = time.perf_counter() - started
    _report(result, output, previous, unchanged, elapsed)


def _report(
    result: ImportResult,
    output: Path,
    previous: dict[str, str] | None,
    unchanged: bool,
    elapsed: float,
) -> None:
    names = sum(1 + len(e.aliases) for e in result.entries)
    weak = sum(len(e.weak_aliases) for e in result.entries)
    verb = "unchanged" if unchanged else "wrote"
    click.echo(
        f"{verb} {output}: {len(result.entries)} entries, {names} names,"
        f" {weak} weak aliases ({elapsed:.2f}s)"
    )
    for note in result.notes:
        click.echo(f"note: {note}")
    if previous is not None and not unchanged:
        click.echo("changes since the previous import: " + diff(previous, result.entries).summary())
