"""examples/flask_receiver.py and examples/fastapi_receiver.py, end to end.

Each example is served on a real port, registered as an endpoint of a real
``pagewire serve``, and fed by its dispatcher: a job's ``job.completed`` is
processed once, and a redelivery of the same event (same ``webhook-id``) is
acknowledged without being processed again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from pagewire import AsyncPagewire, Pagewire
from sdk.live import LiveService

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FINAL_EVENTS = ["job.completed", "job.failed", "job.canceled"]


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_flask(live: LiveService, secret: str, db: Path, port: int) -> Iterator[None]:
    from werkzeug.serving import make_server

    client = Pagewire(api_key=live.api_key, base_url=live.base_url)
    app = load_example("flask_receiver").create_app(client, secret, str(db))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        app.config["stop_worker"].set()
        client.close()


@contextlib.contextmanager
def serve_fastapi(live: LiveService, secret: str, db: Path, port: int) -> Iterator[None]:
    import uvicorn

    client = AsyncPagewire(api_key=live.api_key, base_url=live.base_url)
    app = load_example("fastapi_receiver").create_app(client, secret, str(db))
    server = uvicorn.Server(
        # The plain asyncio loop: uvloop's cannot be closed cleanly from a second thread.
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            loop="asyncio",
            http="h11",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


SERVERS: dict[str, Callable[..., Any]] = {"flask": serve_flask, "fastapi": serve_fastapi}


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, args).fetchall()


def eventually(
    check: Callable[[], Any], what: str, timeout: float = 30, context: Callable[[], str] = str
) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{context()}"
        time.sleep(0.05)
    return value


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_the_receiver_processes_a_job_once_even_when_its_event_is_delivered_again(
    framework: str,
    live: LiveService,
    sample_pdf: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    db = tmp_path / "receiver.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/pagewire"
    with Pagewire(api_key=live.api_key, base_url=live.base_url) as client:
        endpoint = client.webhooks.create_endpoint(url, event_types=FINAL_EVENTS)
        assert endpoint.secret is not None
        try:
            with SERVERS[framework](live, endpoint.secret, db, port):
                job = client.extract(file=sample_pdf, pages="1", metadata={"document_id": "d-42"})

                written = eventually(
                    lambda: rows(
                        db,
                        "SELECT status, markdown, metadata, written_at FROM documents"
                        " WHERE job_id = ?",
                        job.job_id,
                    ),
                    "the receiver to write the document",
                    context=live.log_tail,
                )
                status, markdown, metadata, written_at = written[0]
                assert status == "completed" and "Court of Appeals" in markdown
                assert json.loads(metadata) == {"document_id": "d-42"}

                (message,) = client.webhooks.list_messages(
                    job_id=job.job_id, event_type="job.completed"
                )

                def answered(attempts: int) -> bool:
                    (delivery,) = client.webhooks.get_message(message.id).deliveries
                    # A resend starts a fresh retry schedule; the attempt log keeps every try.
                    return len(delivery.attempts) >= attempts and delivery.status == "succeeded"

                # The receiver may have written before the dispatcher recorded its answer.
                eventually(lambda: answered(1), "the first delivery to be recorded")
                assert client.webhooks.resend_message(message.id, endpoint_id=endpoint.id) == 1

                eventually(lambda: answered(2), "the redelivery to be answered")
                (delivery,) = client.webhooks.get_message(message.id).deliveries
                assert [a.status_code for a in delivery.attempts] == [200, 200]
                # The redelivery took the handled-already path, which queues nothing
                # (logged before its answer, which pagewire has recorded): no second
                # processing is coming.
                handled_again = f"webhook {message.id} for job {job.job_id} already handled"
                assert handled_again in caplog.messages
                tasks = rows(db, "SELECT webhook_id FROM tasks WHERE job_id = ?", job.job_id)
                assert tasks == [(message.id,)]
                again = rows(db, "SELECT written_at FROM documents WHERE job_id = ?", job.job_id)
                assert again == [(written_at,)]

                forged = httpx.post(
                    url,
                    content=json.dumps(message.payload),
                    headers={
                        "webhook-id": message.id,
                        "webhook-timestamp": str(int(time.time())),
                        "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl",
                    },
                )
                assert forged.status_code == 400
        finally:
            client.webhooks.delete_endpoint(endpoint.id)
