"""`watcher status`: the totals first, then each feed's health, then the instances sharing
the state (text or --json)."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import click

from watcher.commands import baseline_line
from watcher.commands.poll import CONFIG_OPTION, when
from watcher.config.settings import load_config
from watcher.ingest.feedstate import StoreCounts
from watcher.ingest.poll import FeedHealth, feed_health
from watcher.lists.health import ListHealth, list_health
from watcher.state.leases import LEADER, InstanceRow
from watcher.state.open import open_state

# problems first: with ninety feeds, the three that need a look are at the top
_ORDER = {"failing": 0, "disabled": 1, "stale": 2, "ok": 3}


@click.command("status")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(config_path: Path | None, as_json: bool) -> None:
    """Totals (feeds by health, articles, matches, outbox, suppressions, the first-poll
    baseline), then each feed's health: failing since / disabled / stale / ok."""
    config = load_config(config_path)
    store = open_state(config)
    try:
        now = time.time()
        health = feed_health(store, config, now)
        with store.snapshot() as tx:
            counts = tx.counts()
            baseline = tx.baseline([f.url for f in config.feeds if not f.backfill])
            instances = tx.instances(now)
        lists = list_health(config, store, now)
    finally:
        store.close()
    if as_json:
        report = {
            "feeds": [asdict(h) for h in health],
            "counts": asdict(counts),
            "baseline": {"items": baseline[0], "matches": baseline[1]},
            "lists": [asdict(item) for item in lists],
            "instances": [_instance_json(i, now) for i in instances],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(format_status(health, counts, now, baseline, instances))
        if lists:
            click.echo(format_lists(lists, now))


def _instance_json(instance: InstanceRow, now: float) -> dict[str, object]:
    return {
        **asdict(instance),
        "heartbeat_age": round(now - instance.heartbeat_at, 3),
        "leader": LEADER in instance.roles,
    }


def format_instances(instances: list[InstanceRow], now: float) -> str:
    """Who runs on this state: each instance's host and PID, its last heartbeat, whether
    it is alive (its lease has not run out), which one leads (builds the digest, prunes,
    updates the lists) and how many feeds it is polling now. Dead ones stay listed for a
    week (retention), so a crash shows; a clean stop removes its instance at once."""
    if not instances:
        return "instances: none running"
    alive = sum(1 for i in instances if i.alive)
    lines = [f"instances: {len(instances)} ({alive} alive)"]
    for i in instances:
        state = "ALIVE" if i.alive else "DEAD"
        lead = ", leader" if LEADER in i.roles and i.alive else ""
        lines.append(f"  {state:<9} {i.host} PID {i.pid}{lead} ({i.id}, version {i.version})")
        lines.append(
            f"            last heartbeat {_span_ago(now - i.heartbeat_at)} ago, "
            f"started {when(i.started_at, now)}, {i.feeds_held} feed(s) held"
        )
    return "\n".join(lines)


def _span_ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.0f}h"


def format_lists(lists: list[ListHealth], now: float) -> str:
    """The ``lists:`` section's health: one block per official list."""
    lines = ["lists:"]
    for item in lists:
        lines.append(f"  {item.state.upper():<9} {item.name} ({item.source}) <{item.url}>")
        entries = "-" if item.entries is None else str(item.entries)
        dated = f", data dated {item.data_date}" if item.data_date else ""
        if item.state == "failing":
            lines.append(f"            failing since {when(item.since, now)}: {item.last_error}")
        elif item.state == "stale":
            lines.append(f"            stale: no successful update since {when(item.since, now)}")
        elif item.state == "pending":
            lines.append("            not checked yet")
        lines.append(
            f"            {entries} entries{dated}; last checked ok {when(item.last_success, now)},"
            f" last changed {when(item.last_change, now)}"
        )
    return "\n".join(lines)


def _describe(h: FeedHealth, now: float) -> str:
    if h.state == "failing":
        return f"failing since {when(h.since, now)}: {h.last_error}"
    if h.state == "disabled":
        return f"disabled since {when(h.since)}: {h.last_error}"
    if h.state == "stale":
        what = "newest article published" if h.newest_published is not None else "new item seen"
        return f"stale: {what} {when(h.since, now)}"
    if h.last_success is None:
        return "ok (not polled yet)"
    return f"ok, last success {when(h.last_success, now)}"


def format_status(
    health: list[FeedHealth],
    counts: StoreCounts,
    now: float,
    baseline: tuple[int, int] = (0, 0),
    instances: list[InstanceRow] | None = None,
) -> str:
    states: Counter[str] = Counter(h.state for h in health)
    by_state = ", ".join(f"{states[s]} {s}" for s in _ORDER if states[s])
    warned = sum(1 for h in health if h.warning)
    if warned:
        by_state += f"; {warned} with warnings"
    lines = [
        f"feeds: {len(health)} ({by_state})" if health else "feeds: none configured",
        f"articles: {counts.articles}",
        f"matches: {counts.matches} ({counts.pending_matches} pending for the next digest)",
        f"outbox: {counts.outbox_queued} queued",
    ]
    if baseline[0]:
        lines.append(baseline_line(*baseline))
    lines.append("suppressions:" if counts.suppressions else "suppressions: none")
    for rule, count in sorted(counts.suppressions.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {count:>6}  {rule}")
    if instances is not None:
        lines.append(format_instances(instances, now))
    if health:
        lines += ["", "feeds (problems first):"]
    for h in sorted(health, key=lambda h: _ORDER[h.state]):
        label = f"{h.name} <{h.url}>" if h.name else h.url
        lines.append(f"  {h.state.upper():<9} {label}")
        lines.append(f"            {_describe(h, now)}")
        if h.warning:
            lines.append(f"            warning: {h.warning}")
    return "\n".join(lines)
