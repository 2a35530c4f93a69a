"""The SSRF guard for webhook endpoints and ``file_url`` downloads.

Three layers, each enough on its own for the case it sees:

* :func:`validate_url` checks a URL's shape and any literal IP in it, with no I/O;
* :func:`check_url` also resolves the name, for a clear answer when an endpoint
  is created;
* :func:`guarded_connector` makes aiohttp refuse non-public addresses at connect
  time: its resolver refuses names that resolve to one, so aiohttp connects only
  to addresses that were checked (a DNS answer that changes between the check and
  the connect cannot slip through), and its socket factory checks the exact
  address of every socket, which also covers literal IPs that aiohttp never
  passes to a resolver.

``allow_private`` turns the address checks off (development and tests);
``allowed_networks`` lets chosen private networks through while the rest stay
refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from pagewire.errors import InvalidRequest, UnsafeURL

__all__ = [
    "GuardedResolver",
    "RefusedAddress",
    "check_url",
    "guarded_connector",
    "is_public_address",
    "refused_address",
    "validate_url",
]

log = logging.getLogger("pagewire.netguard")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = Iterable[str | IPNetwork]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Decimal, octal and hex IPv4 spellings (2130706433, 0177.1, 0x7f.1) that
# getaddrinfo maps onto an address behind a check that only saw a "name".
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)

_private_warning_logged = False


class RefusedAddress(OSError):
    """A connection to a non-public address, refused by the guard.

    An OSError so that aiohttp treats it like any failed connection (and
    wraps it in ``ClientConnectorError``); :func:`refused_address` finds it again.
    """

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"refusing to connect to {host} ({address}): not a public address")
        self.host = host
        self.address = address


def _warn_private_allowed() -> None:
    global _private_warning_logged
    if not _private_warning_logged:
        _private_warning_logged = True
        log.warning(
            "private URLs are allowed (PAGEWIRE_ALLOW_PRIVATE_URLS): webhooks and file_url "
            "downloads may reach loopback, private and cloud metadata addresses; "
            "never run like this in production"
        )


def _networks(allowed: Networks) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def is_public_address(ip: str | IPAddress) -> bool:
    """True for a globally routable unicast address; False for anything we refuse.

    Refused: private, loopback, link-local (169.254.169.254 included), multicast,
    reserved, unspecified, shared (CGNAT 100.64/10), documentation and benchmark
    ranges, unique-local and site-local IPv6, and IPv6 forms that embed one of
    those IPv4 addresses (mapped, 6to4, NAT64).
    """
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            addr = ipaddress.IPv6Address(str(addr).split("%", 1)[0])
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if addr.is_site_local:
            return False
    return bool(
        addr.is_global
        and not addr.is_private
        and not addr.is_multicast
        and not addr.is_reserved
        and not addr.is_loopback
        and not addr.is_link_local
        and not addr.is_unspecified
    )


def _permitted(address: str | IPAddress, allowed: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return False
    return is_public_address(ip) or any(ip in net for net in allowed)


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _split(url: str, *, allow_http: bool) -> tuple[SplitResult, str, int]:
    if not isinstance(url, str) or not url:
        raise UnsafeURL("a URL is required")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeURL("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed or invalid [IPv6] host
        raise UnsafeURL(f"the URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"only http and https URLs are allowed, not {scheme or 'no scheme'!r}")
    if scheme == "http" and not allow_http:
        raise UnsafeURL("the URL must use https")
    if "@" in parts.netloc:
        raise UnsafeURL("URLs with a user name or password are not allowed")
    host = parts.hostname
    if not host:
        raise UnsafeURL("the URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURL("the URL's port is not a number between 1 and 65535") from None
    if port == 0:
        raise UnsafeURL("the URL's port is not a number between 1 and 65535")
    return parts, host, port or (443 if scheme == "https" else 80)


def validate_url(
    url: str,
    *,
    allow_private: bool,
    allow_http: bool = True,
    allowed_networks: Networks = (),
) -> str:
    """Check a URL without any I/O and return it; raise :class:`UnsafeURL` if refused."""
    _parts, host, _port = _split(url, allow_http=allow_http)
    if allow_private:
        _warn_private_allowed()
        return url
    ip = _literal_ip(host)
    if ip is not None:
        if not _permitted(ip, _networks(allowed_networks)):
            raise UnsafeURL(f"{host} is not a public address", details={"host": host})
        return url
    name = host.rstrip(".").lower()
    if _NUMERIC_HOST.fullmatch(name):
        raise UnsafeURL(f"{host} is not a canonical IP address", details={"host": host})
    if name == "localhost" or name.endswith(".localhost"):
        raise UnsafeURL(f"{host} is a loopback name", details={"host": host})
    return url


async def _getaddrinfo_hosts(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_url(
    url: str,
    *,
    allow_private: bool,
    allow_http: bool = True,
    allowed_networks: Networks = (),
    resolver: AbstractResolver | None = None,
) -> None:
    """Validate a URL and resolve its host; refuse it if any address is not public.

    ``resolver`` replaces the event loop's getaddrinfo (tests; a custom DNS).
    A name that does not resolve is an :class:`InvalidRequest` with code
    ``url_unresolvable``: not unsafe, but nothing we could deliver to.
    """
    validate_url(
        url, allow_private=allow_private, allow_http=allow_http, allowed_networks=allowed_networks
    )
    if allow_private:
        return
    _parts, host, port = _split(url, allow_http=allow_http)
    if _literal_ip(host) is not None:
        return  # validate_url checked it
    try:
        if resolver is None:
            addresses = await _getaddrinfo_hosts(host, port)
        else:
            addresses = [r["host"] for r in await resolver.resolve(host, port, socket.AF_UNSPEC)]
    except OSError as exc:
        raise InvalidRequest(
            f"{host} does not resolve", code="url_unresolvable", details={"host": host}
        ) from exc
    if not addresses:
        raise InvalidRequest(
            f"{host} does not resolve", code="url_unresolvable", details={"host": host}
        )
    networks = _networks(allowed_networks)
    for address in addresses:
        if not _permitted(address, networks):
            raise UnsafeURL(
                f"{host} resolves to {address}, which is not a public address",
                details={"host": host, "address": address},
            )


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses names resolving to a non-public address.

    It refuses the whole name rather than dropping the bad addresses: a name that
    points inside the network is a misconfiguration or an attack, and saying so
    beats connecting to whichever record happens to be left.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        allow_private: bool,
        allowed_networks: Networks = (),
    ) -> None:
        self._owns_inner = inner is None
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()
        self._allow_private = allow_private
        self._allowed = _networks(allowed_networks)
        if allow_private:
            _warn_private_allowed()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                if not _permitted(result["host"], self._allowed):
                    raise RefusedAddress(host, result["host"])
        return results

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()


def _guarded_socket_factory(allowed: tuple[IPNetwork, ...]) -> Any:
    def factory(addr_info: Any) -> socket.socket:
        family, type_, proto, _canonname, sockaddr = addr_info
        address = str(sockaddr[0])
        # The last check before connect(): it sees literal-IP URLs, which aiohttp
        # never hands to the resolver.
        if not _permitted(address, allowed):
            raise RefusedAddress(address, address)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def guarded_connector(
    allow_private: bool,
    *,
    limit: int = 100,
    limit_per_host: int = 0,
    resolver: AbstractResolver | None = None,
    allowed_networks: Networks = (),
    **kwargs: Any,
) -> aiohttp.TCPConnector:
    """A TCPConnector that only connects to public addresses (unless ``allow_private``).

    ``resolver`` is the resolver to guard (aiohttp's default when None); other
    keyword arguments go to :class:`aiohttp.TCPConnector`. Call inside a running loop.
    """
    networks = _networks(allowed_networks)
    return _GuardedConnector(
        resolver=GuardedResolver(resolver, allow_private=allow_private, allowed_networks=networks),
        socket_factory=None if allow_private else _guarded_socket_factory(networks),
        limit=limit,
        limit_per_host=limit_per_host,
        **kwargs,
    )


class _GuardedConnector(aiohttp.TCPConnector):
    # TCPConnector closes only a resolver it created itself; this one it was given.
    async def close(self, *, abort_ssl: bool = False) -> None:
        await super().close(abort_ssl=abort_ssl)
        await self._resolver.close()


def refused_address(exc: BaseException) -> RefusedAddress | None:
    """The guard's refusal behind an aiohttp (or other) exception, if that is what it was."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RefusedAddress):
            return current
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            pending.append(os_error)
        pending.extend([current.__cause__, current.__context__])
    return None
