"""Fetching against a real HTTP server on 127.0.0.1: limits, redirects, SSRF guard."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpcore
import pytest
from feedserver import FeedServer, gzip_bomb, rss

from watcher.ingest import netguard
from watcher.ingest.fetch import FetchLimits, fetch, make_client
from watcher.ingest.netguard import GuardedBackend, RefusedAddressError, check_addresses, is_public

OPEN = FetchLimits(
    timeout=5,
    max_bytes=2**20,
    max_redirects=3,
    user_agent="test-agent/1.0",
    allow_private_networks=True,
)
GUARDED = FetchLimits(timeout=5, allow_private_networks=False)
FEED = rss({"guid": "1", "title": "Hello"})


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[object]:
    http = make_client(OPEN)
    yield http
    await http.aclose()


async def test_plain_fetch_sends_user_agent_and_returns_headers(server: FeedServer, client) -> None:
    url = server.route("/f.xml", FEED, headers={"Content-Type": "application/rss+xml"})
    result = await fetch(client, url, OPEN)
    assert not result.error and result.status == 200
    assert result.body == FEED
    assert result.headers["content-type"] == "application/rss+xml"
    [request] = server.requests_for("/f.xml")
    assert request.headers["user-agent"] == "test-agent/1.0"
    assert "gzip" in request.headers["accept-encoding"]


async def test_conditional_get_sends_validators_and_gets_304(server: FeedServer, client) -> None:
    url = server.route("/f.xml", FEED, etag='"v1"', last_modified="Mon, 03 Apr 2023 01:02:03 GMT")
    first = await fetch(client, url, OPEN)
    assert first.headers["etag"] == '"v1"'
    second = await fetch(
        client, url, OPEN, etag='"v1"', last_modified=first.headers["last-modified"]
    )
    assert second.status == 304 and second.body == b""
    sent = server.requests_for("/f.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 03 Apr 2023 01:02:03 GMT"


async def test_server_wait_for_requests(server: FeedServer, client) -> None:
    url = server.route("/w.xml", FEED)
    task = asyncio.ensure_future(fetch(client, url, OPEN))
    found = await asyncio.to_thread(server.wait_for_requests, "/w.xml", 1, 10)
    assert [r.path for r in found] == ["/w.xml"]
    await task
    with pytest.raises(TimeoutError):
        server.wait_for_requests("/w.xml", 2, timeout=0.05)


async def test_gzip_body_is_decoded(server: FeedServer, client) -> None:
    url = server.route("/g.xml", FEED, gzip=True)
    result = await fetch(client, url, OPEN)
    assert result.body == FEED


async def test_multi_member_gzip_is_decoded_completely(server: FeedServer, client) -> None:
    body = gzip.compress(FEED[:50]) + gzip.compress(FEED[50:])
    url = server.route("/m.xml", body, headers={"Content-Encoding": "gzip"})
    assert (await fetch(client, url, OPEN)).body == FEED


async def test_slow_drip_is_cut_at_the_overall_deadline(server: FeedServer) -> None:
    # one byte every 0.2 s: every single read is fast, the whole would take 200 s
    url = server.route("/slow.xml", b"x" * 1000, drip=0.2)
    limits = FetchLimits(timeout=1, allow_private_networks=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with make_client(limits) as http:
        result = await fetch(http, url, limits)
    assert "timed out after 1s" in result.error
    assert loop.time() - started < 5


async def test_gzip_bomb_is_cut_at_the_cap_without_ballooning_memory(server: FeedServer) -> None:
    bomb = gzip_bomb(512 * 2**20)  # 512 MiB of zeros in ~0.5 MiB
    url = server.route("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    limits = FetchLimits(max_bytes=2 * 2**20, allow_private_networks=True)
    tracemalloc.start()
    try:
        async with make_client(limits) as http:
            result = await fetch(http, url, limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "larger than max_bytes" in result.error
    assert peak < 16 * 2**20, f"peak {peak} bytes"


async def test_plain_body_over_the_cap_is_refused(server: FeedServer) -> None:
    url = server.route("/big.xml", b"<rss>" + b" " * 5000 + b"</rss>")
    limits = FetchLimits(max_bytes=1000, allow_private_networks=True)
    async with make_client(limits) as http:
        assert "larger than max_bytes" in (await fetch(http, url, limits)).error


async def test_permanent_redirect_chain_reports_new_url(server: FeedServer, client) -> None:
    server.route("/new.xml", FEED)
    server.redirect("/mid", "/new.xml", status=308)
    url = server.redirect("/old", "/mid", status=301)
    result = await fetch(client, url, OPEN)
    assert result.status == 200 and result.body == FEED
    assert result.permanent_url == server.url("/new.xml")


async def test_temporary_hop_means_no_url_update(server: FeedServer, client) -> None:
    server.route("/new.xml", FEED)
    server.redirect("/mid", "/new.xml", status=302)
    url = server.redirect("/old", "/mid", status=301)
    result = await fetch(client, url, OPEN)
    assert result.status == 200 and result.permanent_url is None


async def test_redirect_loop_is_detected(server: FeedServer, client) -> None:
    server.redirect("/a", "/b", status=302)
    url = server.redirect("/b", "/a", status=302)
    result = await fetch(client, url, OPEN)
    assert "redirect loop" in result.error
    assert len(server.requests) == 2


async def test_too_many_redirects(server: FeedServer, client) -> None:
    for i in range(6):
        server.redirect(f"/r{i}", f"/r{i + 1}", status=307)
    result = await fetch(client, server.url("/r0"), OPEN)
    assert "more than 3 redirects" in result.error
    assert len(server.requests) == 4  # the first request and three hops, no more


async def test_redirect_to_file_url_is_refused(server: FeedServer, client) -> None:
    url = server.redirect("/evil", "file:///etc/passwd", status=302)
    result = await fetch(client, url, OPEN)
    assert result.refused and "file" in result.error


async def test_file_url_is_read(tmp_path: Path, client) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    result = await fetch(client, path.as_uri(), OPEN)
    assert result.status == 200 and result.body == FEED


@pytest.mark.parametrize(
    "scheme_url", ["ftp://example.com/feed", "gopher://x/", "javascript:alert(1)"]
)
async def test_other_schemes_are_refused(scheme_url: str, client) -> None:
    result = await fetch(client, scheme_url, OPEN)
    assert result.refused


async def test_connection_refused_is_an_error_value(client) -> None:
    with FeedServer() as closed:
        url = closed.url("/x")
    result = await fetch(client, url, OPEN)
    assert result.error and not result.refused and result.status == 0


# --- SSRF guard -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "localhost"])
async def test_guard_refuses_loopback_feeds(server: FeedServer, host: str) -> None:
    server.route("/f.xml", FEED)
    url = server.url("/f.xml", host=host)
    async with make_client(GUARDED) as http:
        result = await fetch(http, url, GUARDED)
    assert result.refused, result
    assert "non-public address" in result.error
    assert server.requests == []  # nothing ever reached the server


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2001:0::1", False),  # Teredo
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_one_private_answer_refuses_the_host() -> None:
    with pytest.raises(RefusedAddressError, match=r"10\.0\.0\.7"):
        check_addresses("mixed.example", ["8.8.8.8", "10.0.0.7"])


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded, not connected")


async def test_guard_connects_to_the_checked_address_not_the_name() -> None:
    # DNS rebinding defence: the name is resolved once (the OS resolver is the mocked edge);
    # the connection goes to that checked address, so a second answer can never be used
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    async def fake_resolve(host: str, port: int) -> list[str]:
        return next(answers)

    inner = _RecordingBackend()
    backend = GuardedBackend(inner, resolver=fake_resolve)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("rebind.example", 80)
    assert inner.hosts == ["93.184.215.14"]
    with pytest.raises(RefusedAddressError):
        await backend.connect_tcp("rebind.example", 80)
    assert inner.hosts == ["93.184.215.14"]


# --- private addresses allowed per feed, per host, per network ---------------------------------

INTRANET_NAMES = {"intranet.example": "127.0.0.1", "metadata.example": "127.0.0.1"}


async def fake_dns(host: str, port: int) -> list[str]:
    """A resolver under the test's control: two names, both on loopback (never the OS's)."""
    if host in INTRANET_NAMES:
        return [INTRANET_NAMES[host]]
    return await netguard.resolve(host, port) if host[0].isdigit() else []


async def test_a_feed_allowed_private_reaches_its_own_host_only(server: FeedServer) -> None:
    server.route("/f.xml", FEED)
    own = server.url("/f.xml", host="intranet.example")
    limits = FetchLimits(timeout=5, private_feed_url=own)
    async with make_client(GUARDED, resolver=fake_dns) as http:
        assert (await fetch(http, own, limits)).body == FEED
        other = await fetch(http, server.url("/f.xml", host="metadata.example"), limits)
        assert other.refused
        # the same host without the feed's allowance: its open connection is not reused
        unallowed = await fetch(http, own, GUARDED)
    assert unallowed.refused, unallowed
    assert "allow_private: true" in unallowed.error
    assert "polling.allow_private_hosts" in unallowed.error
    assert len(server.requests) == 1


async def test_a_redirect_to_another_private_host_is_refused(server: FeedServer) -> None:
    server.route("/f.xml", FEED)
    own = server.redirect("/r", server.url("/f.xml", host="metadata.example"), status=302)
    own = own.replace("127.0.0.1", "intranet.example")
    limits = FetchLimits(timeout=5, private_feed_url=own)
    async with make_client(GUARDED, resolver=fake_dns) as http:
        result = await fetch(http, own, limits)
    assert result.refused and "metadata.example" in result.error
    assert [r.path for r in server.requests] == ["/r"]


@pytest.mark.parametrize("entry", ["metadata.example", "METADATA.example.", "127.0.0.0/8"])
async def test_allowed_private_hosts_and_networks(server: FeedServer, entry: str) -> None:
    server.route("/f.xml", FEED)
    own = server.redirect("/r", server.url("/f.xml", host="metadata.example"), status=302)
    own = own.replace("127.0.0.1", "intranet.example")
    limits = FetchLimits(timeout=5, private_feed_url=own, allow_private_hosts=(entry,))
    async with make_client(GUARDED, resolver=fake_dns) as http:
        result = await fetch(http, own, limits)
    assert result.body == FEED, result


async def test_a_listed_network_does_not_cover_other_addresses(server: FeedServer) -> None:
    server.route("/f.xml", FEED)
    limits = FetchLimits(timeout=5, allow_private_hosts=("10.0.0.0/8", "intranet.example"))
    async with make_client(limits, resolver=fake_dns) as http:
        refused = await fetch(http, server.url("/f.xml", host="metadata.example"), limits)
        allowed = await fetch(http, server.url("/f.xml", host="intranet.example"), limits)
    assert refused.refused and allowed.body == FEED


async def test_https_to_a_plain_http_port_says_so(server: FeedServer, client) -> None:
    server.route("/f.xml", FEED)
    url = server.url("/f.xml").replace("http://", "https://")
    result = await fetch(client, url, OPEN)
    assert result.status == 0 and not result.refused
    assert "does not speak TLS on that port" in result.error
    assert "http://" in result.error
