"""Fetching one feed document over HTTP(S) or from a file, defensively.

- one overall deadline per fetch (all redirect hops, connect, headers and body): httpx's
  own timeouts are per operation, so a server dripping one byte a second would never trip
  them;
- redirects are followed hop by hop, each hop re-checked (scheme, SSRF guard at connect),
  with a hop limit and loop detection; a chain made only of 301/308 is reported so the
  stored URL can be updated;
- the body is read raw and decompressed here in bounded steps, so ``max_bytes`` counts the
  *decompressed* size and a gzip bomb is cut after at most ``max_bytes`` of output;
- errors are values (`FetchResult.error`), never exceptions, so one feed cannot break others.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from watcher.config.schema import FeedConfig, PollingConfig
from watcher.ingest.netguard import (
    AddressPolicy,
    GuardedBackend,
    RefusedAddressError,
    Resolver,
    check_scheme,
)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 30.0
    max_bytes: int = 10 * 2**20
    max_redirects: int = 5
    user_agent: str = "sanctions-watch"
    allow_private_networks: bool = False  # every feed may reach any address
    allow_private_hosts: tuple[str, ...] = ()  # host names / networks (see `AddressPolicy`)
    private_feed_url: str = ""  # a feed with ``allow_private: true``: its host is allowed

    @classmethod
    def from_config(cls, polling: PollingConfig, feed: FeedConfig | None = None) -> FetchLimits:
        """The limits for one feed (``feed``'s own settings applied), else for any feed."""
        return cls(
            timeout=polling.timeout,
            max_bytes=polling.max_bytes,
            max_redirects=polling.max_redirects,
            user_agent=polling.user_agent,
            allow_private_networks=polling.allow_private_networks,
            allow_private_hosts=polling.allow_private_hosts,
            private_feed_url=feed.url if feed is not None and feed.allow_private else "",
        )

    @property
    def policy(self) -> AddressPolicy:
        base = AddressPolicy.build(self.allow_private_networks, self.allow_private_hosts)
        return base.with_host(self.private_feed_url) if self.private_feed_url else base


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL last requested (after redirects)
    status: int = 0  # final HTTP status; 0 when there was no usable response
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    permanent_url: str | None = None  # set when every hop was a 301/308
    error: str = ""  # why the fetch failed ("" when a response was obtained)
    refused: bool = False  # the SSRF guard or the scheme check refused it


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose connections go through `GuardedBackend`, built only from
    public APIs (httpx's transport interface, httpcore's pool and network backend).

    Each `AddressPolicy` (the one in a request's ``watcher.address_policy`` extension, else
    the default) has a connection pool of its own, so a connection opened for a feed allowed
    to reach a private host is never reused by a feed that is not."""

    def __init__(
        self,
        default: AddressPolicy,
        *,
        max_connections: int = 100,
        resolver: Resolver | None = None,
    ) -> None:
        self._default = default
        self._max_connections = max_connections
        self._resolver = resolver
        self._ssl_context = httpx.create_ssl_context()
        self._pools: dict[AddressPolicy, httpcore.AsyncConnectionPool] = {}

    def _pool(self, policy: AddressPolicy) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(policy)
        if pool is None:
            pool = self._pools[policy] = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
                keepalive_expiry=5.0,
                retries=0,
                network_backend=GuardedBackend(policy=policy, resolver=self._resolver),
            )
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        policy = extensions.pop(_POLICY, None)
        pool = self._pool(policy if isinstance(policy, AddressPolicy) else self._default)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=extensions,
        )
        with _httpx_errors(request.url):
            response = await pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Iterable[bytes] | AsyncIterable[bytes]) -> None:
        assert isinstance(stream, AsyncIterable)  # an async pool gives async streams
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


@contextmanager
def _httpx_errors(url: httpx.URL | None = None) -> Iterator[None]:
    """httpcore's exceptions as the httpx exceptions of the same name (httpx's transport
    contract); the guard's refusal passes through unchanged."""
    try:
        yield
    except httpcore.ConnectError as exc:
        raise httpx.ConnectError(_connect_message(exc, url)) from exc
    except (
        httpcore.TimeoutException,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
        httpcore.PoolTimeout,
    ) as exc:
        for cls in type(exc).__mro__:
            mapped = getattr(httpx, cls.__name__, None)
            if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                raise mapped(str(exc)) from exc
        raise httpx.TransportError(str(exc)) from exc


# OpenSSL's words for "the other side answered, but not in TLS" (a plain-HTTP port)
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "packet length too long", "http request", "unknown protocol")  # fmt: skip


