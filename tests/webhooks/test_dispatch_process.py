"""A real ``pagewire dispatch`` process, SIGKILLed in the middle of its deliveries."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from webhooks.support import Received, Receiver, emit

LEASE_SECONDS = 2.5


@pytest.fixture
def dispatch_process(backend: Any, settings: Any, tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "PAGEWIRE_DATABASE_URL": backend.url,
        "PAGEWIRE_DATA_DIR": str(settings.data_dir),
        "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
        "PAGEWIRE_POLL_SECONDS": "0.1",
        "PAGEWIRE_WEBHOOK_TIMEOUT_SECONDS": "2",
        "PAGEWIRE_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "PAGEWIRE_WEBHOOK_RETRY_SCHEDULE": "0,0.05,0.05",
        "PAGEWIRE_LOG_FORMAT": "json",
        "PAGEWIRE_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
    }

    def start(*args: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"dispatch-{len(started)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pagewire.cli", "dispatch", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def test_every_event_arrives_after_the_dispatcher_is_killed_mid_delivery(
    store: Any, tenant: Any, receiver: Receiver, dispatch_process: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    killed = asyncio.Event()

    async def hold_until_the_dispatcher_is_gone(_: Received) -> web.Response:
        if not killed.is_set():
            await killed.wait()  # the answer goes nowhere: its sender is dead
        return web.Response(status=200)

    receiver.behaviour = hold_until_the_dispatcher_is_gone
    event_ids = {(await emit(store, tenant.org_id))[0] for _ in range(5)}

    first = dispatch_process()
    held = await receiver.wait_for(5, timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(5)
    killed.set()
    assert {r.webhook_id for r in held} == event_ids

    dispatch_process()
    # Bounded by the lease (the killed process's claims must run out first) plus a
    # process start, which on a loaded machine takes seconds.
    await receiver.wait_for(10, timeout=LEASE_SECONDS + 30)
    again = receiver.received[5:]
    assert {r.webhook_id for r in again} == event_ids  # at least once, the same ids
    receiver.assert_verified()
    for event_id in event_ids:
        message = await store.webhooks.get_message(tenant.org_id, event_id)
        deadline = time.monotonic() + 5
        while message.deliveries[0].status != "succeeded":
            assert time.monotonic() < deadline, message
            await asyncio.sleep(0.05)
            message = await store.webhooks.get_message(tenant.org_id, event_id)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus samples by (name, labels)."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, await response.text()
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_dispatch_process_serves_its_metrics_when_given_a_port(
    store: Any, tenant: Any, receiver: Receiver, dispatch_process: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    attempts = 0

    async def fail_the_first(_: Received) -> web.Response:
        nonlocal attempts
        attempts += 1
        return web.Response(status=503 if attempts == 1 else 204)

    receiver.behaviour = fail_the_first
    for _ in range(3):
        await emit(store, tenant.org_id)
    port = free_port()
    proc = dispatch_process("--metrics-port", str(port))
    await receiver.wait_for(4, timeout=30)  # one failure, then three deliveries

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None
        try:
            samples = await scrape(f"{url}/metrics")
        except aiohttp.ClientConnectionError:
            samples = {}
        succeeded = samples.get(("pagewire_webhook_attempts_total", (("outcome", "succeeded"),)))
        if succeeded == 3 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert succeeded == 3
    assert samples[("pagewire_webhook_attempts_total", (("outcome", "retry"),))] == 1
    assert samples[("pagewire_webhook_attempt_seconds_count", ())] == 4
    assert samples[("pagewire_webhook_in_flight", ())] == 0
    assert ("pagewire_webhook_due_deliveries", ()) in samples
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    receiver.assert_verified()


def test_a_metrics_port_already_taken_stops_the_process_with_a_clear_message(
    store: Any, dispatch_process: Any, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = dispatch_process("--metrics-port", str(port))
        assert proc.wait(30) == 1
    log = (tmp_path / "dispatch-0.log").read_text()
    assert f"cannot serve metrics on 127.0.0.1:{port}" in log
    assert "Traceback" not in log
