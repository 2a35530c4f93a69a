"""A real ``pagewire dispatch`` process, SIGKILLed in the middle of its deliveries."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

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
    }

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / f"dispatch-{len(started)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pagewire.cli", "dispatch"],
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
