"""SSRF guard: feeds (and every redirect hop) may only reach public internet addresses.

Design (against DNS rebinding): the check happens inside the connection itself. A wrapped
httpcore network backend resolves the host name once, refuses the connection if ANY
resolved address is not public, and then connects to that checked IP address, never to the
name again, so a second, different DNS answer cannot slip in between check and connect.
TLS still verifies the certificate against the host name (httpcore passes the original
name as SNI / for hostname checking). Proxies from the environment are disabled
(``trust_env=False``) because a proxy would connect on our behalf, unchecked.

Schemes: http and https; file URLs only as configured (the config's author can read the
disk anyway), never as a redirect target.

Which non-public addresses may be reached is an `AddressPolicy`, chosen per request (see
`watcher.ingest.fetch`): ``polling.allow_private_networks`` skips the address check for every feed
(kept as it always worked); ``polling.allow_private_hosts`` names host names and networks
whose private addresses any feed may reach; a feed's ``allow_private: true`` allows its own
host only, so a redirect from it to another private host (169.254.169.254) is still refused.

"Public" means `ipaddress`'s ``is_global`` and not multicast/reserved/unspecified; an
IPv4-mapped (``::ffff:127.0.0.1``), 6to4 or NAT64 IPv6 address is judged by the IPv4 address
it embeds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

ALLOWED_SCHEMES = frozenset({"http", "https", "file"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


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


def normalise_host(host: str) -> str:
    """A host name as policies compare it (and as connections see it): lower case, no
    brackets, no root dot, an internationalised name in punycode."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def parse_private_host(text: str) -> str | IPNetwork:
    """An ``allow_private_hosts`` entry: an IP network (``10.1.2.0/24``, or one address) or
    a host name; `ValueError` for anything else."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        pass
    host = normalise_host(text)
    labels = host.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{text!r} is neither a host name (intranet.example.org) nor a network (10.1.2.0/24)"
        )
    return host


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses a request may reach (public ones always may)."""

    allow_all: bool = False  # polling.allow_private_networks
    hosts: frozenset[str] = frozenset()  # host names whose private addresses are allowed
    networks: frozenset[IPNetwork] = frozenset()  # private networks any host may resolve into

    @classmethod
    def build(cls, allow_all: bool, entries: Iterable[str]) -> AddressPolicy:
        parsed = [parse_private_host(entry) for entry in entries]
        return cls(
            allow_all=allow_all,
            hosts=frozenset(p for p in parsed if isinstance(p, str)),
            networks=frozenset(p for p in parsed if not isinstance(p, str)),
        )

    def with_host(self, url: str) -> AddressPolicy:
        """This policy, also allowing the private addresses of ``url``'s host."""
        host = normalise_host(urlsplit(url).hostname or "")
        return (
            self if not host else AddressPolicy(self.allow_all, self.hosts | {host}, self.networks)
        )

    def allows(self, host: str, address: IPAddress) -> bool:
        return (
            self.allow_all
            or is_public(address)
            or normalise_host(host) in self.hosts
            or any(address in network for network in self.networks)
        )

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The addresses, all allowed, or `RefusedAddressError` naming the first that is not
        and the settings that would allow it."""
        checked = []
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.allows(host, address):
                raise RefusedAddressError(
                    f"refusing {host}: it resolves to non-public address {address}; to poll a "
                    "feed on your own network, set 'allow_private: true' on that feed in "
                    "'feeds', or list the host or its network in "
                    "'polling.allow_private_hosts'"
                )
            checked.append(str(address))
        if not checked:
            raise RefusedAddressError(f"refusing {host}: it resolves to no address")
        return checked


PUBLIC_ONLY = AddressPolicy()


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """The addresses, all public, or `RefusedAddressError` naming the first one that is not."""
    return PUBLIC_ONLY.check(host, addresses)


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
    """An httpcore network backend that connects only to addresses its policy allows."""

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend | None = None,
        *,
        policy: AddressPolicy = PUBLIC_ONLY,
        resolver: Resolver | None = None,
    ) -> None:
        self._inner = inner or httpcore.AnyIOBackend()
        self._policy = policy
        self._resolve = resolver or resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._policy.check(host, await self._resolve(host, port))
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
