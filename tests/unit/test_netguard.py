"""The SSRF guard: the refusal matrix, name resolution, and real connections on loopback."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from pagewire.errors import InvalidRequest, UnsafeURL
from pagewire.security import netguard
from pagewire.security.netguard import (
    GuardedResolver,
    RefusedAddress,
    check_url,
    guarded_connector,
    is_public_address,
    refused_address,
    validate_url,
)


class StaticResolver(AbstractResolver):
    """DNS for tests: fixed answers, or a function of how often a name was asked."""

    def __init__(self, answers: dict[str, list[str] | Callable[[int], list[str]]]) -> None:
        self.answers = answers
        self.asked: dict[str, int] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        count = self.asked[host] = self.asked.get(host, 0) + 1
        answer = self.answers.get(host)
        if answer is None:
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve")
        addresses = answer(count) if callable(answer) else answer
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


PRIVATE_URLS = [
    "http://127.0.0.1/",
    "http://127.9.9.9:8080/x",
    "http://[::1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://017700000001/",
]


@pytest.fixture(autouse=True)
def _fresh_warning_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    # The "private URLs allowed" warning is once per process; each test starts clean.
    monkeypatch.setattr(netguard, "_private_warning_logged", False)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
     "169.254.169.254", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
     "100.64.0.1", "fd00::1", "fd00:ec2::254", "fc00::1", "fe80::1", "fe80::1%eth0",
     "fec0::1", "224.0.0.1", "ff02::1", "ff0e::1", "255.255.255.255", "240.0.0.1",
     "192.0.2.1", "198.18.0.1", "2001:db8::1", "2002:7f00:1::", "64:ff9b::a00:1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address) is True


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_urls_naming_private_hosts_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        validate_url(url, allow_private=False)
    assert caught.value.code == "url_not_allowed"


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_hosts_are_allowed_when_private_urls_are(url: str) -> None:
    assert validate_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/file.pdf", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("example.com/file.pdf", "only http and https"),
        ("http://", "no host"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://@example.com/", "user name or password"),
        ("http://example.com:99999/", "port"),
        ("http://example.com:0/", "port"),
        ("http://example.com:http/", "port"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com/\r\nHost: evil", "control"),
        ("", "required"),
        ("http://[::1/", "malformed"),
        ("http://[not-an-ip]/", "malformed"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(UnsafeURL, match=message):
            validate_url(url, allow_private=allow_private)


def test_https_can_be_required() -> None:
    with pytest.raises(UnsafeURL, match="https"):
        validate_url("http://example.com/hook", allow_private=False, allow_http=False)
    url = "https://example.com/hook"
    assert validate_url(url, allow_private=False, allow_http=False) == url


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://8.8.8.8:8080/x", "https://[2606:4700::1111]/"]
)
def test_public_urls_pass_validation(url: str) -> None:
    assert validate_url(url, allow_private=False) == url


def test_allowed_networks_let_chosen_private_ranges_through_and_no_others() -> None:
    nets = ["127.0.0.1/32", "fd12::/16"]
    assert validate_url("http://127.0.0.1:9/", allow_private=False, allowed_networks=nets)
    assert validate_url("http://[fd12::5]/", allow_private=False, allowed_networks=nets)
    with pytest.raises(UnsafeURL):
        validate_url("http://10.0.0.1/", allow_private=False, allowed_networks=nets)


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    dns = StaticResolver({"intranet.example.com": ["10.1.2.3"]})
    with pytest.raises(UnsafeURL, match=r"resolves to 10\.1\.2\.3") as caught:
        await check_url("https://intranet.example.com/hook", allow_private=False, resolver=dns)
    assert caught.value.details == {"host": "intranet.example.com", "address": "10.1.2.3"}


async def test_a_name_with_any_private_record_is_refused() -> None:
    dns = StaticResolver({"mixed.example.com": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(UnsafeURL, match=re.escape("169.254.169.254")):
        await check_url("https://mixed.example.com/", allow_private=False, resolver=dns)


async def test_a_name_resolving_to_public_addresses_is_accepted() -> None:
    dns = StaticResolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    await check_url("https://hooks.example.com/", allow_private=False, resolver=dns)
    assert dns.asked == {"hooks.example.com": 1}


async def test_check_url_resolves_through_the_system_resolver_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The event loop's getaddrinfo is the system resolver; here it answers as an
    # /etc/hosts line mapping an intranet name to a private address would.
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    async def hosts_file(host: str, port: int, **_: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(loop, "getaddrinfo", hosts_file)
    with pytest.raises(UnsafeURL, match=re.escape("resolves to 10.1.2.3")):
        await check_url("http://intranet.corp/", allow_private=False)
    assert asked == ["intranet.corp"]


async def test_a_name_that_does_not_resolve_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        await check_url(
            "https://nowhere.example.com/", allow_private=False, resolver=StaticResolver({})
        )
    assert caught.value.code == "url_unresolvable"
    assert not isinstance(caught.value, UnsafeURL)


async def test_check_url_does_not_resolve_when_private_urls_are_allowed() -> None:
    dns = StaticResolver({})
    await check_url("http://intranet.example.com/", allow_private=True, resolver=dns)
    await check_url("http://127.0.0.1:8000/", allow_private=True, resolver=dns)
    assert dns.asked == {}


async def test_check_url_still_refuses_literal_private_ips() -> None:
    with pytest.raises(UnsafeURL):
        await check_url("http://[::1]:8000/", allow_private=False, resolver=StaticResolver({}))


def test_allowing_private_urls_warns_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pagewire.security.netguard"):
        validate_url("http://127.0.0.1/", allow_private=True)
        validate_url("http://10.0.0.1/", allow_private=True)
        validate_url("https://example.com/", allow_private=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "private URLs are allowed" in warnings[0].getMessage()


def test_refusing_private_urls_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pagewire.security.netguard"):
        validate_url("https://example.com/", allow_private=False)
    assert caplog.records == []


async def test_guarded_resolver_refuses_private_answers_and_passes_public_ones() -> None:
    dns = StaticResolver({"in.example.com": ["192.168.0.10"], "out.example.com": ["8.8.4.4"]})
    guard = GuardedResolver(dns, allow_private=False)
    with pytest.raises(RefusedAddress, match=re.escape("192.168.0.10")):
        await guard.resolve("in.example.com", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in await guard.resolve("out.example.com", 443)] == ["8.8.4.4"]
    relaxed = GuardedResolver(dns, allow_private=True)
    assert [r["host"] for r in await relaxed.resolve("in.example.com", 443)] == ["192.168.0.10"]


# -- real connections on loopback -------------------------------------------------


@dataclass
class Receiver:
    """A plain TCP server that answers 200 and counts who reached it."""

    port: int = 0
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        state.received += await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


async def fetch_status(url: str, connector: aiohttp.BaseConnector) -> int:
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response,
    ):
        await response.read()
        return response.status


async def test_the_loopback_receiver_is_reachable_when_private_urls_are_allowed(
    receiver: Receiver,
) -> None:
    # The control for the refusals below: the same request does arrive when allowed.
    url = f"http://127.0.0.1:{receiver.port}/"
    assert await fetch_status(url, guarded_connector(allow_private=True)) == 200
    assert receiver.connections == 1
    assert receiver.received.startswith(b"GET / HTTP/1.1")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_guarded_request_to_loopback_never_reaches_the_server(
    receiver: Receiver, host: str
) -> None:
    url = f"http://{host}:{receiver.port}/"
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch_status(url, guarded_connector(allow_private=False))
    refusal = refused_address(caught.value)
    assert refusal is not None and not is_public_address(refusal.address)
    assert receiver.connections == 0 and receiver.received == b""


async def test_a_public_looking_name_that_points_at_loopback_is_refused_at_connect(
    receiver: Receiver,
) -> None:
    dns = StaticResolver({"files.example.com": ["127.0.0.1"]})
    connector = guarded_connector(allow_private=False, resolver=dns)
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch_status(f"http://files.example.com:{receiver.port}/", connector)
    refusal = refused_address(caught.value)
    assert refusal is not None and refusal.address == "127.0.0.1"
    assert receiver.connections == 0


async def test_dns_rebinding_after_the_check_is_refused_at_connect(receiver: Receiver) -> None:
    # First answer public (what check_url sees), then loopback (what a rebinding
    # attacker serves to the connection): the connector re-checks its own answer.
    dns = StaticResolver(
        {"rebind.example.com": lambda n: ["93.184.216.34"] if n == 1 else ["127.0.0.1"]}
    )
    url = f"http://rebind.example.com:{receiver.port}/"
    await check_url(url, allow_private=False, resolver=dns)
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch_status(url, guarded_connector(allow_private=False, resolver=dns))
    assert refused_address(caught.value) is not None
    assert receiver.connections == 0


async def test_allowed_networks_reach_a_chosen_private_receiver(receiver: Receiver) -> None:
    dns = StaticResolver({"files.example.com": ["127.0.0.1"]})
    connector = guarded_connector(
        allow_private=False, resolver=dns, allowed_networks=["127.0.0.1/32"]
    )
    assert await fetch_status(f"http://files.example.com:{receiver.port}/", connector) == 200
    assert receiver.connections == 1


async def test_ordinary_connection_failures_are_not_mistaken_for_refusals() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await fetch_status(f"http://127.0.0.1:{port}/", guarded_connector(allow_private=True))
    assert refused_address(caught.value) is None
