"""``pagewire demo``: the whole asynchronous flow on the embedded default, in one command.

Starts the service (SQLite, a temporary data directory) on a free local port,
creates an organization and key, starts a local webhook receiver and registers
it as an endpoint, submits a document with ``async: true`` through the SDK,
shows its progress, prints the verified ``job.completed`` event, then fetches
the result and writes the markdown to ``./pagewire-demo/<job_id>.md``: the
integration a customer writes, run end to end on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from pagewire.cli.jobs import ProgressBar, status_line
from pagewire.client import Endpoint, NotFoundError, Pagewire, WebhookEvent
from pagewire.client._receiver import LocalReceiver

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "ca1-appeal-17p.pdf"
EVENT_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _service_env(data_dir: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PAGEWIRE_DATA_DIR": str(data_dir),
        # The receiver is on loopback and speaks plain http: fine here, refused in production.
        "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
        "PAGEWIRE_ALLOW_HTTP_WEBHOOKS": "true",
        "PAGEWIRE_WEBHOOK_RETRY_SCHEDULE": "0,1,1,2,5",
        "PAGEWIRE_LOG_FORMAT": "json",
        **(extra or {}),
    }
    env.pop("PAGEWIRE_DATABASE_URL", None)
    env.pop("PAGEWIRE_PUBLIC_URL", None)
    return env


@contextlib.contextmanager
def embedded_service(
    data_dir: Path, port: int | None = None, *, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """``pagewire serve`` (API, workers, dispatcher) on SQLite in ``data_dir``; yields its URL."""
    port = port or _free_port()
    if not _bindable(port):
        raise SystemExit(f"error: cannot serve on 127.0.0.1:{port}: the port is in use")
    log = (data_dir / "service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagewire.cli", "serve", "--port", str(port)],
        env=_service_env(data_dir, env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the service exited; see {data_dir / 'service.log'}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the service did not start; see {data_dir / 'service.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def create_key(data_dir: Path, org: str = "demo") -> str:
    """A new API key of organization ``org`` in the database under ``data_dir``.

    Done in this process, before the service starts (it then finds the schema
    current): a second Python process would cost seconds on a busy machine.
    """
    from pagewire.runtime import open_services
    from pagewire.settings import Settings

    settings = Settings(data_dir=data_dir, database_url="")

    async def make() -> str:
        async with open_services(settings, listen=False) as services:
            organization = await services.store.keys.ensure_org(org)
            _, plaintext = await services.store.keys.create_key(organization.id, "pagewire demo")
            return plaintext

    return asyncio.run(make())


def _register(client: Pagewire, receiver: LocalReceiver) -> Endpoint | None:
    """The receiver as an endpoint, or None when the service has no webhook API."""
    try:
        endpoint = client.webhooks.create_endpoint(
            receiver.url, description="pagewire demo receiver", event_types=["job.completed"]
        )
    except NotFoundError:
        return None
    receiver.set_secret(endpoint.secret or client.webhooks.get_endpoint_secret(endpoint.id))
    return endpoint


def _await_event(receiver: LocalReceiver, job_id: str, timeout: float) -> WebhookEvent | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        delivery = receiver.next_delivery(timeout=left)
        if delivery is None:
            break
        if delivery.event is None:
            print(f"   refused a delivery that did not verify: {delivery.error}")
        elif delivery.event.job_id == job_id and delivery.event.type == "job.completed":
            return delivery.event
    return None


def run(
    file: Path | None, out_dir: Path = Path("pagewire-demo"), *, port: int | None = None
) -> int:
    document = file or SAMPLE
    if not document.is_file():
        print(f"no such file: {document}", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="pagewire-demo-") as tmp,
        LocalReceiver() as receiver,
    ):
        data_dir = Path(tmp)
        port = port or _free_port()
        print(f"1. starting pagewire on 127.0.0.1:{port} (SQLite in {data_dir})", flush=True)
        api_key = create_key(data_dir)
        with (
            embedded_service(data_dir, port) as base,
            Pagewire(api_key=api_key, base_url=base) as client,
        ):
            endpoint = _register(client, receiver)
            if endpoint is not None:
                print(f"2. webhook receiver {receiver.url} registered as endpoint {endpoint.id}")
            else:
                print("2. (this service has no webhook API: the demo polls instead)")
            submission = client.extract(file=document, metadata={"source": "pagewire demo"})
            print(f"3. submitted {document.name} with async=true -> job {submission.job_id}")
            print("4. progress", flush=True)
            bar = ProgressBar(sys.stdout)
            try:
                job = client.jobs.wait(submission.job_id, on_progress=bar.update)
            finally:
                bar.close()
            print(f"   {status_line(job)}")
            if job.status != "completed":
                return 1
            if endpoint is not None:
                event = _await_event(receiver, job.job_id, EVENT_TIMEOUT)
                if event is None:
                    print(
                        f"   no verified job.completed webhook arrived within {EVENT_TIMEOUT:g} s"
                    )
                    return 1
                print(f"5. webhook verified: {event.type} (webhook-id {event.id})")
                print("   " + json.dumps(event.raw, indent=2).replace("\n", "\n   "))
            result = client.jobs.get_result(job.job_id)
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{job.job_id}.md"
            target.write_text(result.markdown, encoding="utf-8")
            print(f"6. fetched the result: {result.page_count} pages, markdown written to {target}")
            print("   " + "\n   ".join(result.markdown[:600].splitlines()))
    return 0
