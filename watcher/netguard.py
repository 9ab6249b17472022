"""SSRF guard: feeds (and every redirect hop) may only reach public internet addresses.

Design (against DNS rebinding): the check happens inside the connection itself. A wrapped
httpcore network backend resolves the host name once, refuses the connection if ANY
resolved address is not public, and then connects to that checked IP address, never to the
name again, so a second, different DNS answer cannot slip in between check and connect.
TLS still verifies the certificate against the host name (httpcore passes the original
name as SNI / for hostname checking). Proxies from the environment are disabled
(``trust_env=False``) because a proxy would connect on our behalf, unchecked.

Schemes: http and https; file URLs only as configured (the config's author can read the
disk anyway), never as a redirect target. With ``allow_private_networks`` the address check
is skipped (tests, intranet feeds); the scheme rules stay.

"Public" means `ipaddress`'s ``is_global`` and not multicast/reserved/unspecified; an
IPv4-mapped (``::ffff:127.0.0.1``), 6to4 or NAT64 IPv6 address is judged by the IPv4 address
it embeds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore

ALLOWED_SCHEMES = frozenset({"http", "https", "file"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddressError(Exception):
    """A URL or connection the guard will not allow; the message says why."""


def check_scheme(url: str, *, allow_file: bool) -> str:
    """The lower-cased scheme, or `RefusedAddressError` if it is not one we fetch."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES or (scheme == "file" and not allow_file):
        where = "a redirect to " if not allow_file else ""
        raise RefusedAddressError(f"refusing {where}{scheme or 'scheme-less'} URL {url!r}")
    return scheme


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if address.teredo is not None:
            return False
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
    )


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """The addresses, all public, or `RefusedAddressError` naming the first one that is not."""
    checked = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public(address):
            raise RefusedAddressError(
                f"refusing {host}: it resolves to non-public address {address}"
            )
        checked.append(str(address))
    if not checked:
        raise RefusedAddressError(f"refusing {host}: it resolves to no address")
    return checked


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to checked public addresses."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = check_addresses(host, await resolve(host, port))
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddressError("refusing a unix-socket connection")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
