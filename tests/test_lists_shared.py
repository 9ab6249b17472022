"""`lists:` updates with the real dated official files in ../shared/data, served from a local
HTTP server: first import, 304, the diff between dated releases, a truncated release refused,
the UN list and OFAC's enhanced XML. Skipped (with a reason) without ../shared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from feedserver import FeedServer

from watcher.config.schema import Config
from watcher.config.settings import load_config, load_watchlist_file
from watcher.ingest.fetch import make_client
from watcher.lists.update import ListUpdateResult, list_fetch_limits, output_path, update_due
from watcher.state.sqlite import Store


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def config_for(tmp_path: Path, source: str, urls: list[str]) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        "polling: {allow_private_networks: true}\n"
        "lists:\n"
        f"  - {{name: {source}, source: {source}, urls: [{', '.join(urls)}], every: 1d}}\n",
        encoding="utf-8",
    )
    return load_config(path)


async def update(config: Config, now: float) -> ListUpdateResult:
    assert config.state_dir is not None
    store = Store(config.state_dir)
    client = make_client(list_fetch_limits(config))
    try:
        (result,) = await update_due(config, store, config.state_dir, client, now, force=True)
        return result
    finally:
        await client.aclose()
        store.close()


async def test_ofac_releases_2021_to_2024_to_2026_diff_and_304(
    tmp_path: Path, shared_dir: Path, server: FeedServer
) -> None:
    data = shared_dir / "data"
    sdn_2021 = (data / "ofac_sdn_2021-07_consistent" / "sdn.csv").read_bytes()
    sdn_2024 = (data / "ofac_sdn_2024-05-03" / "sdn.csv").read_bytes()
    urls = [
        server.route("/sdn.csv", sdn_2021, etag='"2021"'),
        server.route("/alt.csv", (data / "ofac_sdn_2025-12-24_alt_add" / "alt.csv").read_bytes()),
    ]
    config = config_for(tmp_path, "ofac", urls)
    first = await update(config, 1000.0)
    assert first.status == "updated", first.error
    assert first.entries > 6000
    out = output_path(config.lists[0], config.state_dir)  # type: ignore[arg-type]
    assert "ofac-35096" not in {e.id for e in load_watchlist_file(out).entries}

    server.route("/alt.csv", (data / "ofac_sdn_2025-12-24_alt_add" / "alt.csv").read_bytes())
    same = await update(config, 2000.0)
    assert same.status == "unchanged"  # alt.csv has no validators: fetched, same list
    assert server.requests_for("/sdn.csv")[-1].headers.get("if-none-match") == '"2021"'

    server.route("/sdn.csv", sdn_2024, etag='"2024"')
    newer = await update(config, 3000.0)
    assert newer.status == "updated", newer.error
    assert newer.diff is not None and newer.rescreen
    added = {b.id: b for b in newer.diff.added}
    assert added["ofac-35096"].name == "Vladimir Vladimirovich Putin"
    assert "RUSSIA-EO14024" in added["ofac-35096"].programs
    assert len(newer.diff.added) > 2000 and newer.diff.removed
    assert "ofac-35096" in {e.id for e in load_watchlist_file(out).entries}

    server.route("/alt.csv", (data / "ofac_sdn_2026-06_alt_add" / "alt.csv").read_bytes())
    aliases = await update(config, 4000.0)
    assert aliases.status == "updated" and aliases.diff is not None
    assert not aliases.diff.added and aliases.diff.changed  # new aliases of listed entries
    assert all(c.names_added or c.names_removed for c in aliases.diff.changed)

    server.route("/sdn.csv", sdn_2024[: len(sdn_2024) // 2], etag='"cut"')
    before = out.read_bytes()
    cut = await update(config, 5000.0)
    assert cut.status == "failed" and "cut short" in cut.error
    assert out.read_bytes() == before


async def test_un_list_first_import_then_304(
    tmp_path: Path, shared_dir: Path, server: FeedServer
) -> None:
    xml = (shared_dir / "data" / "un_consolidated_2026-02" / "UN_consolidated.xml").read_bytes()
    url = server.route("/consolidated.xml", xml, last_modified="Fri, 27 Feb 2026 00:00:00 GMT")
    config = config_for(tmp_path, "un", [url])
    first = await update(config, 1000.0)
    assert first.status == "updated", first.error
    assert first.entries > 900
    assert (await update(config, 2000.0)).status == "not-modified"
    sent = server.requests_for("/consolidated.xml")[-1].headers
    assert sent["if-modified-since"] == "Fri, 27 Feb 2026 00:00:00 GMT"


async def test_ofac_enhanced_xml_zip_as_a_list(
    tmp_path: Path, shared_dir: Path, server: FeedServer
) -> None:
    data = shared_dir / "data" / "ofac_consolidated_enhanced_2025-01" / "CONS_ENHANCED.ZIP"
    url = server.route("/CONS_ENHANCED.ZIP", data.read_bytes(), etag='"x"')
    config = config_for(tmp_path, "ofac", [url])
    result = await update(config, 1000.0)
    assert (result.status, result.entries) == ("updated", 443), result.error
    listed = {
        e.id: e for e in load_watchlist_file(output_path(config.lists[0], config.state_dir)).entries
    }  # type: ignore[arg-type]
    assert "ROSNEFT" in listed["ofac-17022"].aliases
