"""Each kind of failed connection, made for real where a machine can make it, in words."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import aiohttp
import pytest

from pagewire.kernel.net_errors import describe_network_error


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def plain_tcp_server() -> Iterator[int]:
    """Accepts connections and answers bytes that are not TLS (a TLS client then fails)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    server.close()
    thread.join(5)


async def failure_of(url: str) -> BaseException:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)):
                pass
        except Exception as error:
            return error
    raise AssertionError(f"{url} answered")


async def test_a_closed_port_is_connection_refused() -> None:
    error = await failure_of(f"http://127.0.0.1:{closed_port()}/")

    failure = describe_network_error(error)

    assert failure.message.startswith("connection refused")
    assert failure.detail.startswith("ClientConnectorError: Cannot connect to host 127.0.0.1")


async def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    # .invalid never resolves (RFC 2606), on any resolver, online or not.
    error = await failure_of("http://pagewire-test.invalid/")

    assert describe_network_error(error).message.startswith("DNS failure")


async def test_tls_to_a_server_that_does_not_speak_it_is_a_tls_error(
    plain_tcp_server: int,
) -> None:
    error = await failure_of(f"https://127.0.0.1:{plain_tcp_server}/")

    assert describe_network_error(error).message.startswith("TLS error")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (TimeoutError(), "timed out"),
        (ConnectionResetError(104, "Connection reset by peer"), "the connection was reset"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS error: the server's"),
        (aiohttp.ServerDisconnectedError(), "the server closed the connection"),
        (OSError("Multiple exceptions: [Errno 111] a, [Errno 111] b"), "connection refused"),
        (RuntimeError("something else"), "the connection failed"),
    ],
)
def test_each_kind_is_told_in_words_with_the_raw_text_as_detail(
    error: BaseException, words: str
) -> None:
    failure = describe_network_error(error)

    assert failure.message.startswith(words)
    assert failure.detail.startswith(type(error).__name__)
