"""The file_url downloader against real aiohttp servers on loopback.

Production sessions refuse loopback, so these tests reach the server the way a
real download reaches a public host: a name (``files.example.com``) resolved by
an injected DNS to 127.0.0.1, with 127.0.0.1/32 (and nothing else) allowed.
Every other private address stays refused, which is what the redirect tests check.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.typedefs import Handler

from pagewire.errors import FetchFailed
from pagewire.security.netguard import guarded_connector
from pagewire.worker.inputs import Downloaded, download

DOCUMENT = os.urandom(300_000)
LOOPBACK_ONLY = ["127.0.0.1/32"]


class StaticResolver(AbstractResolver):
    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve")
        address = self.answers[host]
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


DNS = {"files.example.com": "127.0.0.1", "internal.example.com": "10.0.0.1"}


@dataclass
class FileServer:
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "files.example.com") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def server() -> AsyncIterator[FileServer]:
    state = FileServer(port=0)
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        state.hits.append(request.path)
        return await handler(request)

    @routes.get("/doc.pdf")
    async def doc(request: web.Request) -> web.Response:
        return web.Response(body=DOCUMENT, content_type="application/pdf")

    @routes.get("/files/{id}")
    async def named(request: web.Request) -> web.Response:
        return web.Response(
            body=DOCUMENT,
            content_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="Q3 report.pdf"'},
        )

    @routes.get("/evil-name")
    async def evil_name(request: web.Request) -> web.Response:
        return web.Response(
            body=b"x", headers={"Content-Disposition": 'attachment; filename="../../etc/passwd"'}
        )

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nope")

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.Event().wait()  # never answers
        return web.Response(text="too late")

    @routes.get("/trickle")
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 10)
            await asyncio.sleep(0.1)
        return response

    @routes.get("/big")
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2_000_000)

    @routes.get("/big-unannounced")
    async def big_unannounced(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to check up front
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"x" * 50_000)
        return response

    @routes.get("/hop/{n}")
    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/hop/{n - 1}" if n > 1 else "/doc.pdf")

    @routes.get("/relative/start")
    async def relative(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("../doc.pdf")

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/loop")

    @routes.get("/to/{target}")
    async def to(request: web.Request) -> web.Response:
        targets = {
            "private-ip": f"http://10.0.0.1:{state.port}/doc.pdf",
            "private-name": f"http://internal.example.com:{state.port}/doc.pdf",
            "loopback-ip": f"http://127.0.0.2:{state.port}/doc.pdf",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "file": "file:///etc/passwd",
        }
        raise web.HTTPFound(targets[request.match_info["target"]])

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = guarded_connector(
        allow_private=False, resolver=StaticResolver(DNS), allowed_networks=LOOPBACK_ONLY
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def fetch(
    session: aiohttp.ClientSession, url: str, dest: Path, **overrides: object
) -> Downloaded:
    options: dict[str, object] = {
        "max_bytes": 1_000_000,
        "timeout": 5.0,
        "allow_private": False,
        "allowed_networks": LOOPBACK_ONLY,
    }
    options.update(overrides)
    return await download(session, url, dest, **options)  # type: ignore[arg-type]


async def failure(
    session: aiohttp.ClientSession, url: str, dest: Path, **overrides: object
) -> FetchFailed:
    with pytest.raises(FetchFailed) as caught:
        await fetch(session, url, dest, **overrides)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir()] == []  # no partial or temporary file
    return caught.value


async def test_a_document_is_saved_with_its_size_hash_and_type(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    dest = tmp_path / "input"
    got = await download(
        session,
        server.url("/doc.pdf"),
        dest,
        max_bytes=1_000_000,
        timeout=5.0,
        allow_private=False,
        allowed_networks=LOOPBACK_ONLY,
    )
    assert dest.read_bytes() == DOCUMENT
    assert got.path == dest
    assert got.size == len(DOCUMENT)
    assert got.sha256 == hashlib.sha256(DOCUMENT).hexdigest()
    assert got.content_type == "application/pdf"
    assert got.file_name == "doc.pdf"


async def test_the_file_name_comes_from_content_disposition_first(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    got = await fetch(session, server.url("/files/123"), tmp_path / "input")
    assert got.file_name == "Q3 report.pdf"


async def test_a_server_chosen_file_name_cannot_be_a_path(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    got = await fetch(session, server.url("/evil-name"), tmp_path / "input")
    assert got.file_name == "passwd"


@pytest.mark.parametrize("code", [404, 410])
async def test_missing_files_fail_as_not_found(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path, code: int
) -> None:
    error = await failure(session, server.url(f"/status/{code}"), tmp_path / "input")
    assert error.code == "file_url_not_found"
    assert error.details["status"] == code


@pytest.mark.parametrize("code", [401, 403, 500, 503, 304])
async def test_other_error_statuses_fail_with_the_status(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path, code: int
) -> None:
    error = await failure(session, server.url(f"/status/{code}"), tmp_path / "input")
    assert error.code == "file_url_http_error"
    assert error.details["status"] == code


async def test_a_server_that_never_answers_times_out(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await failure(session, server.url("/slow"), tmp_path / "input", timeout=0.5)
    assert error.code == "file_url_timeout"
    assert loop.time() - started < 2


async def test_a_server_that_trickles_bytes_times_out_as_a_whole(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, server.url("/trickle"), tmp_path / "input", timeout=0.5)
    assert error.code == "file_url_timeout"


async def test_a_file_announced_as_too_large_is_refused(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, server.url("/big"), tmp_path / "input", max_bytes=1_000_000)
    assert error.code == "file_url_too_large"
    assert error.details["max_bytes"] == 1_000_000


async def test_a_file_that_grows_past_the_limit_while_streaming_is_refused(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, server.url("/big-unannounced"), tmp_path / "input")
    assert error.code == "file_url_too_large"


async def test_a_file_of_exactly_the_limit_is_accepted(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    got = await fetch(session, server.url("/doc.pdf"), tmp_path / "input", max_bytes=len(DOCUMENT))
    assert got.size == len(DOCUMENT)


async def test_a_redirect_chain_is_followed_to_the_document(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    got = await fetch(session, server.url("/hop/5"), tmp_path / "input")
    assert got.sha256 == hashlib.sha256(DOCUMENT).hexdigest()
    assert server.hits == ["/hop/5", "/hop/4", "/hop/3", "/hop/2", "/hop/1", "/doc.pdf"]


async def test_relative_redirects_resolve_against_the_current_url(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    got = await fetch(session, server.url("/relative/start"), tmp_path / "input")
    assert got.size == len(DOCUMENT)


async def test_one_redirect_too_many_fails(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, server.url("/hop/6"), tmp_path / "input", max_redirects=5)
    assert error.code == "file_url_too_many_redirects"
    assert "/doc.pdf" not in server.hits


async def test_a_redirect_loop_fails_as_too_many_redirects(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, server.url("/loop"), tmp_path / "input", max_redirects=3)
    assert error.code == "file_url_too_many_redirects"
    assert server.hits == ["/loop"] * 4


@pytest.mark.parametrize(
    "target", ["private-ip", "private-name", "loopback-ip", "metadata", "file"]
)
async def test_a_redirect_to_a_refused_address_is_not_followed(
    server: FileServer, session: aiohttp.ClientSession, tmp_path: Path, target: str
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await failure(session, server.url(f"/to/{target}"), tmp_path / "input")
    assert error.code == "file_url_not_allowed"
    assert server.hits == [f"/to/{target}"]
    # Refused before connecting: a real attempt at 10.0.0.1 would hang until the timeout.
    assert loop.time() - started < 1


async def test_a_loopback_file_url_is_refused_without_reaching_the_server(
    server: FileServer, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession(connector=guarded_connector(allow_private=False)) as plain:
        error = await failure(
            plain,
            f"http://127.0.0.1:{server.port}/doc.pdf",
            tmp_path / "input",
            allowed_networks=(),
        )
    assert error.code == "file_url_not_allowed"
    assert server.hits == []


async def test_a_name_pointing_at_loopback_is_refused_by_the_connection_guard(
    server: FileServer, tmp_path: Path
) -> None:
    # The URL passes validation (it is a name); the session's guard refuses the address.
    connector = guarded_connector(allow_private=False, resolver=StaticResolver(DNS))
    async with aiohttp.ClientSession(connector=connector) as strict:
        error = await failure(strict, server.url("/doc.pdf"), tmp_path / "input")
    assert error.code == "file_url_not_allowed"
    assert error.details["address"] == "127.0.0.1"
    assert server.hits == []


async def test_private_urls_download_when_private_urls_are_allowed(
    server: FileServer, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession(connector=guarded_connector(allow_private=True)) as relaxed:
        got = await fetch(
            relaxed,
            f"http://127.0.0.1:{server.port}/doc.pdf",
            tmp_path / "input",
            allow_private=True,
        )
    assert got.size == len(DOCUMENT)


async def test_a_host_that_does_not_resolve_is_unreachable(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    error = await failure(session, "http://nowhere.example.com/doc.pdf", tmp_path / "input")
    assert error.code == "file_url_unreachable"


async def test_a_closed_port_is_unreachable(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await failure(session, f"http://files.example.com:{port}/doc.pdf", tmp_path / "input")
    assert error.code == "file_url_unreachable"


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/doc.pdf", "http://user:pw@files.example.com/doc.pdf"]
)
async def test_unsupported_urls_are_refused_up_front(
    session: aiohttp.ClientSession, tmp_path: Path, url: str
) -> None:
    error = await failure(session, url, tmp_path / "input")
    assert error.code == "file_url_not_allowed"
