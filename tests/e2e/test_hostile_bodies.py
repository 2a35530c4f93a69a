"""Hostile bodies against a real ``pagewire serve``: refused before they are read.

A body the server would refuse anyway (too large, or from a caller without a key)
must cost it neither memory nor disk: the answer comes while the client is still
sending, and the process's peak memory (VmHWM) barely moves.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import Backend

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
HOSTILE = 64 * MB
MAX_UPLOAD = 8 * MB
PIECE = b"a" * (256 * 1024)


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: the edge refuses these before any database is asked anything but a key."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client got out before the answer came

    def error(self) -> dict[str, Any]:
        error = json.loads(self.body)["error"]
        assert set(error) == {"code", "message", "details", "request_id"}
        assert error["request_id"] == self.headers.get("x-request-id")
        return dict(error)


def _body(prefix: bytes, total: int, suffix: bytes) -> Iterator[bytes]:
    yield prefix
    left = total - len(prefix) - len(suffix)
    while left > 0:
        piece = PIECE[: min(left, len(PIECE))]
        left -= len(piece)
        yield piece
    yield suffix


def push(
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    total: int,
    chunked: bool,
    prefix: bytes = b"",
    suffix: bytes = b"",
) -> Answer:
    """POST ``total`` bytes, as fast as the server takes them, until it answers.

    A plain HTTP client writes the whole body before it reads, so it would never see
    an early answer (it gets a broken pipe instead); this one reads whenever it can.
    """
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    head = "".join(
        f"{k}: {v}\r\n" for k, v in {"Host": f"127.0.0.1:{port}", **headers, **framing}.items()
    )
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
    sock.setblocking(False)
    pieces = _body(prefix, total, suffix)
    pending, sent, received, writing = b"", 0, b"", True
    try:
        while True:
            readable, writable, _ = select.select([sock], [sock] if writing else [], [], 30)
            assert readable or writable, f"no answer after {sent} bytes"
            if readable:
                chunk = _recv(sock)
                if chunk is not None:
                    received += chunk
                    if not chunk or _complete(received):
                        break
                    continue
            if not pending:
                piece = next(pieces, None)
                if piece is None:
                    pending, writing = (b"0\r\n\r\n" if chunked else b""), False
                else:
                    pending = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                    sent += len(piece)
            try:
                pending = pending[sock.send(pending) :]
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                writing = False
    finally:
        sock.close()
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    return Answer(status, parsed, body, sent)


def _recv(sock: socket.socket) -> bytes | None:
    """What arrived; ``b""`` when the server closed, None when nothing came after all."""
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return b""


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


JSON_PREFIX = b'{"file_url": "http://127.0.0.1:9/a.pdf", "async": true, "metadata": {"k": "'
JSON_SUFFIX = b'"}}'
FORM_PREFIX = (
    b"--edge\r\n"
    b'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
)
FORM_SUFFIX = (
    b'\r\n--edge\r\nContent-Disposition: form-data; name="async"\r\n\r\ntrue\r\n--edge--\r\n'
)
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "multipart/form-data; boundary=edge"}


@dataclass(frozen=True)
class Served:
    base_url: str
    port: int
    pid: int
    key: dict[str, str]


@pytest.fixture
def served(service_factory: Any) -> Served:
    service = service_factory(PAGEWIRE_MAX_UPLOAD_BYTES=str(MAX_UPLOAD))
    proc = service.serve("--no-worker", "--no-dispatch")
    created = json.loads(service.cli("keys", "create", "--org", "edge", "--json"))
    return Served(service.base_url, service.port, proc.pid, {"x-api-key": created["api_key"]})


def normal_requests_work(service: Served, sample_pdf: Path) -> None:
    with httpx.Client(base_url=service.base_url, headers=service.key, timeout=30) as client:
        by_url = client.post(
            "/extract", json={"file_url": "http://127.0.0.1:9/a.pdf", "async": True}
        )
        with sample_pdf.open("rb") as f:
            upload = client.post("/extract", files={"file": f}, data={"async": "true"})
        endpoint = client.post("/webhook/endpoints", json={"url": "http://127.0.0.1:9/hook"})
    assert by_url.status_code == 202, by_url.text
    assert upload.status_code == 202, upload.text
    assert endpoint.status_code == 201, endpoint.text


# (path, with a key, content type, prefix, suffix, statuses a refusal may have)
CASES = [
    ("/webhook/endpoints", False, JSON, b'{"url": "', b'"}', {401, 413}),
    ("/extract", True, JSON, JSON_PREFIX, JSON_SUFFIX, {413}),
    ("/extract", False, JSON, JSON_PREFIX, JSON_SUFFIX, {401, 413}),
    ("/extract", True, FORM, FORM_PREFIX, FORM_SUFFIX, {413}),
    ("/batch/extract", True, FORM, FORM_PREFIX, FORM_SUFFIX, {413}),
    ("/extract", False, FORM, FORM_PREFIX, FORM_SUFFIX, {401, 413}),
    ("/portal/start", False, FORM, FORM_PREFIX, FORM_SUFFIX, {415}),
    (
        "/portal/start",
        False,
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"token=",
        b"",
        {413},
    ),
]


def test_hostile_bodies_are_refused_before_they_are_read(served: Served, sample_pdf: Path) -> None:
    normal_requests_work(served, sample_pdf)
    # Every refusal once, small, so that what it imports is not counted below.
    for path, keyed, content_type, prefix, suffix, _ in CASES:
        headers = {**content_type, **(served.key if keyed else {})}
        push(served.port, path, headers, total=2 * MB, chunked=True, prefix=prefix, suffix=suffix)
    before = peak_rss(served.pid)

    seen = []
    for path, keyed, content_type, prefix, suffix, statuses in CASES:
        for chunked in (False, True):
            headers = {**content_type, **(served.key if keyed else {})}
            answer = push(
                served.port,
                path,
                headers,
                total=HOSTILE,
                chunked=chunked,
                prefix=prefix,
                suffix=suffix,
            )
            case = (path, keyed, content_type["Content-Type"], chunked, answer.status)
            seen.append(case)
            assert answer.status in statuses, (case, answer.body[:300])
            assert answer.error()["code"], case
            assert answer.sent < HOSTILE // 2, f"{case}: the server read {answer.sent} bytes"

    grown = peak_rss(served.pid) - before
    assert grown <= 32 * MB, f"peak RSS grew by {grown / MB:.0f} MB: {seen}"
    normal_requests_work(served, sample_pdf)


def test_an_upload_stops_at_the_limit_and_a_smaller_one_is_taken(served: Served) -> None:
    headers = {**FORM, **served.key}
    for chunked in (False, True):
        over = push(
            served.port,
            "/extract",
            headers,
            total=MAX_UPLOAD + MB,
            chunked=chunked,
            prefix=FORM_PREFIX,
            suffix=FORM_SUFFIX,
        )
        assert over.status == 413, over.body
        assert over.error()["code"] == "payload_too_large"
    # A real upload a little under the limit, with no Content-Length: stored whole.
    under = push(
        served.port,
        "/extract",
        headers,
        total=MAX_UPLOAD - 64 * 1024,
        chunked=True,
        prefix=FORM_PREFIX,
        suffix=FORM_SUFFIX,
    )
    assert under.status == 202, under.body


def test_the_server_does_not_name_itself(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as client:
        for response in (client.get("/healthz"), client.get("/jobs"), client.get("/nowhere")):
            assert "server" not in response.headers, response.headers
            assert response.headers.get("x-content-type-options") == "nosniff"
