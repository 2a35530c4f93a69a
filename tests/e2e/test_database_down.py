"""``pagewire worker``, ``dispatch`` and ``serve`` started while PostgreSQL is down wait for it.

The database is "down" in the most ordinary way: nothing listens on its port yet.
A TCP forwarder started later on that port to the real server plays the database
coming back. What the waiting looks like from outside: a log line per attempt
with the driver's words (never the URL or its password), a SIGTERM that ends the
wait at once with exit 0, and errors no wait can fix (an unknown role, a missing
database) that still end the process with exit 1 and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import free_port
from .test_serve import new_key, submit, wait_all

# Only PostgreSQL has a server that can be down; SQLite is a file.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize(
        "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

PASSWORD = "pw-never-in-logs"  # the test server trusts loopback, so any password goes


class Forwarder:
    """A TCP forwarder from a loopback port to the real PostgreSQL, in its own thread."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        future.result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def _pipe(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.append(client_w)
        server_r, server_w = await asyncio.open_connection(*self.target)
        self._writers.append(server_w)

        async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(copy(client_r, server_w), copy(server_r, client_w))

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()


class HookReceiver:
    """Records the ``webhook-id`` of each POST it gets, and answers 204."""

    def __init__(self) -> None:
        received: list[str] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(self.headers["webhook-id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class StartingUp:
    """A PostgreSQL server that is starting up: it answers every connection with the
    FATAL error 57P03 that a real one sends then (protocol 3.0, no TLS)."""

    MESSAGE = "the database system is starting up"

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.sock.accept()
                with connection:
                    self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        while True:
            length = int.from_bytes(connection.recv(4), "big")
            body = connection.recv(length - 4)
            if body[:4] == (80877103).to_bytes(4, "big"):  # SSLRequest: no TLS here
                connection.sendall(b"N")
                continue
            fields = b"".join(
                kind + text.encode() + b"\0"
                for kind, text in ((b"S", "FATAL"), (b"C", "57P03"), (b"M", self.MESSAGE))
            )
            connection.sendall(b"E" + (len(fields) + 5).to_bytes(4, "big") + fields + b"\0")
            return


@pytest.fixture
def hooks() -> Iterator[HookReceiver]:
    receiver = HookReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def on_port(database_url: str, port: int, *, user: str = "postgres") -> str:
    """The test database's URL, through ``port``, with a password and ``user``."""
    parts = urlsplit(database_url)
    return parts._replace(netloc=f"{user}:{PASSWORD}@127.0.0.1:{port}").geturl()


def retries(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("msg") == "database unreachable, retrying"]


def log_of(service: Any, proc: Any) -> Path:
    return service.data_dir / f"process-{service.procs.index(proc)}.log"  # type: ignore[no-any-return]


def wait_for_retries(service: Any, procs: list[Any], count: int) -> None:
    """Until each of ``procs`` logged ``count`` attempts to reach the database."""
    deadline = time.monotonic() + 30
    while not all(len(retries(log_of(service, p))) >= count for p in procs):
        assert all(p.poll() is None for p in service.procs), service.logs()
        assert time.monotonic() < deadline, service.logs()
        time.sleep(0.1)


def test_worker_and_dispatcher_started_before_the_database_wait_then_serve(
    service_factory: Any, sample_pdf: Path, backend: Any, hooks: HookReceiver
) -> None:
    service = service_factory(PAGEWIRE_WEBHOOK_RETRY_SCHEDULE="0,0.1")
    headers = new_key(service)
    service.serve("--no-worker", "--no-dispatch")
    port = free_port()
    down = on_port(backend.url, port)
    worker = service.start("worker", "--database-url", down)
    dispatcher = service.start("dispatch", "--database-url", down)
    wait_for_retries(service, [worker, dispatcher], 2)

    target = urlsplit(backend.url)
    forwarder = Forwarder(port, (target.hostname or "127.0.0.1", target.port or 5432))
    forwarder.start()
    try:
        with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
            created = client.post("/webhook/endpoints", json={"url": hooks.url})
            assert created.status_code == 201, created.text
            [job] = wait_all(client, [submit(client, sample_pdf, pages="1")], {"completed"}, 90)
        deadline = time.monotonic() + 60
        while len(hooks.received) < 1:
            assert time.monotonic() < deadline, service.logs()
            time.sleep(0.1)
    finally:
        forwarder.stop()

    assert job["status"] == "completed" and job["attempts"] == 1
    assert worker.poll() is None and dispatcher.poll() is None
    for log in (log_of(service, worker), log_of(service, dispatcher)):
        waited = retries(log)
        assert [x["attempt"] for x in waited] == list(range(1, len(waited) + 1))
        assert all("refused" in x["error"] for x in waited), waited
        assert '"database reachable"' in log.read_text()
    assert PASSWORD not in service.logs()


def test_serve_started_before_the_database_waits_then_answers(
    service_factory: Any, backend: Any
) -> None:
    service = service_factory()
    port = free_port()
    proc = service.start(
        "serve", "--port", str(service.port), "--database-url", on_port(backend.url, port)
    )
    wait_for_retries(service, [proc], 2)
    with pytest.raises(httpx.HTTPError):  # not listening while it waits
        httpx.get(f"{service.base_url}/healthz", timeout=1)

    target = urlsplit(backend.url)
    forwarder = Forwarder(port, (target.hostname or "127.0.0.1", target.port or 5432))
    forwarder.start()
    try:
        service.wait_ready(proc)  # /readyz 200: migrated, keys open
        proc.terminate()
        assert proc.wait(20) == 0, service.logs()
    finally:
        forwarder.stop()
    log = log_of(service, proc)
    assert all("refused" in x["error"] for x in retries(log))
    assert '"database reachable"' in log.read_text()
    assert "Traceback" not in service.logs() and PASSWORD not in service.logs()


def serving(service: Any) -> list[str]:
    return ["serve", "--port", str(service.port)]


@pytest.mark.parametrize("command", ["worker", "dispatch", "serve"])
def test_sigterm_while_waiting_for_the_database_exits_0_at_once(
    service_factory: Any, backend: Any, command: str
) -> None:
    service = service_factory()
    args = serving(service) if command == "serve" else [command]
    proc = service.start(*args, "--database-url", on_port(backend.url, free_port()))
    wait_for_retries(service, [proc], 1)
    proc.terminate()
    assert proc.wait(10) == 0, service.logs()
    assert "Traceback" not in service.logs()


def test_a_database_starting_up_is_waited_for(service_factory: Any, backend: Any) -> None:
    service = service_factory()
    server = StartingUp()
    try:
        proc = service.start("dispatch", "--database-url", on_port(backend.url, server.port))
        wait_for_retries(service, [proc], 2)
        proc.terminate()
        assert proc.wait(10) == 0, service.logs()
    finally:
        server.sock.close()
    assert all(StartingUp.MESSAGE in x["error"] for x in retries(log_of(service, proc)))


def test_sigterm_during_a_connection_attempt_that_hangs_exits_0_at_once(
    service_factory: Any, backend: Any
) -> None:
    service = service_factory()
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(30)
        proc = service.start(
            "worker", "--database-url", on_port(backend.url, silent.getsockname()[1])
        )
        connection, _ = silent.accept()  # the worker is inside its first attempt
        with connection:
            proc.terminate()
            assert proc.wait(10) == 0, service.logs()
    assert "Traceback" not in service.logs()


@pytest.mark.parametrize("command", ["worker", "dispatch", "serve"])
@pytest.mark.parametrize(
    ("user", "database", "reason"),
    [
        pytest.param(
            "pagewire_no_such_role",
            None,
            'role "pagewire_no_such_role" does not exist',
            id="unknown-role",
        ),
        pytest.param(
            "postgres",
            "pagewire_no_such_db",
            'database "pagewire_no_such_db" does not exist',
            id="missing-database",
        ),
    ],
)
def test_a_database_no_wait_can_fix_still_exits_1_with_the_reason(
    service_factory: Any,
    backend: Any,
    command: str,
    user: str,
    database: str | None,
    reason: str,
) -> None:
    service = service_factory()
    target = urlsplit(backend.url)
    url = on_port(backend.url, target.port or 5432, user=user)
    if database is not None:
        url = urlsplit(url)._replace(path=f"/{database}").geturl()
    args = serving(service) if command == "serve" else [command]
    proc = service.start(*args, "--database-url", url)
    assert proc.wait(30) == 1
    assert reason in service.logs()
    assert "database unreachable, retrying" not in service.logs()
    assert "Traceback" not in service.logs()
    assert PASSWORD not in service.logs()
