"""The deployment docs/scaling.md describes, as separate processes sharing no disk.

An API node (``serve --no-worker --no-dispatch``), two workers and a dispatcher, each
with its own data directory and temp directory, sharing nothing but PostgreSQL and a
bucket on a real S3 server (moto, on loopback). A real document goes in at the API
node, runs on a worker, its webhook comes from the dispatcher, its result (an object)
comes back through the API node, and no node's disk keeps a copy of the upload.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from blobs.s3_server import CLIENT_ENV, MotoServer

from .test_serve import new_key, submit, wait_all

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


class Hooks(http.server.ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps every request."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                hooks.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_nodes_that_share_no_disk_run_a_document_end_to_end(
    service_factory: Any, tmp_path: Path, corpus_dir: Path, hooks: Hooks
) -> None:
    document = corpus_dir / "ca9-appeal-15p.pdf"
    upload_sha256 = sha256_of(document)
    with MotoServer(tmp_path) as s3:
        s3.create_bucket("pagewire")
        shared = {
            **CLIENT_ENV,
            "PAGEWIRE_BLOB_URL": "s3://pagewire/cluster",
            "PAGEWIRE_S3_ENDPOINT_URL": s3.url,
            # Every result goes to the bucket, however small.
            "PAGEWIRE_INLINE_RESULT_LIMIT_BYTES": "1000",
        }
        nodes = []
        for _ in range(4):
            node = service_factory(**shared)
            (node.data_dir / "tmp-os").mkdir()
            node.env["TMPDIR"] = str(node.data_dir / "tmp-os")
            nodes.append(node)
        api, worker_a, worker_b, dispatcher = nodes
        api.serve("--no-worker", "--no-dispatch")
        headers = new_key(api)
        worker_a.start("worker", "--concurrency", "1")
        worker_b.start("worker", "--concurrency", "1")
        dispatcher.start("dispatch")

        with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as client:
            endpoint = client.post(
                "/webhook/endpoints", json={"url": hooks.url, "event_types": ["job.completed"]}
            )
            assert endpoint.status_code == 201, endpoint.text
            secret = endpoint.json()["secret"]
            job_id = submit(client, document)
            [job] = wait_all(client, [job_id], {"completed", "failed"}, 120)
            assert job["status"] == "completed", (job, *(n.logs() for n in nodes))
            streamed = client.get(f"/job/{job_id}/result")
        presigned = httpx.get(job["result"]["url"], timeout=30)

        deadline = time.monotonic() + 60
        while not hooks.received:
            assert time.monotonic() < deadline, dispatcher.logs()
            time.sleep(0.1)
        keys = s3.object_keys("pagewire")
        for node in nodes:
            node.stop_all()

    # The result is an object, fetched through the API node and by its presigned link.
    assert job["result"]["is_url"] is True
    # One object per run that stored a result (its name carries the run's lease).
    [result_key] = [k for k in keys if k.startswith(f"cluster/results/{job_id}")]
    assert result_key.endswith(".json")
    assert streamed.status_code == 200 and streamed.json()["page_count"] == 15
    assert presigned.status_code == 200 and presigned.json() == streamed.json()
    # The webhook came from the dispatcher, signed.
    [(hook_headers, body)] = hooks.received
    payload = standardwebhooks.Webhook(secret).verify(body, hook_headers)
    assert payload["type"] == "job.completed" and payload["data"]["job_id"] == job_id
    # No node keeps the upload: no blob directory, and no file with its bytes.
    assert [n for n in nodes if (n.data_dir / "blobs").exists()] == []
    copies = [p for p in files_under(*(n.data_dir for n in nodes)) if sha256_of(p) == upload_sha256]
    assert copies == []
