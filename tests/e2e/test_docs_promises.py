"""Promises docs/operations.md makes about what the service never shows or logs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_serve import new_key, submit, wait_all

pytestmark = pytest.mark.e2e


def test_keys_list_never_shows_a_key(service_factory: Any) -> None:
    service = service_factory()
    service.cli("migrate")
    created = json.loads(service.cli("keys", "create", "--org", "acme", "--json"))

    listed = service.cli("keys", "list") + service.cli("keys", "list", "--json")

    assert created["key_id"] in listed  # the key is listed, by its id
    assert created["api_key"] not in listed
    # The random part after the "pw_" prefix (token_urlsafe may itself contain "_",
    # so splitting on the last one could leave a few characters that match by chance).
    secret_part = created["api_key"].removeprefix("pw_")
    assert len(secret_part) >= 40 and secret_part not in listed


@pytest.fixture
def hook_receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("content-length", 0))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_api_keys_webhook_secrets_and_document_content_are_never_logged(
    service_factory: Any, sample_pdf: Path, hook_receiver: tuple[str, list[bytes]]
) -> None:
    url, received = hook_receiver
    service = service_factory(PAGEWIRE_LOG_LEVEL="DEBUG")  # the most a log ever says
    headers = new_key(service)
    service.serve()
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        endpoint = client.post("/webhook/endpoints", json={"url": url})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        job_id = submit(client, sample_pdf, pages="1")
        [job] = wait_all(client, [job_id], {"completed"}, 60)
        markdown = client.get(f"/job/{job_id}").json()["result"]["markdown"]
    service.stop_all()  # every line written
    assert received, "no webhook was delivered"

    logs = service.logs()
    assert "job completed" in logs and job_id in logs  # the logs do speak of the job
    assert headers["x-api-key"] not in logs
    assert secret not in logs and secret.removeprefix("whsec_") not in logs
    # no sentence of the document (its first page's longer lines)
    lines = [line.strip() for line in markdown.splitlines() if len(line.strip()) > 40]
    assert lines, markdown
    for line in lines:
        assert line not in logs, line
    assert job["status"] == "completed"