def _connect_message(exc: httpcore.ConnectError, url: httpx.URL | None) -> str:
    """What went wrong while connecting, in words: a TLS handshake with a server that does
    not speak TLS on that port otherwise surfaces as an opaque (often empty) ConnectError."""
    text = str(exc)
    if url is None or url.scheme != "https":
        return text or f"could not connect to {url.host if url else 'the server'}"
    where = f"{url.host}:{url.port or 443}"
    tls_error = _ssl_error(exc)
    detail = str(tls_error or exc)
    if isinstance(tls_error, ssl.SSLCertVerificationError):
        return f"TLS certificate of {where} not accepted: {detail}"
    if tls_error is not None and any(word in detail for word in _NOT_TLS):
        return (
            f"TLS handshake with {where} failed: the server does not speak TLS on that port "
            f"(a plain-HTTP port? then write the feed URL with http://) ({detail})"
        )
    if tls_error is not None:
        return f"TLS handshake with {where} failed: {detail}"
    return text or f"could not connect to {where}: the connection closed during the TLS handshake"


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class _TooLargeError(Exception):
    pass


_POLICY = "watcher.address_policy"  # request extension: the `AddressPolicy` to connect under


def make_client(
    limits: FetchLimits, max_connections: int = 100, *, resolver: Resolver | None = None
) -> httpx.AsyncClient:
    """The shared client: no automatic redirects, no env proxies, connections only through
    the guarded network backend (``resolver`` replaces DNS, for tests)."""
    transport = GuardedTransport(limits.policy, max_connections=max_connections, resolver=resolver)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(limits.timeout),
        headers={"User-Agent": limits.user_agent, "Accept": ACCEPT},
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    limits: FetchLimits,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET ``url`` (or read a file: URL) within ``limits``. Never raises for feed problems."""
    try:
        async with asyncio.timeout(limits.timeout):
            if check_scheme(url, allow_file=True) == "file":
                return await _read_file(url, limits)
            return await _follow(client, url, limits, etag, last_modified)
    except TimeoutError:
        return FetchResult(url, error=f"timed out after {limits.timeout:g}s")
    except RefusedAddressError as exc:
        return FetchResult(url, error=str(exc), refused=True)
    except _TooLargeError:
        return FetchResult(url, error=f"document larger than max_bytes ({limits.max_bytes} bytes)")
    except (httpx.HTTPError, httpcore.ProtocolError, OSError, zlib.error, ValueError) as exc:
        return FetchResult(url, error=_describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


async def _read_file(url: str, limits: FetchLimits) -> FetchResult:
    path = Path(unquote(urlsplit(url).path))

    def read() -> bytes:
        with path.open("rb") as handle:
            return handle.read(limits.max_bytes + 1)

    body = await asyncio.to_thread(read)
    if len(body) > limits.max_bytes:
        raise _TooLargeError
    return FetchResult(url, status=200, body=body)


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    limits: FetchLimits,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    headers = {"Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    visited = {url}
    permanent = True
    current = url
    for _hop in range(limits.max_redirects + 1):
        request = client.build_request(
            "GET", current, headers=headers, extensions={_POLICY: limits.policy}
        )
        response = await client.send(request, stream=True)
        try:
            if response.status_code in REDIRECTS and "location" in response.headers:
                permanent = permanent and response.status_code in PERMANENT
                target = str(response.url.join(response.headers["location"]))
                check_scheme(target, allow_file=False)
                if target in visited:
                    return FetchResult(current, error=f"redirect loop back to {target}")
                visited.add(target)
                current = target
                continue
            body = await _read_body(response, limits.max_bytes)
            return FetchResult(
                current,
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=body,
                permanent_url=current if permanent and current != url else None,
            )
        finally:
            await response.aclose()
    return FetchResult(current, error=f"more than {limits.max_redirects} redirects")


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    chunks = _decoded(response.aiter_raw(_CHUNK), encoding)
    parts: list[bytes] = []
    total = 0
    async for piece in chunks:
        total += len(piece)
        if total > max_bytes:
            raise _TooLargeError
        parts.append(piece)
    return b"".join(parts)


async def _decoded(raw: AsyncIterator[bytes], encoding: str) -> AsyncIterator[bytes]:
    """Decompress in steps of at most `_CHUNK` output bytes (a bomb never balloons memory)."""
    if encoding in ("", "identity"):
        async for chunk in raw:
            yield chunk
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    wbits = 31 if encoding != "deflate" else 15
    decoder = zlib.decompressobj(wbits)
    first = True
    async for chunk in raw:
        data = chunk
        if first and encoding == "deflate" and data and (data[0] & 0x0F) != 8:
            decoder = zlib.decompressobj(-15)  # raw deflate without the zlib header
        first = False
        while data:
            out = decoder.decompress(data, _CHUNK)
            if out:
                yield out
            if decoder.eof and decoder.unused_data:  # another gzip member follows
                data = decoder.unused_data
                decoder = zlib.decompressobj(wbits)
            else:
                data = decoder.unconsumed_tail
    tail = decoder.flush()
    if tail:
        yield tail
